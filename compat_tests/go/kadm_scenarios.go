package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ConfigValue is one described topic config.
type ConfigValue struct {
	Value  *string `json:"value"`
	Source string  `json:"source"`
}

var watchedConfigs = []string{"retention.ms", "cleanup.policy", "max.message.bytes", "segment.bytes"}

func describeTopicConfigs(ctx context.Context, adm *kadm.Client, topic string) (map[string]ConfigValue, error) {
	rcs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		return nil, err
	}
	rc, err := rcs.On(topic, nil)
	if err != nil {
		return nil, err
	}
	if rc.Err != nil {
		return nil, rc.Err
	}
	out := map[string]ConfigValue{}
	for _, c := range rc.Configs {
		for _, w := range watchedConfigs {
			if c.Key == w {
				out[w] = ConfigValue{Value: c.Value, Source: c.Source.String()}
			}
		}
	}
	return out, nil
}

// TopicView is what Metadata says about one topic.
type TopicView struct {
	Listed     bool      `json:"listed"`
	HasID      bool      `json:"has_id"`
	Partitions []int32   `json:"partitions"`
	Leaders    []int32   `json:"leaders"`
	Replicas   [][]int32 `json:"replicas"`
}

// viewTopic describes one topic by name (Metadata for that topic only: kgo
// answers an all-topics listing from its metadata cache, and drops topics it
// evicted after an admin request from it until the cache refreshes).
func viewTopic(ctx context.Context, adm *kadm.Client, topic string) (TopicView, error) {
	tds, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return TopicView{}, err
	}
	td, ok := tds[topic]
	if !ok || errors.Is(td.Err, kerr.UnknownTopicOrPartition) {
		return TopicView{}, nil
	}
	if td.Err != nil {
		return TopicView{}, td.Err
	}
	v := TopicView{Listed: true, HasID: td.ID != kadm.TopicID{}}
	for _, pd := range td.Partitions.Sorted() {
		v.Partitions = append(v.Partitions, pd.Partition)
		v.Leaders = append(v.Leaders, pd.Leader)
		v.Replicas = append(v.Replicas, pd.Replicas)
	}
	return v, nil
}

// inAllTopics says whether listing every topic names this one.
func inAllTopics(ctx context.Context, adm *kadm.Client, topic string) (bool, error) {
	tds, err := adm.ListTopics(ctx)
	if err != nil {
		return false, err
	}
	_, ok := tds[topic]
	return ok, nil
}

