package io.kafkalite.compat;

import static io.kafkalite.compat.Main.map;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.ThreadMetadata;
import org.apache.kafka.streams.TaskMetadata;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.StateRestoreListener;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Kafka Streams word count (repartition by word, counts in a changelogged store) with exactly_once_v2,
 * in three phases: one instance; the same instance restarted on its state; a second instance joining.
 * After each phase the output topic is read (read_committed) until every word's latest count matches
 * the input so far; every count update is reported so the caller can check there are no duplicates.
 */
final class StreamsScenarios {
    static final Duration PHASE_TIMEOUT = Duration.ofSeconds(90);

    private StreamsScenarios() {
    }

    static void register(Map<String, Main.Scenario> all) {
        all.put("streams-wordcount", StreamsScenarios::wordCount);
        all.put("streams-run", StreamsScenarios::runUntilStdinCloses);
    }

    /** One app instance and the number of count updates it has emitted. */
    static final class Instance {
        final String name;
        final KafkaStreams streams;
        final AtomicLong updates = new AtomicLong();
        /** Records restored into local stores (from the changelog) since this instance started. */
        final AtomicLong restored = new AtomicLong();

        Instance(String name, String bootstrap, String appId, String in, String out, Path stateDir) {
            this.name = name;
            StreamsBuilder builder = new StreamsBuilder();
            builder.stream(in, Consumed.with(Serdes.String(), Serdes.String()))
                    .flatMapValues(line -> Arrays.asList(line.toLowerCase().split("\\W+")))
                    .filter((key, word) -> !word.isEmpty())
                    .groupBy((key, word) -> word, Grouped.with("words", Serdes.String(), Serdes.String()))
                    .count(Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>as("counts")
                            .withKeySerde(Serdes.String()).withValueSerde(Serdes.Long()))
                    .toStream()
                    .peek((word, count) -> updates.incrementAndGet())
                    .to(out, Produced.with(Serdes.String(), Serdes.Long()));
            Properties p = new Properties();
            p.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
            p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
            p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
            p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
            p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
            p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0); // every update reaches the output
            p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
            p.put(StreamsConfig.consumerPrefix("session.timeout.ms"), 6000);
            p.put(StreamsConfig.consumerPrefix("heartbeat.interval.ms"), 500);
            p.put(StreamsConfig.producerPrefix("transaction.timeout.ms"), 10000);
            p.put("processing.exception.handler.global.enabled", true);
            streams = new KafkaStreams(builder.build(), p);
            streams.setGlobalStateRestoreListener(new StateRestoreListener() {
                @Override
                public void onRestoreStart(TopicPartition tp, String store, long start, long end) {
                }

                @Override
                public void onBatchRestored(TopicPartition tp, String store, long batchEnd, long n) {
                }

                @Override
                public void onRestoreEnd(TopicPartition tp, String store, long total) {
                    restored.addAndGet(total);
                }
            });
        }

        void start() {
            streams.start();
        }

        Set<String> activeTasks() {
            Set<String> out = new TreeSet<>();
            for (ThreadMetadata t : streams.metadataForLocalThreads()) {
                for (TaskMetadata task : t.activeTasks()) {
                    out.add(task.taskId().toString());
                }
            }
            return out;
        }

        boolean running() {
            return streams.state() == KafkaStreams.State.RUNNING;
        }

