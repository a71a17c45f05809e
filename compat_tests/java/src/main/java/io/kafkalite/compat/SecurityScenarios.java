package io.kafkalite.compat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * The security matrix of compat_tests/test_security_clients.py, every case in one JVM.
 *
 * <p>{@code security-matrix - <cases.tsv>}: one case a line, tab-separated: id, protocol, mechanism,
 * user, password, token, keystore (client key + chain, PEM), CA file, bootstrap, topic, count, expect
 * ({@code -} for an empty field). A case expecting {@code ok} produces {@code count} values
 * {@code java/<id>/<i>} and reads them back; {@code authz} produces one record (a principal without
 * ACLs); any other case asks for the cluster's nodes with an Admin client and reports the exception. The result maps each id to {@code values} or {@code error}
 * (exception class) and {@code message}.
 */
final class SecurityScenarios {
    private SecurityScenarios() {
    }

    static void register(Map<String, Main.Scenario> all) {
        all.put("security-matrix", (bootstrap, args) -> matrix(Path.of(args[0])));
    }

    static Map<String, Object> matrix(Path file) throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        for (String line : Files.readAllLines(file)) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split("\t", -1);
            for (int i = 0; i < f.length; i++) {
                f[i] = f[i].equals("-") ? null : f[i];
            }
            String id = f[0];
            Properties conf = conf(f[1], f[2], f[3], f[4], "ok".equals(f[11]) ? null : f[5], f[6], f[7], f[8]);
            try {
                if ("ok".equals(f[11])) {
                    out.put(id, roundTrip(conf, id, f[9], Integer.parseInt(f[10])));
                } else if ("authz".equals(f[11])) {
                    out.put(id, produceOne(conf, id, f[9]));
                } else {
                    out.put(id, attempt(conf));
                }
            } catch (Exception e) {
                out.put(id, failure(e));
            }
        }
        return out;
    }

    /** The client settings a user would write for this case (Kafka's documented forms). */
    static Properties conf(String protocol, String mechanism, String user, String password, String token,
                           String keystore, String ca, String bootstrap) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("security.protocol", protocol);
        if (protocol.endsWith("SSL")) {
            p.put("ssl.truststore.type", "PEM");
            p.put("ssl.truststore.location", ca);
        }
        if (keystore != null) {
            p.put("ssl.keystore.type", "PEM");
            p.put("ssl.keystore.location", keystore);
        }
        if (mechanism == null) {
            return p;
        }
        p.put("sasl.mechanism", mechanism);
        switch (mechanism) {
            case "PLAIN" -> p.put("sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule "
                    + "required username=\"" + user + "\" password=\"" + password + "\";");
            case "OAUTHBEARER" -> {
                if (token == null) {  // Kafka's development default: the client makes an unsecured JWS
                    p.put("sasl.jaas.config", "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule "
                            + "required unsecuredLoginStringClaim_sub=\"" + user + "\";");
                    return p;
                }
                // The token the test made (an expired unsecured JWS), handed over as it is.
                p.put("sasl.jaas.config", "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule "
                        + "required token=\"" + token + "\" principal=\"" + user + "\";");
                p.put("sasl.login.callback.handler.class", FixedTokenHandler.class.getName());
            }
            default -> p.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule "
                    + "required username=\"" + user + "\" password=\"" + password + "\";");
        }
        return p;
    }

    static Map<String, Object> roundTrip(Properties conf, String id, String topic, int count) throws Exception {
        List<String> sent = new ArrayList<>();
        Object[] kv = flatten(conf);
        try (KafkaProducer<String, String> producer = Main.producer(String.valueOf(conf.get("bootstrap.servers")), kv)) {
            for (int i = 0; i < count; i++) {
                String value = "java/" + id + "/" + i;
                producer.send(new ProducerRecord<>(topic, 0, null, value)).get(30, TimeUnit.SECONDS);
                sent.add(value);
            }
        }
        try (KafkaConsumer<String, String> consumer = Main.consumer(String.valueOf(conf.get("bootstrap.servers")), kv)) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            return Main.map("values", Main.values(Main.pollAtLeast(consumer, count, Duration.ofSeconds(30))));
        }
    }

    /** One record to a topic the principal has no ACL for: the producer's error is the result. */
    static Map<String, Object> produceOne(Properties conf, String id, String topic) throws Exception {
        Object[] kv = flatten(conf);
        try (KafkaProducer<String, String> producer = Main.producer(String.valueOf(conf.get("bootstrap.servers")),
                append(kv, "max.block.ms", "15000"))) {
            producer.send(new ProducerRecord<>(topic, 0, null, "java/" + id)).get(30, TimeUnit.SECONDS);
            return Main.map("sent", true);
        }
    }

    private static Object[] append(Object[] kv, Object... more) {
        Object[] out = java.util.Arrays.copyOf(kv, kv.length + more.length);
        System.arraycopy(more, 0, out, kv.length, more.length);
        return out;
    }

    static Map<String, Object> attempt(Properties conf) throws Exception {
        conf.put("default.api.timeout.ms", "10000");
        conf.put("request.timeout.ms", "8000");
        try (Admin admin = Admin.create(conf)) {
            return Main.map("nodes", admin.describeCluster().nodes().get(15, TimeUnit.SECONDS).size());
        }
    }

    static Map<String, Object> failure(Exception e) {
        Throwable t = e;
        while (t instanceof java.util.concurrent.ExecutionException && t.getCause() != null) {
            t = t.getCause();
        }
        return Main.map("error", t.getClass().getSimpleName(), "message", String.valueOf(t.getMessage()));
    }

    private static Object[] flatten(Properties conf) {
        List<Object> kv = new ArrayList<>();
        for (String name : conf.stringPropertyNames()) {
            if (!name.equals("bootstrap.servers")) {
                kv.add(name);
                kv.add(conf.getProperty(name));
            }
        }
        return kv.toArray();
    }
}