// runKadmTopics walks a topic through its admin life: create with configs,
// list, describe and alter configs, add partitions, list offsets (start, end,
// by timestamp, max timestamp), delete records, describe the cluster, delete.
func runKadmTopics(ctx context.Context, bootstrap string, args []string) (any, error) {
	if err := needArgs(args, 1); err != nil {
		return nil, err
	}
	topic := args[0]
	// kadm answers Metadata from kgo's cache for up to MetadataMinAge (5 s by default): a
	// short age lets the deletion be seen without waiting that out.
	cl, err := newClient(bootstrap, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.DefaultProduceTopic(topic),
		kgo.MetadataMinAge(100*time.Millisecond))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	out := map[string]any{}

	hour, policy := "3600000", "delete"
	created, err := adm.CreateTopic(ctx, 3, 1, map[string]*string{"retention.ms": &hour, "cleanup.policy": &policy}, topic)
	if err == nil {
		err = created.Err
	}
	if err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	createdRetention := ""
	if c, ok := created.Configs["retention.ms"]; ok && c.Value != nil {
		createdRetention = *c.Value
	}
	out["created"] = map[string]any{"partitions": created.NumPartitions, "replication_factor": created.ReplicationFactor,
		"has_id": created.ID != kadm.TopicID{}, "retention_ms": createdRetention}
	again, err := adm.CreateTopic(ctx, 3, 1, nil, topic)
	if err == nil {
		err = again.Err
	}
	out["create_again_error"] = errString(err)

	if out["described"], err = viewTopic(ctx, adm, topic); err != nil {
		return nil, err
	}
	if out["in_all_topics"], err = inAllTopics(ctx, adm, topic); err != nil {
		return nil, err
	}
	if out["configs"], err = describeTopicConfigs(ctx, adm, topic); err != nil {
		return nil, fmt.Errorf("describe configs: %w", err)
	}
	twoHours, maxBytes := "7200000", "200000"
	alters, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "retention.ms", Value: &twoHours},
		{Op: kadm.SetConfig, Name: "max.message.bytes", Value: &maxBytes},
		{Op: kadm.DeleteConfig, Name: "cleanup.policy"},
	}, topic)
	if err != nil {
		return nil, fmt.Errorf("alter configs: %w", err)
	}
	for _, a := range alters {
		if a.Err != nil {
			return nil, fmt.Errorf("alter configs %s: %w", a.Name, a.Err)
		}
	}
	if out["altered_configs"], err = describeTopicConfigs(ctx, adm, topic); err != nil {
		return nil, err
	}

	cps, err := adm.CreatePartitions(ctx, 2, topic)
	if err == nil {
		err = cps.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("create partitions: %w", err)
	}
	if out["after_create_partitions"], err = viewTopic(ctx, adm, topic); err != nil {
		return nil, err
	}

	// Ten records per partition, a second apart in CreateTime, from t0.
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	var rs []*kgo.Record
	for p := int32(0); p < 5; p++ {
		for i := 0; i < 10; i++ {
			rs = append(rs, &kgo.Record{Partition: p, Key: []byte(fmt.Sprintf("k%d", i)),
				Value: []byte(fmt.Sprintf("p%d-%d", p, i)), Timestamp: t0.Add(time.Duration(i) * time.Second)})
		}
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		return nil, fmt.Errorf("produce: %w", err)
	}
	lists := map[string]func() (kadm.ListedOffsets, error){
		"start": func() (kadm.ListedOffsets, error) { return adm.ListStartOffsets(ctx, topic) },
		"end":   func() (kadm.ListedOffsets, error) { return adm.ListEndOffsets(ctx, topic) },
		"after_3500ms": func() (kadm.ListedOffsets, error) {
			return adm.ListOffsetsAfterMilli(ctx, t0.Add(3500*time.Millisecond).UnixMilli(), topic)
		},
		"past_last": func() (kadm.ListedOffsets, error) {
			return adm.ListOffsetsAfterMilli(ctx, t0.Add(2*time.Hour).UnixMilli(), topic)
		},
		"max_timestamp": func() (kadm.ListedOffsets, error) { return adm.ListMaxTimestampOffsets(ctx, topic) },
		"committed":     func() (kadm.ListedOffsets, error) { return adm.ListCommittedOffsets(ctx, topic) },
	}
	offsets := map[string]map[string]int64{}
	for name, list := range lists {
		l, err := list()
		if err != nil {
			return nil, fmt.Errorf("list offsets %s: %w", name, err)
		}
		if offsets[name], err = listedJSON(l); err != nil {
			return nil, fmt.Errorf("list offsets %s: %w", name, err)
		}
	}
	out["offsets"] = offsets

	dels, err := adm.DeleteRecords(ctx, kadm.Offsets{topic: {0: {Topic: topic, Partition: 0, At: 3}, 1: {Topic: topic, Partition: 1, At: -1}}})
	if err != nil {
		return nil, fmt.Errorf("delete records: %w", err)
	}
	lows := map[string]int64{}
	for _, ps := range dels {
		for p, d := range ps {
			if d.Err != nil {
				return nil, fmt.Errorf("delete records %d: %w", p, d.Err)
			}
			lows[fmt.Sprint(p)] = d.LowWatermark
		}
	}
	out["delete_records_low_watermarks"] = lows
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return nil, err
	}
	if out["start_after_delete"], err = listedJSON(starts); err != nil {
		return nil, err
	}
	reader, err := newClient(bootstrap, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		topic: {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		return nil, err
	}
	first, err := consumeN(ctx, reader, 1)
	reader.Close()
	if err != nil {
		return nil, err
	}
	out["first_after_delete"] = first[0]

	meta, err := adm.BrokerMetadata(ctx)
	if err != nil {
		return nil, err
	}
	out["metadata_cluster"] = map[string]any{"cluster_id": meta.Cluster, "controller": meta.Controller, "brokers": meta.Brokers}
	dc := kmsg.NewPtrDescribeClusterRequest()
	dcResp, err := dc.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("describe cluster: %w", err)
	}
	var dcBrokers []map[string]any
	for _, b := range dcResp.Brokers {
		dcBrokers = append(dcBrokers, map[string]any{"node_id": b.NodeID, "host": b.Host, "port": b.Port})
	}
	out["describe_cluster"] = map[string]any{"error_code": dcResp.ErrorCode, "cluster_id": dcResp.ClusterID,
		"controller": dcResp.ControllerID, "brokers": dcBrokers, "version": dcResp.Version}

	deleted, err := adm.DeleteTopic(ctx, topic)
	if err == nil {
		err = deleted.Err
	}
	if err != nil {
		return nil, fmt.Errorf("delete topic: %w", err)
	}
	if err := waitUntil(ctx, "the deleted topic to leave metadata", func() bool {
		v, err := viewTopic(ctx, adm, topic)
		return err == nil && !v.Listed
	}); err != nil {
		return nil, err
	}
	_, err = describeTopicConfigs(ctx, adm, topic)
	out["describe_deleted_error"] = errString(err)
	return out, nil
}

