package io.kafkalite.assignors;

import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.FencedMemberEpochException;
import org.apache.kafka.common.message.ConsumerGroupHeartbeatRequestData;
import org.apache.kafka.coordinator.common.runtime.CoordinatorMetadataDelta;
import org.apache.kafka.coordinator.common.runtime.CoordinatorMetadataImage;
import org.apache.kafka.coordinator.group.modern.Assignment;
import org.apache.kafka.coordinator.group.modern.MemberState;
import org.apache.kafka.coordinator.group.modern.consumer.ConsumerGroupMember;
import org.apache.kafka.coordinator.group.modern.consumer.CurrentAssignmentBuilder;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Kafka's CurrentAssignmentBuilder on one member.
 *
 * <pre>
 * RECONCILE name state epoch previousEpoch assigned pending targetEpoch target owned owners subscribed changed
 *   assigned, pending = uuid=p:e.p:e+uuid=...  (partition:assignment epoch; "-" none)
 *   target            = uuid=p.p+uuid=...       ("-" none)
 *   owned             = like target, "null" when the heartbeat left it out
 *   owners            = uuid=p:e.p:e+...        (current owner epoch of partitions; others are free)
 *   subscribed        = uuid+uuid ("-" none); topics are named by their ids
 *   changed           = 1 when the subscription changed
 * -> name state epoch previousEpoch assigned pending   |   name FENCED message
 * </pre>
 */
final class Reconcile {
    private Reconcile() {
    }

    static String run(String[] f) {
        Map<Uuid, Map<Integer, Integer>> assigned = withEpochs(f[5]);
        Map<Uuid, Map<Integer, Integer>> pending = withEpochs(f[6]);
        Map<Uuid, Map<Integer, Integer>> owners = withEpochs(f[10]);
        List<String> subscribed = new ArrayList<>();
        if (!f[11].equals("-")) Collections.addAll(subscribed, f[11].split("\\+"));
        ConsumerGroupMember member = new ConsumerGroupMember.Builder("member")
            .setState(MemberState.valueOf(f[2]))
            .setMemberEpoch(Integer.parseInt(f[3]))
            .setPreviousMemberEpoch(Integer.parseInt(f[4]))
            .setAssignedPartitions(assigned)
            .setPartitionsPendingRevocation(pending)
            .setSubscribedTopicNames(subscribed)
            .build();
        List<ConsumerGroupHeartbeatRequestData.TopicPartitions> owned = null;
        if (!f[9].equals("null")) {
            owned = new ArrayList<>();
            for (Map.Entry<Uuid, Set<Integer>> e : plain(f[9]).entrySet()) {
                owned.add(new ConsumerGroupHeartbeatRequestData.TopicPartitions()
                    .setTopicId(e.getKey()).setPartitions(new ArrayList<>(e.getValue())));
            }
        }
        try {
            ConsumerGroupMember next = new CurrentAssignmentBuilder(member)
                .withMetadataImage(new Image())
                .withTargetAssignment(Integer.parseInt(f[7]), new Assignment(plain(f[8])))
                .withHasSubscriptionChanged(f[12].equals("1"))
                .withCurrentPartitionEpoch((t, p) -> owners.getOrDefault(t, Map.of()).getOrDefault(p, -1))
                .withOwnedTopicPartitions(owned)
                .build();
            return next.state() + " " + next.memberEpoch() + " " + next.previousMemberEpoch() + " "
                + render(next.assignedPartitions()) + " " + render(next.partitionsPendingRevocation());
        } catch (FencedMemberEpochException e) {
            return "FENCED " + e.getMessage();
        }
    }

    private static Map<Uuid, Map<Integer, Integer>> withEpochs(String text) {
        Map<Uuid, Map<Integer, Integer>> out = new HashMap<>();
        if (text.equals("-")) return out;
        for (String t : text.split("\\+")) {
            String[] kv = t.split("=");
            Map<Integer, Integer> parts = new HashMap<>();
            for (String pe : kv[1].split("\\.")) {
                String[] x = pe.split(":");
                parts.put(Integer.parseInt(x[0]), Integer.parseInt(x[1]));
            }
            out.put(Uuid.fromString(kv[0]), parts);
        }
        return out;
    }

    private static Map<Uuid, Set<Integer>> plain(String text) {
        Map<Uuid, Set<Integer>> out = new HashMap<>();
        if (text.equals("-")) return out;
        for (String t : text.split("\\+")) {
            String[] kv = t.split("=");
            Set<Integer> parts = new LinkedHashSet<>();
            for (String p : kv[1].split("\\.")) parts.add(Integer.parseInt(p));
            out.put(Uuid.fromString(kv[0]), parts);
        }
        return out;
    }

    private static String render(Map<Uuid, Map<Integer, Integer>> m) {
        List<String> topics = new ArrayList<>();
        for (Map.Entry<Uuid, Map<Integer, Integer>> e : m.entrySet()) {
            if (e.getValue().isEmpty()) continue;
            List<String> ps = new ArrayList<>();
            for (Map.Entry<Integer, Integer> pe : new TreeMap<>(e.getValue()).entrySet()) ps.add(pe.getKey() + ":" + pe.getValue());
            topics.add(e.getKey() + "=" + String.join(".", ps));
        }
        Collections.sort(topics);
        return topics.isEmpty() ? "-" : String.join("+", topics);
    }

    /** A metadata image where every topic is named by its id (the subscription's names are ids). */
    private static final class Image implements CoordinatorMetadataImage {
        @Override
        public Set<Uuid> topicIds() {
            return Set.of();
        }

        @Override
        public Set<String> topicNames() {
            return Set.of();
        }

        @Override
        public Optional<TopicMetadata> topicMetadata(String name) {
            return Optional.of(topic(Uuid.fromString(name)));
        }

        @Override
        public Optional<TopicMetadata> topicMetadata(Uuid id) {
            return Optional.of(topic(id));
        }

        @Override
        public CoordinatorMetadataDelta emptyDelta() {
            return null;
        }

        @Override
        public long version() {
            return 1;
        }

        @Override
        public boolean isEmpty() {
            return false;
        }

        private static TopicMetadata topic(Uuid id) {
            return new TopicMetadata() {
                @Override
                public String name() {
                    return id.toString();
                }

                @Override
                public Uuid id() {
                    return id;
                }

                @Override
                public int partitionCount() {
                    return 64;
                }

                @Override
                public List<String> partitionRacks(int partition) {
                    return List.of();
                }
            };
        }
    }
}
