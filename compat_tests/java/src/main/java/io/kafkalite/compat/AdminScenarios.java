package io.kafkalite.compat;

import static io.kafkalite.compat.Main.map;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.FeatureMetadata;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.LogDirDescription;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.ReplicaInfo;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicCollection;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.config.ConfigResource;

/** AdminClient scenarios: topics, configs, partitions, records, groups, cluster, producers, transactions. */
final class AdminScenarios {
    private AdminScenarios() {
    }

    static void register(Map<String, Main.Scenario> all) {
        all.put("admin-topics", AdminScenarios::topics);
        all.put("admin-configs", AdminScenarios::configs);
        all.put("admin-partitions-records", AdminScenarios::partitionsAndRecords);
        all.put("admin-groups", AdminScenarios::groups);
        all.put("admin-cluster", AdminScenarios::cluster);
        all.put("admin-producers-transactions", AdminScenarios::producersAndTransactions);
        all.put("admin-cluster-ops", AdminScenarios::clusterOps);
    }

    static Object attempt(ThrowingSupplier body) {
        try {
            return body.get();
        } catch (Exception e) {
            return map("error", Main.errorName(e));
        }
    }

    interface ThrowingSupplier {
        Object get() throws Exception;
    }

    static Object topics(String bootstrap, String[] args) throws Exception {
        String prefix = args[0];
        String a = prefix + "-a";
        String b = prefix + "-b";
        Map<String, Object> result = map();
        try (Admin admin = Main.admin(bootstrap)) {
            admin.createTopics(List.of(new NewTopic(a, 3, (short) 1).configs(Map.of("retention.ms", "3600000")),
                    new NewTopic(b, 1, (short) 1))).all().get();
            result.put("listed", admin.listTopics().names().get().containsAll(List.of(a, b)));
            TopicDescription d = admin.describeTopics(List.of(a),
                    new org.apache.kafka.clients.admin.DescribeTopicsOptions().includeAuthorizedOperations(true))
                    .allTopicNames().get().get(a);
            result.put("authorized_operations", d.authorizedOperations() == null ? null
                    : new java.util.TreeSet<>(d.authorizedOperations().stream().map(Object::toString).toList()));
            List<Object> parts = new ArrayList<>();
            d.partitions().forEach(p -> parts.add(map("partition", p.partition(),
                    "leader", p.leader() == null ? null : p.leader().id(),
                    "replicas", p.replicas().size(), "isr", p.isr().size())));
            result.put("describe", map("name", d.name(), "internal", d.isInternal(),
                    "topic_id_set", d.topicId() != null && !d.topicId().toString().equals("AAAAAAAAAAAAAAAAAAAAAA"),
                    "partitions", parts));
            result.put("create_again", attempt(() -> {
                admin.createTopics(List.of(new NewTopic(a, 1, (short) 1))).all().get();
                return map("error", null);
            }));
            result.put("validate_only", attempt(() -> {
                admin.createTopics(List.of(new NewTopic(prefix + "-dry", 2, (short) 1)),
                        new org.apache.kafka.clients.admin.CreateTopicsOptions().validateOnly(true)).all().get();
                return map("error", null, "created", admin.listTopics().names().get().contains(prefix + "-dry"));
            }));
            Uuid idOfA = d.topicId();
            TopicDescription byId = admin.describeTopics(TopicCollection.ofTopicIds(List.of(idOfA))).allTopicIds()
                    .get().get(idOfA);
            result.put("describe_by_id", map("name", byId.name(), "partitions", byId.partitions().size()));
            Uuid idOfB = admin.describeTopics(List.of(b)).allTopicNames().get().get(b).topicId();
            admin.deleteTopics(TopicCollection.ofTopicIds(List.of(idOfB))).all().get();
            Main.await("deleted topic gone from listing", Duration.ofSeconds(15), () -> {
                try {
                    return !admin.listTopics().names().get().contains(b);
                } catch (Exception e) {
                    return false;
                }
            });
            result.put("listed_after_delete", admin.listTopics().names().get().contains(b));
            result.put("describe_deleted_by_id", attempt(() -> {
                admin.describeTopics(TopicCollection.ofTopicIds(List.of(idOfB))).allTopicIds().get();
                return map("error", null);
            }));
            result.put("describe_deleted", attempt(() -> {
                admin.describeTopics(List.of(b)).allTopicNames().get();
                return map("error", null);
            }));
            result.put("delete_missing", attempt(() -> {
                admin.deleteTopics(List.of(prefix + "-missing")).all().get();
                return map("error", null);
            }));
        }
        return result;
    }