        void close() {
            streams.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
                    .withTimeout(Duration.ofSeconds(30)));
        }
    }

    /** Reads the output topic and keeps every count update per word. */
    static final class Output implements AutoCloseable {
        final KafkaConsumer<String, Long> consumer;
        final Map<String, List<Long>> updates = new TreeMap<>();

        Output(String bootstrap, String out, int partitions) {
            Properties p = Main.props(bootstrap, "isolation.level", "read_committed");
            consumer = new KafkaConsumer<>(p, new StringDeserializer(), new LongDeserializer());
            List<TopicPartition> tps = new ArrayList<>();
            for (int i = 0; i < partitions; i++) {
                tps.add(new TopicPartition(out, i));
            }
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
        }

        void poll() {
            for (ConsumerRecord<String, Long> r : consumer.poll(Main.POLL)) {
                updates.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(r.value());
            }
        }

        Map<String, Long> latest() {
            Map<String, Long> out = new TreeMap<>();
            updates.forEach((w, vs) -> out.put(w, vs.get(vs.size() - 1)));
            return out;
        }

        void awaitCounts(Map<String, Long> expected) {
            long deadline = System.currentTimeMillis() + PHASE_TIMEOUT.toMillis();
            while (!latest().equals(expected)) {
                if (System.currentTimeMillis() > deadline) {
                    throw new IllegalStateException("counts never reached " + expected + "; latest " + latest());
                }
                poll();
            }
        }

        @Override
        public void close() {
            consumer.close();
        }
    }

    static void produce(String bootstrap, String in, String text, int phase) throws Exception {
        try (KafkaProducer<String, String> p = Main.producer(bootstrap)) {
            String[] lines = text.split("\n");
            for (int i = 0; i < lines.length; i++) {
                p.send(new ProducerRecord<>(in, "p" + phase + "-line" + i, lines[i]));
            }
            p.flush();
        }
    }

    static void addCounts(Map<String, Long> counts, String text) {
        for (String word : text.toLowerCase().split("\\W+")) {
            if (!word.isEmpty()) {
                counts.merge(word, 1L, Long::sum);
            }
        }
    }

    static void awaitRunning(List<Instance> instances, Set<String> allTasks) throws InterruptedException {
        Main.await("instances running with all tasks spread over them", PHASE_TIMEOUT, () -> {
            Set<String> union = new HashSet<>();
            int total = 0;
            for (Instance i : instances) {
                if (!i.running() || i.activeTasks().isEmpty()) {
                    return false;
                }
                union.addAll(i.activeTasks());
                total += i.activeTasks().size();
            }
            return union.equals(allTasks) && total == allTasks.size();
        });
    }

    static Object wordCount(String bootstrap, String[] args) throws Exception {
        String appId = args[0];
        String in = args[1];
        String out = args[2];
        Path stateDir = Path.of(args[3]);
        List<String> phases = List.of(args[4], args[5], args[6]);
        int partitions = 2;
        Set<String> allTasks = Set.of("0_0", "0_1", "1_0", "1_1");
        try (Admin admin = Main.admin(bootstrap)) {
            Main.createTopic(admin, in, partitions);
            Main.createTopic(admin, out, partitions);
        }
        Map<String, Long> expected = new TreeMap<>();
        Map<String, Object> report = new LinkedHashMap<>();
        try (Output output = new Output(bootstrap, out, partitions)) {
            // Phase 1: one instance.
            long t0 = System.currentTimeMillis();
            Instance a = new Instance("a", bootstrap, appId, in, out, stateDir.resolve("a"));
            a.start();
            awaitRunning(List.of(a), allTasks);
            produce(bootstrap, in, phases.get(0), 1);
            addCounts(expected, phases.get(0));
            output.awaitCounts(expected);
            report.put("phase1", map("counts", output.latest(), "seconds", (System.currentTimeMillis() - t0) / 1000.0,
                    "a_tasks", a.activeTasks()));
            a.close();

            // Phase 2: the same instance restarted on its state directory.
            t0 = System.currentTimeMillis();
            Instance a2 = new Instance("a", bootstrap, appId, in, out, stateDir.resolve("a"));
            a2.start();
            awaitRunning(List.of(a2), allTasks);
            produce(bootstrap, in, phases.get(1), 2);
            addCounts(expected, phases.get(1));
            output.awaitCounts(expected);
            report.put("phase2", map("counts", output.latest(), "seconds", (System.currentTimeMillis() - t0) / 1000.0,
                    "a_updates", a2.updates.get(), "a_restored", a2.restored.get()));

            // Phase 3: a second instance (empty state directory) joins; tasks are split between the two.
            t0 = System.currentTimeMillis();
            Instance b = new Instance("b", bootstrap, appId, in, out, stateDir.resolve("b"));
            b.start();
            awaitRunning(List.of(a2, b), allTasks);
            Set<String> aTasks = a2.activeTasks();
            Set<String> bTasks = b.activeTasks();
            long aBefore = a2.updates.get();
            long bBefore = b.updates.get();
            produce(bootstrap, in, phases.get(2), 3);
            addCounts(expected, phases.get(2));
            output.awaitCounts(expected);
            report.put("phase3", map("counts", output.latest(), "seconds", (System.currentTimeMillis() - t0) / 1000.0,
                    "a_tasks", aTasks, "b_tasks", bTasks,
                    "a_updates", a2.updates.get() - aBefore, "b_updates", b.updates.get() - bBefore,
                    "a_tasks_after", a2.activeTasks(), "b_tasks_after", b.activeTasks(),
                    "b_restored", b.restored.get()));
            // Anything late (a duplicate) would show within a few more polls.
            long settle = System.currentTimeMillis() + 1000;
            while (System.currentTimeMillis() < settle) {
                output.poll();
            }
            b.close();
            a2.close();
            report.put("updates", output.updates);
        }
        return report;
    }

    /**
     * One word-count instance that runs until its stdin closes (or it is killed): prints
     * {"state":"RUNNING",...} once it owns all four tasks, then {"state":"CLOSED",...} after a clean close.
     * The caller feeds the input and reads the output itself.
     */
    static Object runUntilStdinCloses(String bootstrap, String[] args) throws Exception {
        String appId = args[0];
        String in = args[1];
        String out = args[2];
        Path stateDir = Path.of(args[3]);
        try (Admin admin = Main.admin(bootstrap)) {
            for (String topic : List.of(in, out)) {
                if (!admin.listTopics().names().get().contains(topic)) {
                    Main.createTopic(admin, topic, 2);
                }
            }
        }
        Instance instance = new Instance("run", bootstrap, appId, in, out, stateDir);
        instance.start();
        awaitRunning(List.of(instance), Set.of("0_0", "0_1", "1_0", "1_1"));
        System.out.println(Json.write(map("state", "RUNNING", "tasks", instance.activeTasks(),
                "restored", instance.restored.get())));
        System.out.flush();
        while (System.in.read() != -1) {
            // the caller closes stdin to stop us cleanly
        }
        long updates = instance.updates.get();
        instance.close();
        return map("state", "CLOSED", "updates", updates, "restored", instance.restored.get());
    }
}
