package main

// Long-running franz-go workers for the cluster resilience tests
// (compat_tests/test_cluster_clients.py): each prints JSON lines as it goes
// and finishes cleanly when its stdin closes, its result then being main's
// one JSON object (with "done": true). The line protocol is the one of
// compat_tests/resilience_worker.py, so the pytest side drives every client
// through the same faults and judges them by the same rules.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	resilientAckStep     = 20 // a progress line every this many acks
	resilientMaxInFlight = 40 // at most this many records unacknowledged
)

var emitMu sync.Mutex

func emit(event map[string]any) {
	out, _ := json.Marshal(event)
	emitMu.Lock()
	defer emitMu.Unlock()
	fmt.Println(string(out))
}

// stdinClosed is cancelled when the driver closes our stdin: the signal to finish.
func stdinClosed(parent context.Context) context.Context {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		r := bufio.NewReader(os.Stdin)
		for {
			if _, err := r.ReadString('\n'); err != nil {
				cancel()
				return
			}
		}
	}()
	return ctx
}

func init() {
	scenarios["kgo-resilient-produce"] = scenario{"<topic> <partitions>", runResilientProduce}
	scenarios["kgo-resilient-group"] = scenario{"<topic> <group>", runResilientGroup}
	scenarios["kgo-resilient-txn"] = scenario{"<topic> <transactional id>", runResilientTxn}
	scenarios["kgo-resilient-consume"] = scenario{"<topic> <earliest|none>", runResilientConsume}
}

// runResilientProduce: an idempotent acks=all producer, record i (value "i")
// to partition i % partitions, until stdin closes.
func runResilientProduce(ctx context.Context, bootstrap string, args []string) (any, error) {
	if err := needArgs(args, 2); err != nil {
		return nil, err
	}
	topic := args[0]
	partitions, err := atoi(args[1], "partitions")
	if err != nil {
		return nil, err
	}
	cl, err := newClient(bootstrap, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(5*time.Millisecond), kgo.RecordDeliveryTimeout(60*time.Second),
		kgo.ProducerBatchCompression(kgo.NoCompression()), // read back by kafka-python (no snappy codec)
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	stop := stdinClosed(ctx)
	var acked atomic.Int64
	var mu sync.Mutex
	errs := []string{}
	window := make(chan struct{}, resilientMaxInFlight)
	sent := 0
	for stop.Err() == nil {
		window <- struct{}{}
		r := &kgo.Record{Value: []byte(strconv.Itoa(sent)), Partition: int32(sent % partitions)}
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			<-window
			if err != nil {
				mu.Lock()
				errs = append(errs, err.Error())
				mu.Unlock()
				emit(map[string]any{"error": err.Error()})
				return
			}
			if n := acked.Add(1); n%resilientAckStep == 0 {
				emit(map[string]any{"acked": n})
			}
		})
		sent++
		time.Sleep(2 * time.Millisecond)
	}
	if err := cl.Flush(ctx); err != nil {
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	return map[string]any{"done": true, "sent": sent, "acked": acked.Load(), "errors": errs}, nil
}

// runResilientGroup: a group member committing after each poll, reporting its
// whole assignment whenever it changes.
func runResilientGroup(ctx context.Context, bootstrap string, args []string) (any, error) {
	if err := needArgs(args, 2); err != nil {
		return nil, err
	}
	topic, group := args[0], args[1]
	var mu sync.Mutex
	owned := map[int32]bool{}
	report := func() {
		parts := []int{}
		for p := range owned {
			parts = append(parts, int(p))
		}
		sort.Ints(parts)
		emit(map[string]any{"assigned": parts})
	}
	change := func(add bool) func(context.Context, *kgo.Client, map[string][]int32) {
		return func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			mu.Lock()
			defer mu.Unlock()
			for _, p := range m[topic] {
				if add {
					owned[p] = true
				} else {
					delete(owned, p)
				}
			}
			report()
		}
	}
	cl, err := newClient(bootstrap, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(),
		kgo.SessionTimeout(3*time.Second), kgo.HeartbeatInterval(500*time.Millisecond),
		kgo.OnPartitionsAssigned(change(true)), kgo.OnPartitionsRevoked(change(false)),
		kgo.OnPartitionsLost(change(false)))
	if err != nil {
		return nil, err
	}
	stop := stdinClosed(ctx)
	errs := []string{}
	for stop.Err() == nil {
		pollCtx, cancel := context.WithTimeout(stop, 200*time.Millisecond)
		fs := cl.PollFetches(pollCtx)
		cancel()
		if err := fetchErr(fs); err != nil {
			errs = append(errs, err.Error())
			emit(map[string]any{"error": err.Error()})
		}
		records := [][]any{}
		fs.EachRecord(func(r *kgo.Record) {
			records = append(records, []any{r.Partition, r.Offset, string(r.Value)})
		})
		if len(records) == 0 {
			continue
		}
		emit(map[string]any{"records": records})
		if err := cl.CommitUncommittedOffsets(ctx); err != nil {
			emit(map[string]any{"commit_error": err.Error()})
		}
	}
	cl.LeaveGroup()
	cl.Close()
	return map[string]any{"done": true, "errors": errs}, nil
}

