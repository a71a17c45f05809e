package main

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// saramaConfig speaks the Kafka 4.0 protocol versions, as a current sarama
// application would be configured against a Kafka 4 cluster.
func saramaConfig() *sarama.Config {
	c := sarama.NewConfig()
	c.Version = sarama.V4_0_0_0
	c.ClientID = "kafkalite-sarama"
	c.Metadata.Retry.Backoff = 100 * time.Millisecond
	return c
}

var saramaCodecs = map[string]sarama.CompressionCodec{
	"none": sarama.CompressionNone, "gzip": sarama.CompressionGZIP, "snappy": sarama.CompressionSnappy,
	"lz4": sarama.CompressionLZ4, "zstd": sarama.CompressionZSTD,
}

// runSaramaProduce creates a topic with sarama's ClusterAdmin and sends count
// keyed messages through an idempotent SyncProducer with acks=all, batches
// compressed with codec.
func runSaramaProduce(ctx context.Context, bootstrap string, args []string) (any, error) {
	if err := needArgs(args, 4); err != nil {
		return nil, err
	}
	codec, ok := saramaCodecs[args[3]]
	if !ok {
		return nil, fmt.Errorf("unknown codec %q", args[3])
	}
	topic := args[0]
	partitions, err := atoi(args[1], "partitions")
	if err != nil {
		return nil, err
	}
	n, err := atoi(args[2], "count")
	if err != nil {
		return nil, err
	}
	cfg := saramaConfig()
	admin, err := sarama.NewClusterAdmin([]string{bootstrap}, cfg)
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	defer admin.Close()
	if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: int32(partitions), ReplicationFactor: 1}, false); err != nil {
		return nil, fmt.Errorf("create topic: %w", err)
	}

	pcfg := saramaConfig()
	pcfg.Producer.RequiredAcks = sarama.WaitForAll
	pcfg.Producer.Return.Successes = true
	pcfg.Producer.Idempotent = true
	pcfg.Net.MaxOpenRequests = 1
	pcfg.Producer.Retry.Max = 5
	pcfg.Producer.Retry.Backoff = 100 * time.Millisecond
	pcfg.Producer.Compression = codec
	producer, err := sarama.NewSyncProducer([]string{bootstrap}, pcfg)
	if err != nil {
		return nil, fmt.Errorf("producer: %w", err)
	}
	type sent struct {
		Key       string `json:"key"`
		Partition int32  `json:"partition"`
		Offset    int64  `json:"offset"`
	}
	var out []sent
	// Half one by one (SendMessage), half in one call (SendMessages).
	var batch []*sarama.ProducerMessage
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("s%d", i)
		msg := &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(key), Value: sarama.StringEncoder("value-" + key),
			Headers: []sarama.RecordHeader{{Key: []byte("from"), Value: []byte("sarama")}}}
		if i < n/2 {
			p, o, err := producer.SendMessage(msg)
			if err != nil {
				producer.Close()
				return nil, fmt.Errorf("send %s: %w", key, err)
			}
			out = append(out, sent{key, p, o})
		} else {
			batch = append(batch, msg)
		}
	}
	if err := producer.SendMessages(batch); err != nil {
		producer.Close()
		return nil, fmt.Errorf("send batch: %w", err)
	}
	for _, m := range batch {
		k, _ := m.Key.Encode()
		out = append(out, sent{string(k), m.Partition, m.Offset})
	}
	if err := producer.Close(); err != nil {
		return nil, err
	}
	return map[string]any{"sent": out}, nil
}

type saramaHandler struct {
	want   int
	cancel context.CancelFunc
	mu     sync.Mutex
	got    []ConsumedRecord
	claims map[string][]int32
	member string
	gen    int32
	err    error
}

func (h *saramaHandler) Setup(s sarama.ConsumerGroupSession) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.claims, h.member, h.gen = s.Claims(), s.MemberID(), s.GenerationID()
	return nil
}

