package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// securityCase is one case of compat_tests/test_security_clients.py (security_clients.Case.wire).
type securityCase struct {
	ID        string  `json:"id"`
	Protocol  string  `json:"protocol"`
	Mechanism *string `json:"mechanism"`
	User      string  `json:"user"`
	Password  *string `json:"password"`
	Token     *string `json:"token"`
	Cert      *string `json:"cert"`
	Key       *string `json:"key"`
	CA        string  `json:"ca"`
	Bootstrap string  `json:"bootstrap"`
	Topic     string  `json:"topic"`
	Count     int     `json:"count"`
	Expect    string  `json:"expect"`
}

// runSecurityMatrix runs every case of the JSON file in args[0] with franz-go:
// a round trip (count values "go/<id>/<i>" produced to partition 0 and read
// back) for "ok" cases, one record for "authz" cases (a principal without
// ACLs), otherwise one request whose error is reported (the
// message, and the Kafka error code name when the broker sent one).
func runSecurityMatrix(ctx context.Context, _ string, args []string) (any, error) {
	if err := needArgs(args, 1); err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(args[0])
	if err != nil {
		return nil, err
	}
	var cases []securityCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		return nil, err
	}
	out := map[string]any{}
	for _, c := range cases {
		opts, err := securityOpts(c)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.ID, err)
		}
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		if c.Expect == "ok" {
			values, err := securityRoundTrip(cctx, c, opts)
			if err != nil {
				out[c.ID] = map[string]any{"error": err.Error()}
			} else {
				out[c.ID] = map[string]any{"values": values}
			}
		} else if c.Expect == "authz" {
			out[c.ID] = securityProduceOne(cctx, c, opts)
		} else {
			out[c.ID] = securityAttempt(cctx, c, opts)
		}
		cancel()
	}
	return out, nil
}

func securityOpts(c securityCase) ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(c.Bootstrap), kgo.ClientID("kafkalite-go"), kgo.RetryTimeout(10 * time.Second),
		kgo.FetchMaxWait(500 * time.Millisecond)}
	if c.Protocol == "SSL" || c.Protocol == "SASL_SSL" {
		pem, err := os.ReadFile(c.CA)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		if c.Cert != nil {
			pair, err := tls.LoadX509KeyPair(*c.Cert, *c.Key)
			if err != nil {
				return nil, err
			}
			cfg.Certificates = []tls.Certificate{pair}
		}
		opts = append(opts, kgo.Dialer((&tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: cfg}).DialContext))
	}
	if c.Mechanism == nil {
		return opts, nil
	}
	var m sasl.Mechanism
	switch *c.Mechanism {
	case "PLAIN":
		m = plain.Auth{User: c.User, Pass: *c.Password}.AsMechanism()
	case "SCRAM-SHA-256":
		m = scram.Auth{User: c.User, Pass: *c.Password}.AsSha256Mechanism()
	case "SCRAM-SHA-512":
		m = scram.Auth{User: c.User, Pass: *c.Password}.AsSha512Mechanism()
	case "OAUTHBEARER":
		m = oauth.Auth{Token: *c.Token}.AsMechanism()
	default:
		return nil, fmt.Errorf("unknown mechanism %q", *c.Mechanism)
	}
	return append(opts, kgo.SASL(m)), nil
}

func securityRoundTrip(ctx context.Context, c securityCase, opts []kgo.Opt) ([]string, error) {
	producer, err := kgo.NewClient(append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))...)
	if err != nil {
		return nil, err
	}
	defer producer.Close()
	for i := 0; i < c.Count; i++ {
		r := &kgo.Record{Topic: c.Topic, Partition: 0, Value: []byte(fmt.Sprintf("go/%s/%d", c.ID, i))}
		if err := producer.ProduceSync(ctx, r).FirstErr(); err != nil {
			return nil, err
		}
	}
	consumer, err := kgo.NewClient(append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		c.Topic: {0: kgo.NewOffset().AtStart()}}))...)
	if err != nil {
		return nil, err
	}
	defer consumer.Close()
	records, err := consumeN(ctx, consumer, c.Count)
	values := []string{}
	for _, r := range records {
		values = append(values, r.Value)
	}
	return values, err
}

// securityProduceOne sends one record as a principal without ACLs.
func securityProduceOne(ctx context.Context, c securityCase, opts []kgo.Opt) map[string]any {
	cl, err := kgo.NewClient(append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))...)
	if err == nil {
		defer cl.Close()
		err = cl.ProduceSync(ctx, &kgo.Record{Topic: c.Topic, Partition: 0, Value: []byte("go/" + c.ID)}).FirstErr()
	}
	return errorResult(err)
}

func securityAttempt(ctx context.Context, c securityCase, opts []kgo.Opt) map[string]any {
	cl, err := kgo.NewClient(opts...)
	if err == nil {
		defer cl.Close()
		err = cl.Ping(ctx)
	}
	return errorResult(err)
}

func errorResult(err error) map[string]any {
	if err == nil {
		return map[string]any{"connected": true}
	}
	code := ""
	var ke *kerr.Error
	if errors.As(err, &ke) {
		code = ke.Message
	}
	return map[string]any{"error": err.Error(), "code": code}
}
