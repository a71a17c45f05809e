package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// waitUntil polls cond until it holds or ctx ends; what names the condition
// in the error.
func waitUntil(ctx context.Context, what string, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out waiting for %s", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

func createTopics(ctx context.Context, adm *kadm.Client, partitions int32, topics ...string) error {
	resps, err := adm.CreateTopics(ctx, partitions, 1, nil, topics...)
	if err != nil {
		return err
	}
	return resps.Error()
}

// scenarioTopic creates the topic a scenario names as its first argument, with its own short-lived
// admin client, and returns the topic's name.
func scenarioTopic(ctx context.Context, bootstrap string, args []string, partitions int32) (string, error) {
	if err := needArgs(args, 1); err != nil {
		return "", err
	}
	admCl, err := newClient(bootstrap)
	if err != nil {
		return "", err
	}
	defer admCl.Close()
	return args[0], createTopics(ctx, kadm.NewClient(admCl), partitions, args[0])
}

// ProducedRecord is what a produce call reports for one record.
type ProducedRecord struct {
	Codec         string `json:"codec"`
	Key           string `json:"key"`
	Partition     int32  `json:"partition"`
	Offset        int64  `json:"offset"`
	ProducerID    int64  `json:"producer_id"`
	ProducerEpoch int16  `json:"producer_epoch"`
}

// runKgoProduceCodecs produces 12 records with each compression codec (one
// idempotent client per codec, so one producer id each) into a 3-partition
// topic, then reads everything back from the start with a fresh client.
func runKgoProduceCodecs(ctx context.Context, bootstrap string, args []string) (any, error) {
	topic, err := scenarioTopic(ctx, bootstrap, args, 3)
	if err != nil {
		return nil, err
	}

	codecs := []struct {
		name  string
		codec kgo.CompressionCodec
	}{
		{"none", kgo.NoCompression()},
		{"gzip", kgo.GzipCompression()},
		{"snappy", kgo.SnappyCompression()},
		{"lz4", kgo.Lz4Compression()},
		{"zstd", kgo.ZstdCompression()},
	}
	var produced []ProducedRecord
	for _, c := range codecs {
		cl, err := newClient(bootstrap, kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(c.codec),
			kgo.ProducerLinger(20*time.Millisecond))
		if err != nil {
			return nil, err
		}
		var rs []*kgo.Record
		for i := 0; i < 12; i++ {
			key := fmt.Sprintf("%s-%d", c.name, i)
			// Repetitive values so every codec really shrinks the batch.
			value := strings.Repeat(key+" kafkalite ", 20)
			rs = append(rs, &kgo.Record{Key: []byte(key), Value: []byte(value),
				Headers: []kgo.RecordHeader{{Key: "codec", Value: []byte(c.name)}}})
		}
		results := cl.ProduceSync(ctx, rs...)
		cl.Close()
		if err := results.FirstErr(); err != nil {
			return nil, fmt.Errorf("producing with %s: %w", c.name, err)
		}
		for _, r := range results {
			produced = append(produced, ProducedRecord{Codec: c.name, Key: string(r.Record.Key),
				Partition: r.Record.Partition, Offset: r.Record.Offset,
				ProducerID: r.Record.ProducerID, ProducerEpoch: r.Record.ProducerEpoch})
		}
	}

	cl, err := newClient(bootstrap, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	got, err := consumeN(ctx, cl, len(produced))
	if err != nil {
		return nil, err
	}
	return map[string]any{"produced": produced, "consumed": got}, nil
}

// member is one consumer in a group, polling in its own goroutine and
// committing what each poll returned before it lets a rebalance proceed.
type member struct {
	name     string
	topic    string
	cl       *kgo.Client
	cancel   context.CancelFunc
	done     chan struct{}
	mu       sync.Mutex
	owned    map[int32]bool
	consumed []ConsumedRecord
	events   []string
	err      error
}

func startMember(ctx context.Context, bootstrap, topic, group, name string) (*member, error) {
	m := &member{name: name, topic: topic, owned: map[int32]bool{}, done: make(chan struct{})}
	note := func(kind string, ps map[string][]int32, owned bool) {
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, p := range ps[topic] {
			if owned {
				m.owned[p] = true
			} else {
				delete(m.owned, p)
			}
		}
		m.events = append(m.events, fmt.Sprintf("%s %v", kind, sortedPartitions(ps, topic)))
	}
	cl, err := newClient(bootstrap,
		kgo.ClientID("kafkalite-go-"+name),
		kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { note("assigned", ps, true) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { note("revoked", ps, false) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { note("lost", ps, false) }),
	)
	if err != nil {
		return nil, err
	}
	m.cl = cl
	pctx, cancel := context.WithCancel(ctx)
	m.cancel = cancel
	go func() {
		defer close(m.done)
		for {
			fs := cl.PollFetches(pctx)
			if pctx.Err() != nil {
				cl.AllowRebalance()
				return
			}
			err := fetchErr(fs)
			if recs := fs.Records(); err == nil && len(recs) > 0 {
				err = cl.CommitRecords(pctx, recs...)
				m.mu.Lock()
				for _, r := range recs {
					m.consumed = append(m.consumed, consumed(r))
				}
				m.mu.Unlock()
			}
			cl.AllowRebalance()
			if err != nil {
				m.mu.Lock()
				m.err = fmt.Errorf("%s: %w", name, err)
				m.mu.Unlock()
				return
			}
		}
	}()
	return m, nil
}

func (m *member) ownedSorted() []int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	ps := make([]int32, 0, len(m.owned))
	for p := range m.owned {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	return ps
}

func (m *member) snapshot() (consumed []ConsumedRecord, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]ConsumedRecord(nil), m.consumed...), m.err
}

// stop ends the poll loop and closes the client, which leaves the group.
func (m *member) stop() {
	m.cancel()
	<-m.done
	m.cl.Close()
}

// runKgoGroupTakeover: member a joins a 4-partition topic alone, member b
// joins and the two split the partitions (cooperative-sticky, franz-go's
// default), both consume and commit a first round of records, b leaves and a
// takes over b's partitions, resuming from b's commits on a second round.
func runKgoGroupTakeover(ctx context.Context, bootstrap string, args []string) (any, error) {
	if err := needArgs(args, 2); err != nil {
		return nil, err
	}
	topic, group := args[0], args[1]
	admCl, err := newClient(bootstrap, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.DefaultProduceTopic(topic))
	if err != nil {
		return nil, err
	}
	defer admCl.Close()
	adm := kadm.NewClient(admCl)
	if err := createTopics(ctx, adm, 4, topic); err != nil {
		return nil, err
	}
	produce := func(prefix string, perPartition int) error {
		var rs []*kgo.Record
		for p := int32(0); p < 4; p++ {
			for i := 0; i < perPartition; i++ {
				rs = append(rs, &kgo.Record{Partition: p, Value: []byte(fmt.Sprintf("%s%d-%d", prefix, p, i))})
			}
		}
		return admCl.ProduceSync(ctx, rs...).FirstErr()
	}
	failed := func(ms ...*member) error {
		for _, m := range ms {
			if _, err := m.snapshot(); err != nil {
				return err
			}
		}
		return nil
	}
	total := func(ms ...*member) int {
		n := 0
		for _, m := range ms {
			c, _ := m.snapshot()
			n += len(c)
		}
		return n
	}

	a, err := startMember(ctx, bootstrap, topic, group, "a")
	if err != nil {
		return nil, err
	}
	if err := waitUntil(ctx, "a to own all 4 partitions", func() bool { return len(a.ownedSorted()) == 4 }); err != nil {
		return nil, err
	}
	alone := a.ownedSorted()

	b, err := startMember(ctx, bootstrap, topic, group, "b")
	if err != nil {
		return nil, err
	}
	if err := waitUntil(ctx, "a and b to split the partitions", func() bool {
		return len(a.ownedSorted()) == 2 && len(b.ownedSorted()) == 2
	}); err != nil {
		return nil, fmt.Errorf("%w (a owns %v, b owns %v)", err, a.ownedSorted(), b.ownedSorted())
	}
	split := map[string][]int32{"a": a.ownedSorted(), "b": b.ownedSorted()}

	if err := produce("p", 10); err != nil {
		return nil, err
	}
	if err := waitUntil(ctx, "40 records consumed by a and b", func() bool {
		return total(a, b) >= 40 || failed(a, b) != nil
	}); err != nil {
		return nil, err
	}
	if err := failed(a, b); err != nil {
		return nil, err
	}
	round1A, _ := a.snapshot()
	round1B, _ := b.snapshot()

	b.stop()
	if err := waitUntil(ctx, "a to take over b's partitions", func() bool { return len(a.ownedSorted()) == 4 }); err != nil {
		return nil, err
	}
	takeover := a.ownedSorted()
	if err := produce("q", 5); err != nil {
		return nil, err
	}
	if err := waitUntil(ctx, "a to consume 20 more records", func() bool {
		return total(a) >= len(round1A)+20 || failed(a) != nil
	}); err != nil {
		return nil, err
	}
	all, err := a.snapshot()
	if err != nil {
		return nil, err
	}
	a.stop()

	os, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return nil, err
	}
	committed, err := offsetsJSON(os)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	b.mu.Lock()
	events := map[string][]string{"a": a.events, "b": b.events}
	a.mu.Unlock()
	b.mu.Unlock()
	return map[string]any{
		"alone":     alone,
		"split":     split,
		"round1":    map[string][]ConsumedRecord{"a": round1A, "b": round1B},
		"takeover":  takeover,
		"round2":    all[len(round1A):],
		"committed": committed,
		"events":    events,
	}, nil
}

