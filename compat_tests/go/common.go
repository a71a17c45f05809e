package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// newClient is a kgo client tuned for tests: short fetch waits and group
// heartbeats so rebalances and long polls finish in well under a second.
func newClient(bootstrap string, opts ...kgo.Opt) (*kgo.Client, error) {
	base := []kgo.Opt{
		kgo.SeedBrokers(strings.Split(bootstrap, ",")...), // a cluster: every node listed
		kgo.ClientID("kafkalite-go"),
		kgo.FetchMaxWait(500 * time.Millisecond),
		kgo.HeartbeatInterval(300 * time.Millisecond),
		kgo.SessionTimeout(6 * time.Second),
		kgo.RebalanceTimeout(10 * time.Second),
		kgo.RetryTimeout(20 * time.Second),
	}
	return kgo.NewClient(append(base, opts...)...)
}

func atoi(s, what string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a number", what, s)
	}
	return n, nil
}

func needArgs(args []string, n int) error {
	if len(args) != n {
		return fmt.Errorf("want %d arguments, got %d: %q", n, len(args), args)
	}
	return nil
}

// errString is nil-safe: JSON gets "" for success.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// fetchErr returns the first real error in a poll, ignoring the context
// ending (which is how a poll loop is told to stop).
func fetchErr(fs kgo.Fetches) error {
	for _, fe := range fs.Errors() {
		if errors.Is(fe.Err, context.Canceled) || errors.Is(fe.Err, context.DeadlineExceeded) || errors.Is(fe.Err, kgo.ErrClientClosed) {
			continue
		}
		return fmt.Errorf("fetch %s/%d: %w", fe.Topic, fe.Partition, fe.Err)
	}
	return nil
}

// ConsumedRecord is what scenarios report about each record read back.
type ConsumedRecord struct {
	Topic       string            `json:"topic"`
	Partition   int32             `json:"partition"`
	Offset      int64             `json:"offset"`
	Key         string            `json:"key"`
	Value       string            `json:"value"`
	Headers     map[string]string `json:"headers,omitempty"`
	Compression uint8             `json:"compression"`
	ProducerID  int64             `json:"producer_id"`
	Timestamp   int64             `json:"timestamp"`
}

func consumed(r *kgo.Record) ConsumedRecord {
	c := ConsumedRecord{
		Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: string(r.Key), Value: string(r.Value),
		Compression: r.Attrs.CompressionType(), ProducerID: r.ProducerID, Timestamp: r.Timestamp.UnixMilli(),
	}
	if len(r.Headers) > 0 {
		c.Headers = map[string]string{}
		for _, h := range r.Headers {
			c.Headers[h.Key] = string(h.Value)
		}
	}
	return c
}

// consumeN polls cl until it has n records (or ctx ends).
func consumeN(ctx context.Context, cl *kgo.Client, n int) ([]ConsumedRecord, error) {
	var out []ConsumedRecord
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return out, fmt.Errorf("consumed %d of %d records before the deadline", len(out), n)
		}
		if err := fetchErr(fs); err != nil {
			return out, err
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, consumed(r)) })
	}
	return out, nil
}

// consumeUntilMarkers reads every partition of topic from the start until a
// record whose value starts with "end-marker" has been seen on each of them:
// the way to know a read_committed consumer has passed everything before.
func consumeUntilMarkers(ctx context.Context, bootstrap, topic string, partitions int, opts ...kgo.Opt) ([]ConsumedRecord, error) {
	cl, err := newClient(bootstrap, append([]kgo.Opt{
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	}, opts...)...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	seen := map[int32]bool{}
	var out []ConsumedRecord
	for len(seen) < partitions {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return out, fmt.Errorf("saw end markers on %d of %d partitions before the deadline", len(seen), partitions)
		}
		if err := fetchErr(fs); err != nil {
			return out, err
		}
		fs.EachRecord(func(r *kgo.Record) {
			if strings.HasPrefix(string(r.Value), "end-marker") {
				seen[r.Partition] = true
				return
			}
			out = append(out, consumed(r))
		})
	}
	return out, nil
}