// GroupView is a described (or listed) group, reduced to what tests check.
type GroupView struct {
	State        string           `json:"state"`
	ProtocolType string           `json:"protocol_type"`
	Protocol     string           `json:"protocol"`
	Members      []map[string]any `json:"members"`
	Err          string           `json:"error"`
}

func describeGroup(ctx context.Context, adm *kadm.Client, group string) (GroupView, error) {
	dgs, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return GroupView{}, err
	}
	dg := dgs[group]
	v := GroupView{State: dg.State, ProtocolType: dg.ProtocolType, Protocol: dg.Protocol, Err: errString(dg.Err),
		Members: []map[string]any{}}
	for _, m := range dg.Members {
		assigned := map[string][]int32{}
		if ca, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range ca.Topics {
				ps := append([]int32(nil), t.Partitions...)
				sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
				assigned[t.Topic] = ps
			}
		}
		var subscribed []string
		if cj, ok := m.Join.AsConsumer(); ok {
			subscribed = cj.Topics
		}
		v.Members = append(v.Members, map[string]any{"client_id": m.ClientID, "has_member_id": m.MemberID != "",
			"assigned": assigned, "subscribed": subscribed})
	}
	return v, nil
}

func listGroup(ctx context.Context, adm *kadm.Client, group string, states ...string) (*kadm.ListedGroup, error) {
	lgs, err := adm.ListGroups(ctx, states...)
	if err != nil {
		return nil, err
	}
	if lg, ok := lgs[group]; ok {
		return &lg, nil
	}
	return nil, nil
}

func lagView(ctx context.Context, adm *kadm.Client, group string) (map[string]any, error) {
	lags, err := adm.Lag(ctx, group)
	if err != nil {
		return nil, err
	}
	l := lags[group]
	if err := l.Error(); err != nil {
		return nil, err
	}
	per := map[string]int64{}
	for _, ml := range l.Lag.Sorted() {
		if ml.Err != nil {
			return nil, fmt.Errorf("lag %s/%d: %w", ml.Topic, ml.Partition, ml.Err)
		}
		per[fmt.Sprintf("%s/%d", ml.Topic, ml.Partition)] = ml.Lag
	}
	return map[string]any{"state": l.State, "total": l.Lag.Total(), "partitions": per}, nil
}