// runKgoGroupConsume joins a group, consumes exactly count records (from the
// committed offsets, or the start), commits them and leaves.
func runKgoGroupConsume(ctx context.Context, bootstrap string, args []string) (any, error) {
	if err := needArgs(args, 3); err != nil {
		return nil, err
	}
	n, err := atoi(args[2], "count")
	if err != nil {
		return nil, err
	}
	cl, err := newClient(bootstrap, kgo.ConsumerGroup(args[1]), kgo.ConsumeTopics(args[0]),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(),
	)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var values []string
	for len(values) < n {
		fs := cl.PollRecords(ctx, n-len(values))
		if ctx.Err() != nil {
			return nil, fmt.Errorf("consumed %d of %d records (%v) before the deadline", len(values), n, values)
		}
		if err := fetchErr(fs); err != nil {
			return nil, err
		}
		fs.EachRecord(func(r *kgo.Record) { values = append(values, string(r.Value)) })
	}
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		return nil, err
	}
	sort.Strings(values)
	return map[string]any{"values": values}, nil
}

// TxnRound is one consume-transform-produce transaction of the session.
type TxnRound struct {
	Records   int    `json:"records"`
	Tried     string `json:"tried"`
	Committed bool   `json:"committed"`
}

// runKgoTransact runs a GroupTransactSession that copies 20 input records to
// the output topic as "out-<value>", exactly once: its first transaction is
// deliberately aborted after its records reached the broker (the session then
// rewinds to the committed offsets), later ones commit. A second producer
// writes 5 "aborted-N" records in a transaction it aborts. Finally, plain
// end markers go to each output partition and the output is read to them with
// read_committed and read_uncommitted consumers.
func runKgoTransact(ctx context.Context, bootstrap string, args []string) (any, error) {
	if err := needArgs(args, 3); err != nil {
		return nil, err
	}
	input, output, group := args[0], args[1], args[2]
	const n = 20
	admCl, err := newClient(bootstrap, kgo.DefaultProduceTopic(input))
	if err != nil {
		return nil, err
	}
	defer admCl.Close()
	adm := kadm.NewClient(admCl)
	if err := createTopics(ctx, adm, 2, input, output); err != nil {
		return nil, err
	}
	var rs []*kgo.Record
	for i := 0; i < n; i++ {
		v := fmt.Sprintf("in-%d", i)
		rs = append(rs, &kgo.Record{Key: []byte(v), Value: []byte(v)})
	}
	if err := admCl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		return nil, err
	}

	sess, err := kgo.NewGroupTransactSession(
		kgo.SeedBrokers(bootstrap), kgo.ClientID("kafkalite-go-etl"),
		kgo.FetchMaxWait(500*time.Millisecond), kgo.HeartbeatInterval(300*time.Millisecond),
		kgo.SessionTimeout(6*time.Second), kgo.RebalanceTimeout(10*time.Second),
		kgo.TransactionalID("kafkalite-go-etl-"+group), kgo.TransactionTimeout(20*time.Second),
		kgo.ConsumerGroup(group), kgo.ConsumeTopics(input),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.RequireStableFetchOffsets(),
		kgo.DefaultProduceTopic(output),
	)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	var rounds []TxnRound
	committedCount := map[string]int{}
	committedTotal := 0
	for committedTotal < n {
		if len(rounds) > 20 {
			return nil, fmt.Errorf("no progress after %d transactions: %+v", len(rounds), rounds)
		}
		fs := sess.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("committed %d of %d before the deadline; rounds %+v", committedTotal, n, rounds)
		}
		if err := fetchErr(fs); err != nil {
			return nil, err
		}
		recs := fs.Records()
		if len(recs) == 0 {
			continue
		}
		if err := sess.Begin(); err != nil {
			return nil, fmt.Errorf("begin: %w", err)
		}
		var produceErr error
		var mu sync.Mutex
		for _, r := range recs {
			out := &kgo.Record{Key: r.Key, Value: []byte("out-" + string(r.Value))}
			sess.Produce(ctx, out, func(_ *kgo.Record, err error) {
				mu.Lock()
				defer mu.Unlock()
				if err != nil && produceErr == nil {
					produceErr = err
				}
			})
		}
		try, tried := kgo.TryCommit, "commit"
		if len(rounds) == 0 {
			// Make sure the aborted records are really in the log first.
			if err := sess.Client().Flush(ctx); err != nil {
				return nil, err
			}
			try, tried = kgo.TryAbort, "abort"
		}
		ok, err := sess.End(ctx, try)
		if err != nil {
			return nil, fmt.Errorf("end (%s): %w", tried, err)
		}
		if produceErr != nil && ok {
			return nil, fmt.Errorf("committed a transaction whose produce failed: %w", produceErr)
		}
		rounds = append(rounds, TxnRound{Records: len(recs), Tried: tried, Committed: ok})
		if ok {
			for _, r := range recs {
				committedCount[string(r.Value)]++
				committedTotal++
			}
		}
	}

	aborter, err := newClient(bootstrap, kgo.TransactionalID("kafkalite-go-aborter-"+group),
		kgo.DefaultProduceTopic(output))
	if err != nil {
		return nil, err
	}
	defer aborter.Close()
	if err := aborter.BeginTransaction(); err != nil {
		return nil, err
	}
	var aborted []*kgo.Record
	for i := 0; i < 5; i++ {
		v := fmt.Sprintf("aborted-%d", i)
		aborted = append(aborted, &kgo.Record{Key: []byte(v), Value: []byte(v)})
	}
	if err := aborter.ProduceSync(ctx, aborted...).FirstErr(); err != nil {
		return nil, err
	}
	if err := aborter.EndTransaction(ctx, kgo.TryAbort); err != nil {
		return nil, fmt.Errorf("aborting: %w", err)
	}

	if err := produceEndMarkers(ctx, bootstrap, output, 2); err != nil {
		return nil, err
	}
	readCommitted, err := consumeUntilMarkers(ctx, bootstrap, output, 2, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		return nil, fmt.Errorf("read_committed: %w", err)
	}
	readUncommitted, err := consumeUntilMarkers(ctx, bootstrap, output, 2)
	if err != nil {
		return nil, fmt.Errorf("read_uncommitted: %w", err)
	}
	values := func(cs []ConsumedRecord) []string {
		out := make([]string, len(cs))
		for i, c := range cs {
			out[i] = c.Value
		}
		sort.Strings(out)
		return out
	}
	os, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return nil, err
	}
	committed, err := offsetsJSON(os)
	if err != nil {
		return nil, err
	}
	ends, err := adm.ListEndOffsets(ctx, input)
	if err != nil {
		return nil, err
	}
	inputEnds, err := listedJSON(ends)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"rounds":           rounds,
		"committed_counts": committedCount,
		"read_committed":   values(readCommitted),
		"read_uncommitted": values(readUncommitted),
		"committed":        committed,
		"input_ends":       inputEnds,
	}, nil
}

