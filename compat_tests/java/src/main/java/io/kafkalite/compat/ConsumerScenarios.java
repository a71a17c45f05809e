package io.kafkalite.compat;

import static io.kafkalite.compat.Main.map;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/** Consumer scenarios: manual assignment and seeking, group rebalances, static membership, commits, isolation. */
final class ConsumerScenarios {
    private ConsumerScenarios() {
    }

    static void register(Map<String, Main.Scenario> all) {
        all.put("consumer-assign", ConsumerScenarios::assign);
        all.put("consumer-rebalance", ConsumerScenarios::rebalance);
        all.put("static-membership", ConsumerScenarios::staticMembership);
        all.put("commits", ConsumerScenarios::commits);
        all.put("read-committed", ConsumerScenarios::readCommitted);
    }

    /** assign + seekToBeginning/seek/seekToEnd, offsetsForTimes, beginning/endOffsets on timestamped records. */
    static Object assign(String bootstrap, String[] args) throws Exception {
        String topic = args[0];
        long base = 1_700_000_000_000L;
        try (KafkaProducer<String, String> p = Main.producer(bootstrap)) {
            for (int i = 0; i < 10; i++) {
                p.send(new ProducerRecord<>(topic, 0, base + i * 1000L, "k" + i, "v" + i));
            }
            p.flush();
        }
        TopicPartition tp = new TopicPartition(topic, 0);
        try (KafkaConsumer<String, String> c = Main.consumer(bootstrap)) {
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            List<ConsumerRecord<String, String>> all = Main.pollAtLeast(c, 10, Duration.ofSeconds(10));
            List<Long> timestamps = new ArrayList<>();
            for (ConsumerRecord<String, String> r : all) {
                timestamps.add(r.timestamp());
            }
            long positionAtEnd = c.position(tp);
            c.seek(tp, 6);
            List<ConsumerRecord<String, String>> fromSix = Main.pollAtLeast(c, 4, Duration.ofSeconds(10));
            Map<TopicPartition, OffsetAndTimestamp> byTime = c.offsetsForTimes(Map.of(tp, base + 3500L));
            Map<TopicPartition, OffsetAndTimestamp> pastEnd = c.offsetsForTimes(Map.of(tp, base + 60_000L));
            OffsetAndTimestamp found = byTime.get(tp);
            c.seek(tp, found.offset());
            String valueAtTime = Main.pollAtLeast(c, 1, Duration.ofSeconds(10)).get(0).value();
            c.seekToEnd(List.of(tp));
            long positionAfterSeekToEnd = c.position(tp);
            String timestampType = all.get(0).timestampType().toString();
            return map("values", Main.values(all), "timestamps", timestamps, "position_at_end", positionAtEnd,
                    "from_six", Main.offsets(fromSix),
                    "offset_for_time", found.offset(), "timestamp_for_time", found.timestamp(),
                    "value_at_time", valueAtTime,
                    "offset_past_end", pastEnd.get(tp) == null ? null : pastEnd.get(tp).offset(),
                    "beginning_offsets", c.beginningOffsets(List.of(tp)).get(tp),
                    "end_offsets", c.endOffsets(List.of(tp)).get(tp),
                    "position_after_seek_to_end", positionAfterSeekToEnd, "timestamp_type", timestampType,
                    "log_append_time", logAppendTime(bootstrap, topic + "-lat"));
        }
    }