// runKadmGroups exercises group administration around a live kgo member that
// consumed 20 records from two partitions and committed 7 and 4: list and
// describe groups, fetch offsets and lag while it is Stable, an admin commit
// while it has members (rejected), then, once it left: list by state, commit,
// lag, delete offsets for one partition and delete the group.
func runKadmGroups(ctx context.Context, bootstrap string, args []string) (any, error) {
	if err := needArgs(args, 2); err != nil {
		return nil, err
	}
	topic, group := args[0], args[1]
	cl, err := newClient(bootstrap, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.DefaultProduceTopic(topic))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if err := createTopics(ctx, adm, 2, topic); err != nil {
		return nil, err
	}
	var rs []*kgo.Record
	for p := int32(0); p < 2; p++ {
		for i := 0; i < 10; i++ {
			rs = append(rs, &kgo.Record{Partition: p, Value: []byte(fmt.Sprintf("p%d-%d", p, i))})
		}
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		return nil, err
	}

	memberCl, err := newClient(bootstrap, kgo.ClientID("kafkalite-go-member"), kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	if err != nil {
		return nil, err
	}
	defer memberCl.Close()
	if _, err := consumeN(ctx, memberCl, 20); err != nil {
		return nil, err
	}
	var commitErr error
	memberCl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{topic: {0: {Epoch: -1, Offset: 7}, 1: {Epoch: -1, Offset: 4}}},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			commitErr = err
			if err == nil {
				for _, t := range resp.Topics {
					for _, p := range t.Partitions {
						if p.ErrorCode != 0 && commitErr == nil {
							commitErr = fmt.Errorf("commit partition %d: error code %d", p.Partition, p.ErrorCode)
						}
					}
				}
			}
		})
	if commitErr != nil {
		return nil, commitErr
	}

	out := map[string]any{}
	stable := map[string]any{}
	if stable["listed"], err = listGroup(ctx, adm, group); err != nil {
		return nil, err
	}
	if stable["described"], err = describeGroup(ctx, adm, group); err != nil {
		return nil, err
	}
	os, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return nil, err
	}
	if stable["offsets"], err = offsetsJSON(os); err != nil {
		return nil, err
	}
	if stable["lag"], err = lagView(ctx, adm, group); err != nil {
		return nil, err
	}
	adminCommit, err := adm.CommitOffsets(ctx, group, kadm.Offsets{topic: {0: {Topic: topic, Partition: 0, At: 9, LeaderEpoch: -1}}})
	if err == nil {
		if r, ok := adminCommit.Lookup(topic, 0); ok {
			err = r.Err
		}
	}
	stable["admin_commit_error"] = errString(err)
	out["stable"] = stable

	memberCl.Close()
	empty := map[string]any{}
	if err := waitUntil(ctx, "the group to be Empty", func() bool {
		v, err := describeGroup(ctx, adm, group)
		return err == nil && v.State == "Empty"
	}); err != nil {
		return nil, err
	}
	if empty["described"], err = describeGroup(ctx, adm, group); err != nil {
		return nil, err
	}
	if empty["listed_empty"], err = listGroup(ctx, adm, group, "Empty"); err != nil {
		return nil, err
	}
	if empty["listed_stable"], err = listGroup(ctx, adm, group, "Stable"); err != nil {
		return nil, err
	}
	if err := adm.CommitAllOffsets(ctx, group, kadm.Offsets{topic: {
		0: {Topic: topic, Partition: 0, At: 10, LeaderEpoch: -1, Metadata: "by kadm"},
		1: {Topic: topic, Partition: 1, At: 8, LeaderEpoch: -1},
	}}); err != nil {
		return nil, fmt.Errorf("admin commit on the empty group: %w", err)
	}
	if os, err = adm.FetchOffsets(ctx, group); err != nil {
		return nil, err
	}
	if empty["offsets"], err = offsetsJSON(os); err != nil {
		return nil, err
	}
	if r, ok := os.Lookup(topic, 0); ok {
		empty["metadata_0"] = r.Metadata
	}
	if empty["lag"], err = lagView(ctx, adm, group); err != nil {
		return nil, err
	}
	dels, err := adm.DeleteOffsets(ctx, group, kadm.TopicsSet{topic: {1: {}}})
	if err != nil {
		return nil, fmt.Errorf("delete offsets: %w", err)
	}
	if err := dels.Error(); err != nil {
		return nil, fmt.Errorf("delete offsets: %w", err)
	}
	if os, err = adm.FetchOffsets(ctx, group); err != nil {
		return nil, err
	}
	if empty["offsets_after_delete"], err = offsetsJSON(os); err != nil {
		return nil, err
	}
	out["empty"] = empty

	deleted, err := adm.DeleteGroup(ctx, group)
	if err == nil {
		err = deleted.Err
	}
	if err != nil {
		return nil, fmt.Errorf("delete group: %w", err)
	}
	if out["listed_after_delete"], err = listGroup(ctx, adm, group); err != nil {
		return nil, err
	}
	if out["described_after_delete"], err = describeGroup(ctx, adm, group); err != nil {
		return nil, err
	}
	return out, nil
}