// runResilientTxn: transactions of 5 records ("k-j" to partition j % 2),
// every 4th aborted, until stdin closes.
func runResilientTxn(ctx context.Context, bootstrap string, args []string) (any, error) {
	if err := needArgs(args, 2); err != nil {
		return nil, err
	}
	topic, txnID := args[0], args[1]
	cl, err := newClient(bootstrap, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.TransactionalID(txnID), kgo.TransactionTimeout(60*time.Second), kgo.RecordDeliveryTimeout(60*time.Second),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	stop := stdinClosed(ctx)
	errs := []string{}
	k := 0
	for stop.Err() == nil {
		outcome := "commit"
		if k%4 == 3 {
			outcome = "abort"
		}
		if err := cl.BeginTransaction(); err != nil {
			return nil, fmt.Errorf("begin %d: %w", k, err)
		}
		var rs []*kgo.Record
		for j := 0; j < 5; j++ {
			rs = append(rs, &kgo.Record{Value: []byte(fmt.Sprintf("%d-%d", k, j)), Partition: int32(j % 2)})
		}
		produceErr := cl.ProduceSync(ctx, rs...).FirstErr()
		end := kgo.TryCommit
		if outcome == "abort" || produceErr != nil {
			end, outcome = kgo.TryAbort, "abort"
		}
		if produceErr != nil {
			errs = append(errs, produceErr.Error())
			emit(map[string]any{"error": produceErr.Error(), "txn": k})
		}
		if err := cl.EndTransaction(ctx, end); err != nil {
			errs = append(errs, err.Error())
			emit(map[string]any{"error": err.Error(), "txn": k})
			return map[string]any{"done": true, "errors": errs, "transactions": k}, nil
		}
		emit(map[string]any{"txn": k, "outcome": outcome})
		k++
	}
	return map[string]any{"done": true, "errors": errs, "transactions": k}, nil
}

// runResilientConsume: partition 0 from offset 0; data loss (KIP-320
// truncation) is reported as "data_loss", other errors as "error".
func runResilientConsume(ctx context.Context, bootstrap string, args []string) (any, error) {
	if err := needArgs(args, 2); err != nil {
		return nil, err
	}
	topic := args[0]
	reset := kgo.NewOffset().AtStart()
	if args[1] == "none" {
		reset = kgo.NoResetOffset()
	}
	cl, err := newClient(bootstrap, kgo.ConsumeResetOffset(reset),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(0)}}))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	stop := stdinClosed(ctx)
	errs := []string{}
	position := int64(0)
	for stop.Err() == nil {
		pollCtx, cancel := context.WithTimeout(stop, 200*time.Millisecond)
		fs := cl.PollFetches(pollCtx)
		cancel()
		for _, fe := range fs.Errors() {
			var loss *kgo.ErrDataLoss
			switch {
			case errors.As(fe.Err, &loss):
				emit(map[string]any{"data_loss": map[string]any{"consumed_to": loss.ConsumedTo, "reset_to": loss.ResetTo}})
			case errors.Is(fe.Err, context.Canceled) || errors.Is(fe.Err, context.DeadlineExceeded):
			default:
				errs = append(errs, fe.Err.Error())
				emit(map[string]any{"error": fe.Err.Error()})
			}
		}
		records := [][]any{}
		fs.EachRecord(func(r *kgo.Record) {
			records = append(records, []any{r.Partition, r.Offset, string(r.Value)})
			position = r.Offset + 1
		})
		if len(records) > 0 {
			emit(map[string]any{"records": records})
		}
	}
	return map[string]any{"done": true, "errors": errs, "position": position}, nil
}