    /**
     * On a topic with message.timestamp.type=LogAppendTime the broker stamps records: the producer's
     * timestamps are replaced, and offsetsForTimes searches the broker's.
     */
    static Object logAppendTime(String bootstrap, String topic) throws Exception {
        try (Admin admin = Main.admin(bootstrap)) {
            admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(topic, 1, (short) 1)
                    .configs(Map.of("message.timestamp.type", "LogAppendTime")))).all().get();
        }
        long before = System.currentTimeMillis();
        long acked;
        try (KafkaProducer<String, String> p = Main.producer(bootstrap)) {
            acked = p.send(new ProducerRecord<>(topic, 0, 1_000L, "k", "v")).get().timestamp();
        }
        TopicPartition tp = new TopicPartition(topic, 0);
        try (KafkaConsumer<String, String> c = Main.consumer(bootstrap)) {
            c.assign(List.of(tp));
            ConsumerRecord<String, String> r = Main.pollAtLeast(c, 1, Duration.ofSeconds(10)).get(0);
            OffsetAndTimestamp found = c.offsetsForTimes(Map.of(tp, before - 1000)).get(tp);
            return map("type", r.timestampType().toString(), "stamped_by_broker", r.timestamp() >= before - 1000,
                    "ack_timestamp_matches", acked == r.timestamp(),
                    "offset_for_time", found == null ? null : found.offset());
        }
    }

    /** Records every callback of a rebalance listener and the consumer's current assignment. */
    static final class Recorder implements ConsumerRebalanceListener {
        final List<Object> events = new ArrayList<>();
        final Set<Integer> owned = new TreeSet<>();

        private static List<Integer> parts(Collection<TopicPartition> tps) {
            List<Integer> out = new ArrayList<>();
            for (TopicPartition tp : tps) {
                out.add(tp.partition());
            }
            out.sort(null);
            return out;
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            events.add(map("revoked", parts(partitions)));
            owned.removeAll(parts(partitions));
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            events.add(map("assigned", parts(partitions)));
            owned.addAll(parts(partitions));
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            events.add(map("lost", parts(partitions)));
            owned.removeAll(parts(partitions));
        }
    }

    /**
     * A first consumer takes all four partitions; a second joins (both end with two each); the
     * second leaves (the first gets all four back). One thread drives both consumers with short polls.
     */
    static Object rebalance(String bootstrap, String[] args) throws Exception {
        String topic = args[0];
        String group = args[1];
        String assignor = args[2].equals("range")
                ? "org.apache.kafka.clients.consumer.RangeAssignor"
                : "org.apache.kafka.clients.consumer.CooperativeStickyAssignor";
        try (Admin admin = Main.admin(bootstrap)) {
            Main.createTopic(admin, topic, 4);
        }
        Object[] conf = {"group.id", group, "partition.assignment.strategy", assignor};
        Recorder a = new Recorder();
        Recorder b = new Recorder();
        List<Object> phases = new ArrayList<>();
        try (KafkaConsumer<String, String> ca = Main.consumer(bootstrap, conf)) {
            ca.subscribe(List.of(topic), a);
            pollUntil(List.of(ca), () -> a.owned.size() == 4, "first consumer owns 4");
            phases.add(map("a", new ArrayList<>(a.owned)));
            try (KafkaConsumer<String, String> cb = Main.consumer(bootstrap, conf)) {
                cb.subscribe(List.of(topic), b);
                pollUntil(List.of(ca, cb), () -> a.owned.size() == 2 && b.owned.size() == 2
                        && ca.assignment().size() == 2 && cb.assignment().size() == 2, "2 + 2");
                phases.add(map("a", new ArrayList<>(a.owned), "b", new ArrayList<>(b.owned)));
            }
            pollUntil(List.of(ca), () -> a.owned.size() == 4, "first consumer owns 4 again");
            phases.add(map("a", new ArrayList<>(a.owned)));
        }
        return map("phases", phases, "a_events", a.events, "b_events", b.events);
    }

    static void pollUntil(List<KafkaConsumer<String, String>> consumers, java.util.function.BooleanSupplier done,
                          String what) {
        long deadline = System.currentTimeMillis() + 30000;
        while (!done.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("timed out waiting for " + what);
            }
            for (KafkaConsumer<String, String> c : consumers) {
                c.poll(Duration.ofMillis(50));
            }
        }
    }

    /**
     * A static member (group.instance.id) closes without leaving the group and a new process with
     * the same instance id takes its place: same assignment, no new generation.
     */
    static Object staticMembership(String bootstrap, String[] args) throws Exception {
        String topic = args[0];
        String group = args[1];
        try (Admin admin = Main.admin(bootstrap)) {
            Main.createTopic(admin, topic, 2);
        }
        Object[] conf = {"group.id", group, "group.instance.id", "static-1", "session.timeout.ms", 30000};
        Map<String, Object> result = map();
        try (KafkaConsumer<String, String> c = Main.consumer(bootstrap, conf)) {
            c.subscribe(List.of(topic));
            pollUntil(List.of(c), () -> c.assignment().size() == 2, "assignment");
            result.put("first", map("generation", c.groupMetadata().generationId(),
                    "member_id", c.groupMetadata().memberId(), "instance_id", c.groupMetadata().groupInstanceId().orElse(null),
                    "assignment", c.assignment().size()));
            result.put("described_while_running", describe(bootstrap, group));
        }
        result.put("described_after_close", describe(bootstrap, group));
        try (KafkaConsumer<String, String> c = Main.consumer(bootstrap, conf)) {
            c.subscribe(List.of(topic));
            pollUntil(List.of(c), () -> c.assignment().size() == 2, "assignment after restart");
            result.put("second", map("generation", c.groupMetadata().generationId(),
                    "member_id", c.groupMetadata().memberId(), "assignment", c.assignment().size()));
            // A third process claims the same instance id while the second still runs: the newer one
            // takes over and the older is fenced on its next request to the coordinator.
            try (KafkaConsumer<String, String> third = Main.consumer(bootstrap, conf)) {
                third.subscribe(List.of(topic));
                pollUntil(List.of(third), () -> third.assignment().size() == 2, "assignment of the third");
                result.put("third", map("generation", third.groupMetadata().generationId(),
                        "assignment", third.assignment().size()));
                try {
                    c.commitSync(Map.of(new TopicPartition(topic, 0), new OffsetAndMetadata(0)));
                    result.put("older_commit", map("error", null));
                } catch (Exception e) {
                    result.put("older_commit", map("error", Main.errorName(e)));
                }
            }
        }
        return result;
    }

    static Object describe(String bootstrap, String group) throws Exception {
        try (Admin admin = Main.admin(bootstrap)) {
            ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).describedGroups().get(group).get();
            List<Object> members = new ArrayList<>();
            for (MemberDescription m : d.members()) {
                members.add(map("member_id", m.consumerId(), "instance_id", m.groupInstanceId().orElse(null),
                        "partitions", m.assignment().topicPartitions().size()));
            }
            return map("state", d.groupState().toString(), "members", members);
        }
    }

    /** commitSync with explicit offsets and metadata, then commitAsync of the position, read back by committed(). */
    static Object commits(String bootstrap, String[] args) throws Exception {
        String topic = args[0];
        String group = args[1];
        try (KafkaProducer<String, String> p = Main.producer(bootstrap)) {
            for (int i = 0; i < 10; i++) {
                p.send(new ProducerRecord<>(topic, 0, "k", "v" + i));
            }
            p.flush();
        }
        TopicPartition tp = new TopicPartition(topic, 0);
        Map<String, Object> result = map();
        try (KafkaConsumer<String, String> c = Main.consumer(bootstrap, "group.id", group)) {
            c.subscribe(List.of(topic));
            List<ConsumerRecord<String, String>> got = Main.pollAtLeast(c, 10, Duration.ofSeconds(15));
            result.put("consumed", got.size());
            c.commitSync(Map.of(tp, new OffsetAndMetadata(5, "half-way")));
            OffsetAndMetadata sync = c.committed(Set.of(tp)).get(tp);
            result.put("sync", map("offset", sync.offset(), "metadata", sync.metadata()));
            AtomicReference<Object> callback = new AtomicReference<>();
            c.commitAsync((offsets, error) -> callback.set(error == null
                    ? map("offset", offsets.get(tp).offset()) : map("error", error.getClass().getSimpleName())));
            long deadline = System.currentTimeMillis() + 10000;
            while (callback.get() == null && System.currentTimeMillis() < deadline) {
                c.poll(Duration.ofMillis(50)); // async callbacks run inside poll
            }
            result.put("async_callback", callback.get());
            result.put("async_committed", c.committed(Set.of(tp)).get(tp).offset());
        }
        // A new member of the group resumes from the committed offset.
        try (KafkaConsumer<String, String> c = Main.consumer(bootstrap, "group.id", group)) {
            c.subscribe(List.of(topic));
            try (KafkaProducer<String, String> p = Main.producer(bootstrap)) {
                p.send(new ProducerRecord<>(topic, 0, "k", "v10")).get();
            }
            result.put("resumed", Main.values(Main.pollAtLeast(c, 1, Duration.ofSeconds(15))));
        }
        return result;
    }

    /** Committed, aborted and committed transactions: read_committed sees only the committed ones. */
    static Object readCommitted(String bootstrap, String[] args) throws Exception {
        String topic = args[0];
        try (Admin admin = Main.admin(bootstrap)) {
            Main.createTopic(admin, topic, 1);
        }
        try (KafkaProducer<String, String> p = Main.producer(bootstrap, "transactional.id", "rc-" + topic)) {
            p.initTransactions();
            String[][] txns = {{"commit", "a1", "a2", "a3"}, {"abort", "b1", "b2", "b3"}, {"commit", "c1", "c2"}};
            for (String[] txn : txns) {
                p.beginTransaction();
                for (int i = 1; i < txn.length; i++) {
                    p.send(new ProducerRecord<>(topic, 0, "k", txn[i]));
                }
                p.flush();
                if (txn[0].equals("commit")) {
                    p.commitTransaction();
                } else {
                    p.abortTransaction();
                }
            }
        }
        try (KafkaProducer<String, String> p = Main.producer(bootstrap)) {
            p.send(new ProducerRecord<>(topic, 0, "k", "plain")).get();
        }
        TopicPartition tp = new TopicPartition(topic, 0);
        Map<String, Object> result = map();
        for (String isolation : List.of("read_committed", "read_uncommitted")) {
            try (KafkaConsumer<String, String> c = Main.consumer(bootstrap, "isolation.level", isolation)) {
                c.assign(List.of(tp));
                int expect = isolation.equals("read_committed") ? 6 : 9;
                List<ConsumerRecord<String, String>> got = Main.pollAtLeast(c, expect, Duration.ofSeconds(10));
                got.addAll(Main.pollAtLeast(c, 1, Duration.ofMillis(300)));
                result.put(isolation, map("values", Main.values(got), "offsets", Main.offsets(got),
                        "position", c.position(tp), "end_offset", c.endOffsets(List.of(tp)).get(tp)));
            }
        }
        return result;
    }

}
