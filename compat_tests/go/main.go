// Command kafkalite-go drives real Go Kafka clients (franz-go's kgo and kadm,
// IBM's sarama) against a broker, for compat_tests/test_go_clients.py.
//
// Usage: kafkalite-go <scenario> <bootstrap> [args...]
//
// Each scenario prints one JSON object on stdout with what it observed, or
// exits non-zero with a message on stderr. Scenarios assert little on their
// own: the pytest side decides what is right, so the same scenario can be
// run against kafkalite and against Apache Kafka and compared.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"
)

type scenario struct {
	args string
	run  func(ctx context.Context, bootstrap string, args []string) (any, error)
}

var scenarios = map[string]scenario{
	"create-topic":       {"<topic> <partitions>", runCreateTopic},
	"produce-values":     {"<topic> <prefix> <count>", runProduceValues},
	"group-offsets":      {"<group>", runGroupOffsets},
	"kgo-read":           {"<topic> <count>", runKgoRead},
	"kgo-produce-codecs": {"<topic>", runKgoProduceCodecs},
	"kgo-group-takeover": {"<topic> <group>", runKgoGroupTakeover},
	"kgo-group-consume":  {"<topic> <group> <count>", runKgoGroupConsume},
	"kgo-transact":       {"<input> <output> <group>", runKgoTransact},
	"kgo-fence":          {"<topic>", runKgoFence},
	"kadm-topics":        {"<topic>", runKadmTopics},
	"kadm-groups":        {"<topic> <group>", runKadmGroups},
	"sarama-produce":     {"<topic> <partitions> <count> <codec>", runSaramaProduce},
	"sarama-group":       {"<topic> <group> <count>", runSaramaGroup},
	"security-matrix":    {"<cases.json>", runSecurityMatrix},
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: kafkalite-go <scenario> <bootstrap> [args...]")
	names := make([]string, 0, len(scenarios))
	for name := range scenarios {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(os.Stderr, "  %s <bootstrap> %s\n", name, scenarios[name].args)
	}
	os.Exit(2)
}

func main() {
	if len(os.Args) < 3 {
		usage()
	}
	sc, ok := scenarios[os.Args[1]]
	if !ok {
		usage()
	}
	// Every scenario finishes well inside this; a hang becomes a clear error
	// instead of a pytest timeout.
	timeout := 60 * time.Second
	if v := os.Getenv("KAFKALITE_GO_TIMEOUT"); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			timeout = d
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	result, err := sc.run(ctx, os.Args[2], os.Args[3:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[1], err)
		cancel()
		os.Exit(1)
	}
	out, err := json.Marshal(result)
	if err != nil {
		fmt.Fprintf(os.Stderr, "encoding result: %v\n", err)
		cancel()
		os.Exit(1)
	}
	fmt.Println(string(out))
}
