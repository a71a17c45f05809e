package io.kafkalite.compat;

import java.util.List;
import java.util.Map;
import java.util.Set;

import javax.security.auth.callback.Callback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.AppConfigurationEntry;

import org.apache.kafka.common.security.auth.AuthenticateCallbackHandler;
import org.apache.kafka.common.security.auth.SaslExtensionsCallback;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerToken;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerTokenCallback;

/**
 * A login callback handler that presents the token given in the JAAS options ({@code token},
 * {@code principal}) as it is, so a test can hand the client an already expired unsecured JWS: the
 * client is told the token lives an hour, and only the broker's validation can refuse it.
 */
public final class FixedTokenHandler implements AuthenticateCallbackHandler {
    private String token;
    private String principal;

    @Override
    public void configure(Map<String, ?> configs, String mechanism, List<AppConfigurationEntry> entries) {
        Map<String, ?> options = entries.get(0).getOptions();
        token = String.valueOf(options.get("token"));
        principal = String.valueOf(options.get("principal"));
    }

    @Override
    public void handle(Callback[] callbacks) throws UnsupportedCallbackException {
        long now = System.currentTimeMillis();
        for (Callback callback : callbacks) {
            if (callback instanceof OAuthBearerTokenCallback cb) {
                cb.token(new OAuthBearerToken() {
                    @Override
                    public String value() {
                        return token;
                    }

                    @Override
                    public Set<String> scope() {
                        return Set.of();
                    }

                    @Override
                    public long lifetimeMs() {
                        return now + 3_600_000L;
                    }

                    @Override
                    public String principalName() {
                        return principal;
                    }

                    @Override
                    public Long startTimeMs() {
                        return now;
                    }
                });
            } else if (!(callback instanceof SaslExtensionsCallback)) {
                throw new UnsupportedCallbackException(callback);
            }
        }
    }

    @Override
    public void close() {
    }
}