func (h *saramaHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *saramaHandler) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for {
		select {
		case msg, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			// Compression stays 0: sarama does not say how a batch was compressed.
			c := ConsumedRecord{Topic: msg.Topic, Partition: msg.Partition, Offset: msg.Offset, Key: string(msg.Key),
				Value: string(msg.Value), Timestamp: msg.Timestamp.UnixMilli(), Headers: map[string]string{}}
			for _, hd := range msg.Headers {
				c.Headers[string(hd.Key)] = string(hd.Value)
			}
			s.MarkMessage(msg, "")
			h.mu.Lock()
			h.got = append(h.got, c)
			done := len(h.got) >= h.want
			h.mu.Unlock()
			if done {
				// Manual commit (auto-commit is off): flush the marks now.
				s.Commit()
				h.cancel()
			}
		case <-s.Context().Done():
			return nil
		}
	}
}

// runSaramaGroup consumes count messages with a sarama ConsumerGroup (range
// assignor, manual commits), then reports them, the session's claims and the
// committed offsets as sarama's ClusterAdmin reads them back.
func runSaramaGroup(ctx context.Context, bootstrap string, args []string) (any, error) {
	if err := needArgs(args, 3); err != nil {
		return nil, err
	}
	topic, group := args[0], args[1]
	n, err := atoi(args[2], "count")
	if err != nil {
		return nil, err
	}
	cfg := saramaConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Enable = false
	cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRange()}
	cfg.Consumer.Group.Heartbeat.Interval = 300 * time.Millisecond
	cfg.Consumer.Group.Session.Timeout = 6 * time.Second
	cfg.Consumer.MaxWaitTime = 500 * time.Millisecond
	cfg.Consumer.Return.Errors = true
	cg, err := sarama.NewConsumerGroup([]string{bootstrap}, group, cfg)
	if err != nil {
		return nil, fmt.Errorf("consumer group: %w", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	h := &saramaHandler{want: n, cancel: cancel}
	var groupErrs []string
	go func() {
		for err := range cg.Errors() {
			h.mu.Lock()
			groupErrs = append(groupErrs, err.Error())
			h.mu.Unlock()
		}
	}()
	for cctx.Err() == nil {
		if err := cg.Consume(cctx, []string{topic}, h); err != nil {
			cg.Close()
			return nil, fmt.Errorf("consume: %w", err)
		}
	}
	if err := cg.Close(); err != nil {
		return nil, fmt.Errorf("close: %w", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.got) < n {
		return nil, fmt.Errorf("consumed %d of %d before the deadline (errors %v)", len(h.got), n, groupErrs)
	}

	client, err := sarama.NewClient([]string{bootstrap}, saramaConfig())
	if err != nil {
		return nil, err
	}
	defer client.Close()
	partitions, err := client.Partitions(topic)
	if err != nil {
		return nil, err
	}
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return nil, err
	}
	resp, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: partitions})
	if err != nil {
		return nil, fmt.Errorf("list group offsets: %w", err)
	}
	committed := map[string]int64{}
	for t, ps := range resp.Blocks {
		for p, b := range ps {
			if b.Err != sarama.ErrNoError {
				return nil, fmt.Errorf("offset %s/%d: %w", t, p, b.Err)
			}
			committed[fmt.Sprintf("%s/%d", t, p)] = b.Offset
		}
	}
	descs, err := admin.DescribeConsumerGroups([]string{group})
	if err != nil {
		return nil, fmt.Errorf("describe group: %w", err)
	}
	state := ""
	if len(descs) == 1 {
		state = descs[0].State
	}
	sort.Slice(h.got, func(i, j int) bool { return h.got[i].Key < h.got[j].Key })
	return map[string]any{
		"consumed": h.got, "claims": h.claims, "has_member_id": h.member != "", "generation": h.gen,
		"committed": committed, "state_after_close": state, "errors": groupErrs,
	}, nil
}
