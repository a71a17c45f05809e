package io.kafkalite.compat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Runs one client scenario against a broker and prints its observations as one JSON object on stdout.
 *
 * <p>Usage: {@code Main <scenario> <bootstrap> [args...]}. The scenarios only observe; the pytest side
 * (compat_tests/test_java_client.py, test_kafka_streams.py) decides what is right, so the same scenario
 * can run against kafkalite and against Apache Kafka for comparison. A failure exits 1 with the
 * exception on stderr.
 */
public final class Main {
    /** One scenario: the bootstrap address and its own arguments in, a JSON-able result out. */
    interface Scenario {
        Object run(String bootstrap, String[] args) throws Exception;
    }

    static final Duration POLL = Duration.ofMillis(100);

    private Main() {
    }

    static Map<String, Scenario> scenarios() {
        Map<String, Scenario> all = new TreeMap<>();
        ProducerScenarios.register(all);
        ConsumerScenarios.register(all);
        AdminScenarios.register(all);
        StreamsScenarios.register(all);
        SecurityScenarios.register(all);
        ResilienceScenarios.register(all);
        TelemetryScenarios.register(all);
        return all;
    }

    public static void main(String[] argv) {
        Map<String, Scenario> all = scenarios();
        if (argv.length < 2 || !all.containsKey(argv[0])) {
            System.err.println("usage: Main <scenario> <bootstrap> [args...]; scenarios: " + all.keySet());
            System.exit(2);
        }
        try {
            Object result = all.get(argv[0]).run(argv[1], Arrays.copyOfRange(argv, 2, argv.length));
            System.out.println(Json.write(result));
            System.out.flush();
            System.exit(0);
        } catch (Throwable e) {
            e.printStackTrace();
            System.exit(1);
        }
    }

    // ---- helpers shared by the scenarios ----

    static Map<String, Object> map(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    static Properties props(String bootstrap, Object... kv) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        for (int i = 0; i < kv.length; i += 2) {
            p.put(kv[i], String.valueOf(kv[i + 1]));
        }
        return p;
    }

    static KafkaProducer<String, String> producer(String bootstrap, Object... kv) {
        Properties p = props(bootstrap, kv);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.putIfAbsent(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "30000");
        p.putIfAbsent(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
        return new KafkaProducer<>(p);
    }

    static KafkaConsumer<String, String> consumer(String bootstrap, Object... kv) {
        Properties p = props(bootstrap, kv);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.putIfAbsent(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.putIfAbsent(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.putIfAbsent(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "6000");
        p.putIfAbsent(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "500");
        p.putIfAbsent(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "20000");
        return new KafkaConsumer<>(p);
    }

    static Admin admin(String bootstrap) {
        return Admin.create(props(bootstrap, AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 20000,
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 15000));
    }

    static void createTopic(Admin admin, String name, int partitions) throws Exception {
        admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1))).all().get();
    }

    /** Polls until {@code count} records arrived or the deadline passed; returns what arrived. */
    static List<ConsumerRecord<String, String>> pollAtLeast(KafkaConsumer<String, String> consumer, int count,
                                                            Duration timeout) {
        List<ConsumerRecord<String, String>> out = new ArrayList<>();
        long deadline = System.currentTimeMillis() + timeout.toMillis();
        while (out.size() < count && System.currentTimeMillis() < deadline) {
            for (ConsumerRecord<String, String> r : consumer.poll(POLL)) {
                out.add(r);
            }
        }
        return out;
    }

    /** Waits until {@code check} holds, or fails after {@code timeout}. */
    static void await(String what, Duration timeout, BooleanSupplier check) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeout.toMillis();
        while (!check.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    static List<String> values(List<ConsumerRecord<String, String>> records) {
        List<String> out = new ArrayList<>();
        for (ConsumerRecord<String, String> r : records) {
            out.add(r.value());
        }
        return out;
    }

    static List<Long> offsets(List<ConsumerRecord<String, String>> records) {
        List<Long> out = new ArrayList<>();
        for (ConsumerRecord<String, String> r : records) {
            out.add(r.offset());
        }
        return out;
    }

    /** The exception's class, unwrapping ExecutionException and friends to the Kafka cause. */
    static String errorName(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && (t instanceof java.util.concurrent.ExecutionException
                || t instanceof java.util.concurrent.CompletionException
                || t.getClass().getName().startsWith("org.apache.kafka.common.KafkaException"))) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName();
    }
}