// runKgoFence shows zombie fencing: producer "old" commits a transaction,
// producer "new" starts with the same transactional id (bumping the epoch),
// then "old" tries another transaction, which must fail, while "new" commits.
// A read_committed consumer then reads the topic up to end markers.
func runKgoFence(ctx context.Context, bootstrap string, args []string) (any, error) {
	topic, err := scenarioTopic(ctx, bootstrap, args, 1)
	if err != nil {
		return nil, err
	}
	txnID := "kafkalite-go-fence-" + topic
	produceIn := func(cl *kgo.Client, value string) error {
		if err := cl.BeginTransaction(); err != nil {
			return err
		}
		return cl.ProduceSync(ctx, &kgo.Record{Value: []byte(value)}).FirstErr()
	}
	oldCl, err := newClient(bootstrap, kgo.TransactionalID(txnID), kgo.DefaultProduceTopic(topic))
	if err != nil {
		return nil, err
	}
	defer oldCl.Close()
	if err := produceIn(oldCl, "old-1"); err != nil {
		return nil, fmt.Errorf("old's first transaction: %w", err)
	}
	if err := oldCl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return nil, fmt.Errorf("old's first commit: %w", err)
	}
	newCl, err := newClient(bootstrap, kgo.TransactionalID(txnID), kgo.DefaultProduceTopic(topic))
	if err != nil {
		return nil, err
	}
	defer newCl.Close()
	if err := produceIn(newCl, "new-1"); err != nil {
		return nil, fmt.Errorf("new's transaction: %w", err)
	}
	zombieProduce := produceIn(oldCl, "old-2")
	zombieEnd := oldCl.EndTransaction(ctx, kgo.TryAbort)
	if err := newCl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return nil, fmt.Errorf("new's commit: %w", err)
	}
	if err := produceEndMarkers(ctx, bootstrap, topic, 1); err != nil {
		return nil, err
	}
	committed, err := consumeUntilMarkers(ctx, bootstrap, topic, 1, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		return nil, err
	}
	values := []string{}
	for _, c := range committed {
		values = append(values, c.Value)
	}
	return map[string]any{"zombie_produce_error": errString(zombieProduce), "zombie_abort_error": errString(zombieEnd),
		"read_committed": values}, nil
}