// produceEndMarkers writes one plain record to each partition of topic.
func produceEndMarkers(ctx context.Context, bootstrap, topic string, partitions int) error {
	cl, err := newClient(bootstrap, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return err
	}
	defer cl.Close()
	var rs []*kgo.Record
	for p := 0; p < partitions; p++ {
		rs = append(rs, &kgo.Record{Topic: topic, Partition: int32(p), Value: []byte("end-marker")})
	}
	return cl.ProduceSync(ctx, rs...).FirstErr()
}

// offsetsJSON flattens committed offsets as {"topic/partition": offset}.
func offsetsJSON(os kadm.OffsetResponses) (map[string]int64, error) {
	out := map[string]int64{}
	for t, ps := range os {
		for p, o := range ps {
			if o.Err != nil {
				return nil, fmt.Errorf("offset %s/%d: %w", t, p, o.Err)
			}
			out[fmt.Sprintf("%s/%d", t, p)] = o.At
		}
	}
	return out, nil
}

func listedJSON(l kadm.ListedOffsets) (map[string]int64, error) {
	out := map[string]int64{}
	var firstErr error
	l.Each(func(o kadm.ListedOffset) {
		if o.Err != nil && firstErr == nil {
			firstErr = fmt.Errorf("list offsets %s/%d: %w", o.Topic, o.Partition, o.Err)
		}
		out[fmt.Sprintf("%s/%d", o.Topic, o.Partition)] = o.Offset
	})
	return out, firstErr
}

func sortedPartitions(m map[string][]int32, topic string) []int32 {
	ps := append([]int32(nil), m[topic]...)
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	return ps
}

// runCreateTopic creates a topic with kadm (replication factor 1).
func runCreateTopic(ctx context.Context, bootstrap string, args []string) (any, error) {
	if err := needArgs(args, 2); err != nil {
		return nil, err
	}
	partitions, err := atoi(args[1], "partitions")
	if err != nil {
		return nil, err
	}
	cl, err := newClient(bootstrap)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, int32(partitions), 1, nil, args[0])
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"topic": resp.Topic, "partitions": resp.NumPartitions}, nil
}

// runProduceValues produces <prefix>0..<prefix>N-1 (keys = values) with the
// default idempotent producer and sticky partitioning by key.
func runProduceValues(ctx context.Context, bootstrap string, args []string) (any, error) {
	if err := needArgs(args, 3); err != nil {
		return nil, err
	}
	n, err := atoi(args[2], "count")
	if err != nil {
		return nil, err
	}
	cl, err := newClient(bootstrap, kgo.DefaultProduceTopic(args[0]))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	rs := make([]*kgo.Record, n)
	for i := range rs {
		v := fmt.Sprintf("%s%d", args[1], i)
		rs[i] = &kgo.Record{Key: []byte(v), Value: []byte(v)}
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		return nil, err
	}
	return map[string]any{"produced": n}, nil
}

// runGroupOffsets reports a group's committed offsets through kadm.
func runGroupOffsets(ctx context.Context, bootstrap string, args []string) (any, error) {
	if err := needArgs(args, 1); err != nil {
		return nil, err
	}
	cl, err := newClient(bootstrap)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	os, err := kadm.NewClient(cl).FetchOffsets(ctx, args[0])
	if err != nil {
		return nil, err
	}
	committed, err := offsetsJSON(os)
	if err != nil {
		return nil, err
	}
	return map[string]any{"committed": committed}, nil
}

// runKgoRead reads count records of topic from the start with a plain kgo
// consumer (no group) and reports them, batch codec included.
func runKgoRead(ctx context.Context, bootstrap string, args []string) (any, error) {
	if err := needArgs(args, 2); err != nil {
		return nil, err
	}
	n, err := atoi(args[1], "count")
	if err != nil {
		return nil, err
	}
	cl, err := newClient(bootstrap, kgo.ConsumeTopics(args[0]), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	got, err := consumeN(ctx, cl, n)
	if err != nil {
		return nil, err
	}
	return map[string]any{"records": got}, nil
}