    static Map<String, Object> entries(Config config, Collection<String> names) {
        Map<String, Object> out = new TreeMap<>();
        for (String name : names) {
            ConfigEntry e = config.get(name);
            out.put(name, e == null ? null : map("value", e.value(), "source", e.source().toString(),
                    "default", e.isDefault()));
        }
        return out;
    }

    static Object configs(String bootstrap, String[] args) throws Exception {
        String topic = args[0];
        List<String> names = List.of("retention.ms", "cleanup.policy", "max.message.bytes", "segment.bytes");
        Map<String, Object> result = map();
        try (Admin admin = Main.admin(bootstrap)) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1).configs(Map.of("segment.bytes", "10485760"))))
                    .all().get();
            ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            result.put("before", entries(admin.describeConfigs(List.of(res)).all().get().get(res), names));
            admin.incrementalAlterConfigs(Map.of(res, List.of(
                    new AlterConfigOp(new ConfigEntry("retention.ms", "1234567"), AlterConfigOp.OpType.SET),
                    new AlterConfigOp(new ConfigEntry("cleanup.policy", "compact"), AlterConfigOp.OpType.APPEND),
                    new AlterConfigOp(new ConfigEntry("segment.bytes", ""), AlterConfigOp.OpType.DELETE)))).all().get();
            result.put("after", entries(admin.describeConfigs(List.of(res)).all().get().get(res), names));
            admin.incrementalAlterConfigs(Map.of(res, List.of(
                    new AlterConfigOp(new ConfigEntry("cleanup.policy", "delete"), AlterConfigOp.OpType.SUBTRACT))))
                    .all().get();
            result.put("after_subtract", entries(admin.describeConfigs(List.of(res)).all().get().get(res),
                    List.of("cleanup.policy")));
            result.put("invalid_value", attempt(() -> {
                admin.incrementalAlterConfigs(Map.of(res, List.of(new AlterConfigOp(
                        new ConfigEntry("retention.ms", "not-a-number"), AlterConfigOp.OpType.SET)))).all().get();
                return map("error", null);
            }));
            String brokerId = String.valueOf(admin.describeCluster().controller().get() == null
                    ? admin.describeCluster().nodes().get().iterator().next().id()
                    : admin.describeCluster().nodes().get().iterator().next().id());
            ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER, brokerId);
            result.put("broker", entries(admin.describeConfigs(List.of(broker)).all().get().get(broker),
                    List.of("message.max.bytes", "num.partitions", "log.retention.ms")));
        }
        return result;
    }

    static Object partitionsAndRecords(String bootstrap, String[] args) throws Exception {
        String topic = args[0];
        long base = 1_700_000_000_000L;
        Map<String, Object> result = map();
        try (Admin admin = Main.admin(bootstrap)) {
            Main.createTopic(admin, topic, 1);
            admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(3))).all().get();
            result.put("partitions_after_increase",
                    admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size());
            result.put("decrease", attempt(() -> {
                admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(2))).all().get();
                return map("error", null);
            }));
            try (KafkaProducer<String, String> p = Main.producer(bootstrap)) {
                for (int i = 0; i < 10; i++) {
                    p.send(new ProducerRecord<>(topic, 2, base + i * 1000L, "k", "v" + i));
                }
                p.flush();
            }
            TopicPartition tp = new TopicPartition(topic, 2);
            Map<String, Object> listed = new TreeMap<>();
            Map<String, OffsetSpec> specs = Map.of("earliest", OffsetSpec.earliest(), "latest", OffsetSpec.latest(),
                    "max_timestamp", OffsetSpec.maxTimestamp(), "for_timestamp", OffsetSpec.forTimestamp(base + 3500),
                    "for_future_timestamp", OffsetSpec.forTimestamp(base + 100_000));
            for (Map.Entry<String, OffsetSpec> e : specs.entrySet()) {
                ListOffsetsResult.ListOffsetsResultInfo info = admin.listOffsets(Map.of(tp, e.getValue()))
                        .partitionResult(tp).get();
                listed.put(e.getKey(), List.of(info.offset(), info.timestamp()));
            }
            result.put("list_offsets", listed);
            long low = admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(4))).lowWatermarks().get(tp).get()
                    .lowWatermark();
            result.put("low_watermark", low);
            result.put("delete_past_end", attempt(() -> {
                admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(50))).all().get();
                return map("error", null);
            }));
            try (KafkaConsumer<String, String> c = Main.consumer(bootstrap)) {
                c.assign(List.of(tp));
                c.seekToBeginning(List.of(tp));
                result.put("first_offset_read", Main.offsets(Main.pollAtLeast(c, 1, Duration.ofSeconds(10))).get(0));
                result.put("beginning_offset", c.beginningOffsets(List.of(tp)).get(tp));
            }
        }
        return result;
    }

    static Map<String, Object> offsetsOf(Admin admin, String group) throws Exception {
        Map<String, Object> out = new TreeMap<>();
        for (Map.Entry<TopicPartition, OffsetAndMetadata> e
                : admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get().entrySet()) {
            out.put(e.getKey().toString(), e.getValue() == null ? null : e.getValue().offset());
        }
        return out;
    }

    static boolean listed(Admin admin, String group) throws Exception {
        for (ConsumerGroupListing l : admin.listConsumerGroups().all().get()) {
            if (l.groupId().equals(group)) {
                return true;
            }
        }
        return false;
    }

    static Object groups(String bootstrap, String[] args) throws Exception {
        String topic = args[0];
        String group = args[1];
        Map<String, Object> result = map();
        try (Admin admin = Main.admin(bootstrap)) {
            Main.createTopic(admin, topic, 2);
            try (KafkaConsumer<String, String> c = Main.consumer(bootstrap, "group.id", group)) {
                c.subscribe(List.of(topic));
                ConsumerScenarios.pollUntil(List.of(c), () -> c.assignment().size() == 2, "assignment");
                c.commitSync(Map.of(new TopicPartition(topic, 0), new OffsetAndMetadata(3),
                        new TopicPartition(topic, 1), new OffsetAndMetadata(5)));
                ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group),
                        new org.apache.kafka.clients.admin.DescribeConsumerGroupsOptions()
                                .includeAuthorizedOperations(true)).describedGroups().get(group).get();
                result.put("authorized_operations", d.authorizedOperations() == null ? null
                        : new java.util.TreeSet<>(d.authorizedOperations().stream().map(Object::toString).toList()));
                result.put("described_active", map("state", d.groupState().toString(), "members", d.members().size(),
                        "assignor", d.partitionAssignor(), "simple", d.isSimpleConsumerGroup(),
                        "member_partitions", d.members().iterator().next().assignment().topicPartitions().size(),
                        "coordinator_set", d.coordinator() != null));
                result.put("alter_offsets_active", attempt(() -> {
                    admin.alterConsumerGroupOffsets(group, Map.of(new TopicPartition(topic, 0),
                            new OffsetAndMetadata(2))).all().get();
                    return map("error", null);
                }));
                result.put("delete_offsets_active", attempt(() -> {
                    admin.deleteConsumerGroupOffsets(group, Set.of(new TopicPartition(topic, 0))).all().get();
                    return map("error", null);
                }));
                result.put("delete_active", attempt(() -> {
                    admin.deleteConsumerGroups(List.of(group)).all().get();
                    return map("error", null);
                }));
            }
            result.put("listed", listed(admin, group));
            for (Map.Entry<String, org.apache.kafka.clients.admin.ListGroupsOptions> e : Map.of(
                    "all", new org.apache.kafka.clients.admin.ListGroupsOptions(),
                    "consumer", org.apache.kafka.clients.admin.ListGroupsOptions.forConsumerGroups(),
                    "share", org.apache.kafka.clients.admin.ListGroupsOptions.forShareGroups()).entrySet()) {
                result.put("list_groups_" + e.getKey(), attempt(() -> {
                    for (org.apache.kafka.clients.admin.GroupListing l : admin.listGroups(e.getValue()).all().get()) {
                        if (l.groupId().equals(group)) {
                            return map("type", l.type().map(Object::toString).orElse(null),
                                    "protocol", l.protocol(),
                                    "state", l.groupState().map(Object::toString).orElse(null),
                                    "simple", l.isSimpleConsumerGroup());
                        }
                    }
                    return null;
                }));
            }
            ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).describedGroups().get(group).get();
            result.put("described_empty", map("state", d.groupState().toString(), "members", d.members().size()));
            result.put("offsets", offsetsOf(admin, group));
            admin.alterConsumerGroupOffsets(group, Map.of(new TopicPartition(topic, 0), new OffsetAndMetadata(1)))
                    .all().get();
            result.put("offsets_after_alter", offsetsOf(admin, group));
            admin.deleteConsumerGroupOffsets(group, Set.of(new TopicPartition(topic, 1))).all().get();
            result.put("offsets_after_delete", offsetsOf(admin, group));
            admin.deleteConsumerGroups(List.of(group)).all().get();
            result.put("listed_after_delete", listed(admin, group));
            result.put("describe_deleted", attempt(() -> admin.describeConsumerGroups(List.of(group))
                    .describedGroups().get(group).get().groupState().toString()));
        }
        return result;
    }

    static Object cluster(String bootstrap, String[] args) throws Exception {
        Map<String, Object> result = map();
        try (Admin admin = Main.admin(bootstrap)) {
            DescribeClusterResult c = admin.describeCluster(
                    new org.apache.kafka.clients.admin.DescribeClusterOptions().includeAuthorizedOperations(true));
            Set<org.apache.kafka.common.acl.AclOperation> ops = c.authorizedOperations().get();
            result.put("authorized_operations", ops == null ? null
                    : new java.util.TreeSet<>(ops.stream().map(Object::toString).toList()));
            List<Object> nodes = new ArrayList<>();
            List<Integer> ids = new ArrayList<>();
            for (Node n : c.nodes().get()) {
                nodes.add(map("id", n.id(), "host", n.host(), "port", n.port()));
                ids.add(n.id());
            }
            Node controller = c.controller().get();
            result.put("cluster_id", c.clusterId().get());
            result.put("nodes", nodes);
            result.put("controller", controller == null ? null : controller.id());
            FeatureMetadata f = admin.describeFeatures().featureMetadata().get();
            Map<String, Object> finalized = new TreeMap<>();
            f.finalizedFeatures().forEach((k, v) -> finalized.put(k, List.of(v.minVersionLevel(), v.maxVersionLevel())));
            Map<String, Object> supported = new TreeMap<>();
            f.supportedFeatures().forEach((k, v) -> supported.put(k, List.of(v.minVersion(), v.maxVersion())));
            result.put("features", map("finalized", finalized, "supported", supported,
                    "epoch", f.finalizedFeaturesEpoch().orElse(null)));
            String topic = args[0];
            Main.createTopic(admin, topic, 2);
            try (KafkaProducer<String, String> p = Main.producer(bootstrap)) {
                for (int i = 0; i < 20; i++) {
                    p.send(new ProducerRecord<>(topic, 1, "k", "some value " + i));
                }
                p.flush();
            }
            Map<String, Object> dirs = new TreeMap<>();
            for (Map.Entry<String, LogDirDescription> e
                    : admin.describeLogDirs(ids).allDescriptions().get().get(ids.get(0)).entrySet()) {
                Map<String, Object> replicas = new TreeMap<>();
                for (Map.Entry<TopicPartition, ReplicaInfo> r : e.getValue().replicaInfos().entrySet()) {
                    if (r.getKey().topic().equals(topic)) {
                        replicas.put(r.getKey().toString(), r.getValue().size());
                    }
                }
                dirs.put(e.getKey(), map("error", e.getValue().error() == null ? null
                        : e.getValue().error().getClass().getSimpleName(), "replicas", replicas,
                        "total_bytes_set", e.getValue().totalBytes().isPresent(),
                        "usable_bytes_set", e.getValue().usableBytes().isPresent()));
            }
            result.put("log_dirs", dirs);
        }
        return result;
    }

    static Object producersAndTransactions(String bootstrap, String[] args) throws Exception {
        String topic = args[0];
        String txnId = "txn-" + topic;
        Map<String, Object> result = map();
        try (Admin admin = Main.admin(bootstrap);
             KafkaProducer<String, String> p = Main.producer(bootstrap, "transactional.id", txnId)) {
            Main.createTopic(admin, topic, 1);
            p.initTransactions();
            p.beginTransaction();
            p.send(new ProducerRecord<>(topic, 0, "k", "in flight")).get();
            TopicPartition tp = new TopicPartition(topic, 0);
            List<Object> producers = new ArrayList<>();
            for (ProducerState s : admin.describeProducers(List.of(tp)).partitionResult(tp).get().activeProducers()) {
                producers.add(map("producer_id", s.producerId(), "epoch", s.producerEpoch(),
                        "txn_start_offset", s.currentTransactionStartOffset().orElse(-1L)));
            }
            result.put("producers_open", producers);
            result.put("listed_open", listing(admin, txnId));
            result.put("described_open", description(admin, txnId));
            p.commitTransaction();
            result.put("listed_committed", listing(admin, txnId));
            result.put("described_committed", description(admin, txnId));
            result.put("describe_unknown", attempt(() -> description(admin, "no-such-" + txnId)));
        }
        return result;
    }

    static Object listing(Admin admin, String txnId) throws Exception {
        for (TransactionListing l : admin.listTransactions().all().get()) {
            if (l.transactionalId().equals(txnId)) {
                return map("producer_id", l.producerId(), "state", l.state().toString());
            }
        }
        return null;
    }

    static Object description(Admin admin, String txnId) throws Exception {
        TransactionDescription d = admin.describeTransactions(List.of(txnId)).description(txnId).get();
        List<String> parts = new ArrayList<>();
        d.topicPartitions().forEach(tp -> parts.add(tp.toString()));
        parts.sort(null);
        return map("state", d.state().toString(), "producer_id", d.producerId(), "epoch", d.producerEpoch(),
                "timeout_ms", d.transactionTimeoutMs(), "partitions", parts,
                "start_time_set", d.transactionStartTimeMs().isPresent());
    }

    /**
     * The APIs of several brokers: the metadata quorum, a reassignment that reorders partition 0's
     * replicas (then a preferred election moves its leader to the new first replica), elections, the
     * replicas' log dirs and a no-op move, and the config resources. Args: topic, replication factor.
     */
    static Object clusterOps(String bootstrap, String[] args) throws Exception {
        String topic = args[0];
        short rf = Short.parseShort(args[1]);
        Map<String, Object> result = map();
        try (Admin admin = Main.admin(bootstrap)) {
            org.apache.kafka.clients.admin.QuorumInfo q = admin.describeMetadataQuorum().quorumInfo().get();
            List<Object> voters = new ArrayList<>();
            for (org.apache.kafka.clients.admin.QuorumInfo.ReplicaState v : q.voters()) {
                voters.add(map("id", v.replicaId(), "log_end_offset_set", v.logEndOffset() >= 0,
                        "last_fetch_set", v.lastFetchTimestamp().isPresent()));
            }
            result.put("quorum", map("leader", q.leaderId(), "epoch", q.leaderEpoch(),
                    "high_watermark_set", q.highWatermark() >= 0, "voters", voters,
                    "observers", q.observers().size(), "nodes", new java.util.TreeSet<>(q.nodes().keySet())));

            admin.createTopics(List.of(new NewTopic(topic, 2, rf))).all().get();
            TopicPartition tp0 = new TopicPartition(topic, 0);
            TopicPartition missing = new TopicPartition(topic, 9);
            List<Integer> replicas = replicasOf(admin, topic, 0);
            result.put("replicas_before", replicas);
            result.put("elect_not_needed", electionErrors(admin, org.apache.kafka.common.ElectionType.PREFERRED,
                    Set.of(tp0, missing)));
            result.put("elect_unclean", electionErrors(admin, org.apache.kafka.common.ElectionType.UNCLEAN,
                    Set.of(tp0)));

            List<Integer> reordered = new ArrayList<>(replicas);
            java.util.Collections.reverse(reordered);
            admin.alterPartitionReassignments(Map.of(tp0, java.util.Optional.of(
                    new org.apache.kafka.clients.admin.NewPartitionReassignment(reordered)))).all().get();
            long deadline = System.currentTimeMillis() + 15000;
            while (!admin.listPartitionReassignments(Set.of(tp0)).reassignments().get().isEmpty()
                    && System.currentTimeMillis() < deadline) {
                Thread.sleep(100);
            }
            result.put("replicas_after", replicasOf(admin, topic, 0));
            result.put("cancel_none", attempt(() -> {
                admin.alterPartitionReassignments(Map.of(tp0, java.util.Optional.empty())).all().get();
                return "ok";
            }));
            result.put("elect_after_reorder", electionErrors(admin, org.apache.kafka.common.ElectionType.PREFERRED,
                    Set.of(tp0)));
            result.put("leader_after", admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic)
                    .partitions().get(0).leader().id());

            int holder = replicasOf(admin, topic, 0).get(0);
            org.apache.kafka.common.TopicPartitionReplica tpr =
                    new org.apache.kafka.common.TopicPartitionReplica(topic, 0, holder);
            org.apache.kafka.clients.admin.DescribeReplicaLogDirsResult.ReplicaLogDirInfo info =
                    admin.describeReplicaLogDirs(List.of(tpr)).all().get().get(tpr);
            result.put("replica_dir", info.getCurrentReplicaLogDir());
            result.put("replica_future_dir", info.getFutureReplicaLogDir());
            result.put("move_to_same_dir", attempt(() -> {
                admin.alterReplicaLogDirs(Map.of(tpr, info.getCurrentReplicaLogDir())).all().get();
                return "ok";
            }));

            Map<String, Object> resources = new TreeMap<>();
            for (ConfigResource r : admin.listConfigResources().all().get()) {
                if (r.type() != ConfigResource.Type.TOPIC || r.name().equals(topic)) {
                    ((List<String>) resources.computeIfAbsent(r.type().toString(), k -> new ArrayList<String>()))
                            .add(r.name());
                }
            }
            result.put("config_resources", resources);
        }
        return result;
    }

    static List<Integer> replicasOf(Admin admin, String topic, int partition) throws Exception {
        TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
        return d.partitions().get(partition).replicas().stream().map(Node::id).toList();
    }

    static Map<String, Object> electionErrors(Admin admin, org.apache.kafka.common.ElectionType type,
                                              Set<TopicPartition> partitions) throws Exception {
        Map<String, Object> out = new TreeMap<>();
        admin.electLeaders(type, partitions).partitions().get().forEach((tp, error) ->
                out.put(tp.toString(), error.map(e -> (Object) e.getClass().getSimpleName()).orElse("none")));
        return out;
    }
}
