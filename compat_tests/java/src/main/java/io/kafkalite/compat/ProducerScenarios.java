package io.kafkalite.compat;

import static io.kafkalite.compat.Main.map;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;

/** Producer scenarios: acks, codecs, idempotence, transactions, headers, size limits. */
final class ProducerScenarios {
    private ProducerScenarios() {
    }

    static void register(Map<String, Main.Scenario> all) {
        all.put("produce-acks", ProducerScenarios::acks);
        all.put("produce-codecs", ProducerScenarios::codecs);
        all.put("idempotence", ProducerScenarios::idempotence);
        all.put("transactions", ProducerScenarios::transactions);
        all.put("headers", ProducerScenarios::headers);
        all.put("too-large", ProducerScenarios::tooLarge);
        all.put("client-instance-id", ProducerScenarios::clientInstanceId);
        all.put("produce-sequence", ProducerScenarios::produceSequence);
        all.put("txn-fencing", ProducerScenarios::txnFencing);
        all.put("acks0-error", ProducerScenarios::acksZeroError);
    }

    /** Ten records with each of acks=0, 1 and all; the offsets acked and what a consumer then reads. */
    static Object acks(String bootstrap, String[] args) throws Exception {
        String topic = args[0];
        Map<String, Object> perAcks = new LinkedHashMap<>();
        for (String acks : List.of("0", "1", "all")) {
            List<Long> acked = new ArrayList<>();
            try (KafkaProducer<String, String> p = Main.producer(bootstrap, "acks", acks)) {
                List<Future<RecordMetadata>> futures = new ArrayList<>();
                for (int i = 0; i < 10; i++) {
                    futures.add(p.send(new ProducerRecord<>(topic, "acks-" + acks, acks + "-" + i)));
                }
                p.flush();
                for (Future<RecordMetadata> f : futures) {
                    acked.add(f.get().offset());
                }
            }
            perAcks.put(acks, acked);
        }
        List<String> consumed;
        try (KafkaConsumer<String, String> c = Main.consumer(bootstrap)) {
            c.assign(List.of(new TopicPartition(topic, 0)));
            consumed = Main.values(Main.pollAtLeast(c, 30, Duration.ofSeconds(15)));
        }
        return map("acked_offsets", perAcks, "consumed", consumed);
    }

    /** 200 compressible records per codec, each in few batches; what a consumer reads back. */
    static Object codecs(String bootstrap, String[] args) throws Exception {
        String topic = args[0];
        Map<String, Object> result = new LinkedHashMap<>();
        for (String codec : List.of("none", "gzip", "snappy", "lz4", "zstd")) {
            String t = topic + "-" + codec;
            List<String> sent = new ArrayList<>();
            try (KafkaProducer<String, String> p = Main.producer(bootstrap, "compression.type", codec,
                    "linger.ms", 20, "batch.size", 65536)) {
                for (int i = 0; i < 200; i++) {
                    String v = codec + " value " + i + " " + "abcdefgh".repeat(20);
                    sent.add(v);
                    p.send(new ProducerRecord<>(t, "k" + i, v));
                }
                p.flush();
            }
            try (KafkaConsumer<String, String> c = Main.consumer(bootstrap)) {
                c.assign(List.of(new TopicPartition(t, 0)));
                List<ConsumerRecord<String, String>> got = Main.pollAtLeast(c, 200, Duration.ofSeconds(15));
                result.put(codec, map("sent", sent.size(), "consumed", got.size(),
                        "equal", Main.values(got).equals(sent),
                        "offsets_contiguous", Main.offsets(got).equals(range(0, got.size()))));
            }
        }
        return result;
    }

    static List<Long> range(long from, long to) {
        List<Long> out = new ArrayList<>();
        for (long i = from; i < to; i++) {
            out.add(i);
        }
        return out;
    }

    /** The default producer is idempotent: the broker tracks its producer id and sequence numbers. */
    static Object idempotence(String bootstrap, String[] args) throws Exception {
        String topic = args[0];
        List<Long> offsets = new ArrayList<>();
        try (KafkaProducer<String, String> p = Main.producer(bootstrap, "max.in.flight.requests.per.connection", 5,
                "linger.ms", 5, "batch.size", 1024)) {
            List<Future<RecordMetadata>> futures = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                futures.add(p.send(new ProducerRecord<>(topic, 0, "k", "value-" + i)));
            }
            p.flush();
            for (Future<RecordMetadata> f : futures) {
                offsets.add(f.get().offset());
            }
        }
        List<Object> producers = new ArrayList<>();
        try (Admin admin = Main.admin(bootstrap)) {
            TopicPartition tp = new TopicPartition(topic, 0);
            for (ProducerState s : admin.describeProducers(List.of(tp)).partitionResult(tp).get().activeProducers()) {
                producers.add(map("producer_id", s.producerId(), "epoch", s.producerEpoch(),
                        "last_sequence", s.lastSequence(),
                        "txn_start_offset", s.currentTransactionStartOffset().orElse(-1L)));
            }
        }
        return map("offsets", offsets, "producers", producers);
    }

    /**
     * Consume-transform-produce: upper-cases {@code in} into {@code out} in transactions that also
     * commit the group's offsets (sendOffsetsToTransaction); then one transaction is aborted.
     */
    static Object transactions(String bootstrap, String[] args) throws Exception {
        String in = args[0];
        String out = args[1];
        String group = args[2];
        int n = 20;
        try (Admin admin = Main.admin(bootstrap)) {
            Main.createTopic(admin, in, 1);
            Main.createTopic(admin, out, 1);
        }
        try (KafkaProducer<String, String> p = Main.producer(bootstrap)) {
            for (int i = 0; i < n; i++) {
                p.send(new ProducerRecord<>(in, "k" + i, "word-" + i));
            }
            p.flush();
        }
        int transactions = 0;
        int transformed = 0;
        try (KafkaConsumer<String, String> c = Main.consumer(bootstrap, "group.id", group,
                "isolation.level", "read_committed", "max.poll.records", 7);
             KafkaProducer<String, String> p = Main.producer(bootstrap, "transactional.id", "ctp-" + group)) {
            p.initTransactions();
            c.subscribe(List.of(in));
            long deadline = System.currentTimeMillis() + 30000;
            while (transformed < n && System.currentTimeMillis() < deadline) {
                ConsumerRecords<String, String> records = c.poll(Main.POLL);
                if (records.isEmpty()) {
                    continue;
                }
                p.beginTransaction();
                Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                for (ConsumerRecord<String, String> r : records) {
                    p.send(new ProducerRecord<>(out, r.key(), r.value().toUpperCase()));
                    offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
                    transformed++;
                }
                p.sendOffsetsToTransaction(offsets, c.groupMetadata());
                p.commitTransaction();
                transactions++;
            }
            p.beginTransaction();
            for (int i = 0; i < 3; i++) {
                p.send(new ProducerRecord<>(out, "aborted", "ABORTED-" + i));
            }
            p.flush();
            p.abortTransaction();
        }
        Map<String, Object> result = map("transactions", transactions, "transformed", transformed);
        for (String isolation : List.of("read_committed", "read_uncommitted")) {
            try (KafkaConsumer<String, String> c = Main.consumer(bootstrap, "isolation.level", isolation)) {
                TopicPartition tp = new TopicPartition(out, 0);
                c.assign(List.of(tp));
                int expect = isolation.equals("read_committed") ? n : n + 3;
                result.put(isolation, Main.values(Main.pollAtLeast(c, expect, Duration.ofSeconds(10))));
                // Settle: anything beyond the expectation would show up within a few more polls.
                result.put(isolation + "_extra", Main.values(Main.pollAtLeast(c, 1, Duration.ofMillis(500))));
            }
        }
        try (Admin admin = Main.admin(bootstrap)) {
            OffsetAndMetadata committed = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get()
                    .get(new TopicPartition(in, 0));
            result.put("committed_offset", committed == null ? null : committed.offset());
        }
        return result;
    }

    /** Headers survive the round trip: order, repeated keys and null values. */
    static Object headers(String bootstrap, String[] args) throws Exception {
        String topic = args[0];
        RecordHeaders headers = new RecordHeaders();
        headers.add("trace-id", "abc-123".getBytes(StandardCharsets.UTF_8));
        headers.add("repeat", "one".getBytes(StandardCharsets.UTF_8));
        headers.add("repeat", "two".getBytes(StandardCharsets.UTF_8));
        headers.add("empty", new byte[0]);
        headers.add("null", null);
        try (KafkaProducer<String, String> p = Main.producer(bootstrap)) {
            p.send(new ProducerRecord<>(topic, 0, "key", "with headers", headers)).get();
            p.send(new ProducerRecord<>(topic, 0, "key", "without headers")).get();
        }
        List<Object> out = new ArrayList<>();
        try (KafkaConsumer<String, String> c = Main.consumer(bootstrap)) {
            c.assign(List.of(new TopicPartition(topic, 0)));
            for (ConsumerRecord<String, String> r : Main.pollAtLeast(c, 2, Duration.ofSeconds(10))) {
                List<Object> hs = new ArrayList<>();
                for (Header h : r.headers()) {
                    hs.add(List.of(h.key(), h.value() == null ? "<null>" : new String(h.value(), StandardCharsets.UTF_8)));
                }
                out.add(map("value", r.value(), "headers", hs));
            }
        }
        return map("records", out);
    }

    /**
     * Records past the broker's message.max.bytes fail with RecordTooLargeException from the broker
     * (the producer's own max.request.size is raised so the check is the broker's), and one just
     * under the limit is accepted.
     */
    static Object tooLarge(String bootstrap, String[] args) throws Exception {
        String topic = args[0];
        Map<String, Object> result = new LinkedHashMap<>();
        try (KafkaProducer<String, String> p = Main.producer(bootstrap, "max.request.size", 4 * 1024 * 1024,
                "batch.size", 16384, "compression.type", "none")) {
            for (int size : List.of(900_000, 2 * 1024 * 1024)) {
                String label = String.valueOf(size);
                try {
                    RecordMetadata md = p.send(new ProducerRecord<>(topic, 0, "big", "x".repeat(size))).get();
                    result.put(label, map("offset", md.offset()));
                } catch (Exception e) {
                    result.put(label, map("error", Main.errorName(e)));
                }
            }
        }
        // A consumer whose fetch limits are far below the record still gets it (KIP-74).
        try (KafkaConsumer<String, String> c = Main.consumer(bootstrap, "max.partition.fetch.bytes", 1024,
                "fetch.max.bytes", 1024)) {
            c.assign(List.of(new TopicPartition(topic, 0)));
            List<Integer> sizes = new ArrayList<>();
            for (ConsumerRecord<String, String> r : Main.pollAtLeast(c, 1, Duration.ofSeconds(10))) {
                sizes.add(r.value().length());
            }
            result.put("small_fetch_sizes", sizes);
        }
        try (KafkaProducer<String, String> p = Main.producer(bootstrap)) {
            try {
                p.send(new ProducerRecord<>(topic, 0, "big", "x".repeat(2 * 1024 * 1024))).get();
                result.put("client_side", map("error", null));
            } catch (Exception e) {
                result.put("client_side", map("error", Main.errorName(e)));
            }
        }
        return result;
    }

    /**
     * KIP-714: a client's instance id comes from GetTelemetrySubscriptions, which it only sends to
     * brokers that advertise it; the outcome of asking for it tells what the broker advertised.
     */
    static Object clientInstanceId(String bootstrap, String[] args) throws Exception {
        String topic = args[0];
        try (KafkaProducer<String, String> p = Main.producer(bootstrap)) {
            p.send(new ProducerRecord<>(topic, "k", "v")).get();
            try {
                return map("instance_id", String.valueOf(p.clientInstanceId(Duration.ofSeconds(3))));
            } catch (Exception e) {
                return map("error", Main.errorName(e), "message", e.getMessage());
            }
        }
    }

    /**
     * {@code n} records "0".."n-1" to partition 0 in small batches with five in flight (behind a proxy
     * that loses Produce responses, so batches are retried); then what a consumer reads back.
     */
    static Object produceSequence(String bootstrap, String[] args) throws Exception {
        String topic = args[0];
        int n = Integer.parseInt(args[1]);
        List<String> errors = new ArrayList<>();
        try (KafkaProducer<String, String> p = Main.producer(bootstrap, "linger.ms", 2, "batch.size", 512,
                "max.in.flight.requests.per.connection", 5, "delivery.timeout.ms", 120000,
                "request.timeout.ms", 10000, "retry.backoff.ms", 20)) {
            for (int i = 0; i < n; i++) {
                p.send(new ProducerRecord<>(topic, 0, null, String.valueOf(i)), (md, e) -> {
                    if (e != null) {
                        synchronized (errors) {
                            errors.add(e.getClass().getSimpleName());
                        }
                    }
                });
            }
            p.flush();
        }
        try (KafkaConsumer<String, String> c = Main.consumer(bootstrap, "max.poll.records", 5000)) {
            c.assign(List.of(new TopicPartition(topic, 0)));
            List<String> got = Main.values(Main.pollAtLeast(c, n, Duration.ofSeconds(30)));
            got.addAll(Main.values(Main.pollAtLeast(c, 1, Duration.ofMillis(300))));
            List<String> expected = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                expected.add(String.valueOf(i));
            }
            return map("errors", errors, "consumed", got.size(), "in_order_exactly_once", got.equals(expected),
                    "distinct", new java.util.HashSet<>(got).size());
        }
    }

    /**
     * A second producer with the same transactional.id fences the first (whose open transaction is
     * aborted); and a transaction left open past transaction.timeout.ms is aborted by the coordinator.
     */
    static Object txnFencing(String bootstrap, String[] args) throws Exception {
        String topic = args[0];
        Map<String, Object> result = new LinkedHashMap<>();
        try (Admin admin = Main.admin(bootstrap)) {
            Main.createTopic(admin, topic, 1);
        }
        KafkaProducer<String, String> zombie = Main.producer(bootstrap, "transactional.id", "fence-" + topic);
        zombie.initTransactions();
        zombie.beginTransaction();
        zombie.send(new ProducerRecord<>(topic, 0, "k", "zombie")).get();
        try (KafkaProducer<String, String> p = Main.producer(bootstrap, "transactional.id", "fence-" + topic)) {
            p.initTransactions();
            p.beginTransaction();
            p.send(new ProducerRecord<>(topic, 0, "k", "successor")).get();
            p.commitTransaction();
        }
        try {
            zombie.send(new ProducerRecord<>(topic, 0, "k", "zombie-2")).get();
            zombie.commitTransaction();
            result.put("zombie", map("error", null));
        } catch (Exception e) {
            result.put("zombie", map("error", Main.errorName(e)));
        }
        zombie.close(Duration.ofSeconds(5));

        try (KafkaProducer<String, String> p = Main.producer(bootstrap, "transactional.id", "timeout-" + topic,
                "transaction.timeout.ms", 1000)) {
            p.initTransactions();
            p.beginTransaction();
            p.send(new ProducerRecord<>(topic, 0, "k", "timed-out")).get();
            // kafkalite aborts once the timeout passed; Kafka checks every 10 s (a second argument waits longer)
            Thread.sleep(args.length > 1 ? Long.parseLong(args[1]) : 4000);
            try {
                p.commitTransaction();
                result.put("timed_out_commit", map("error", null));
            } catch (Exception e) {
                result.put("timed_out_commit", map("error", Main.errorName(e)));
            }
        }
        try (KafkaConsumer<String, String> c = Main.consumer(bootstrap, "isolation.level", "read_committed")) {
            TopicPartition tp = new TopicPartition(topic, 0);
            c.assign(List.of(tp));
            List<ConsumerRecord<String, String>> got = Main.pollAtLeast(c, 1, Duration.ofSeconds(10));
            got.addAll(Main.pollAtLeast(c, 5, Duration.ofMillis(1000)));
            result.put("committed_values", Main.values(got));
            result.put("end_offset", c.endOffsets(List.of(tp)).get(tp));
        }
        return result;
    }

    /**
     * acks=0 gets no response, so a broker that fails such a request closes the connection instead
     * (the client's only signal, to refresh metadata): counted by the producer's connection metrics.
     */
    static Object acksZeroError(String bootstrap, String[] args) throws Exception {
        String topic = args[0];
        try (Admin admin = Main.admin(bootstrap)) {
            Main.createTopic(admin, topic, 1);
        }
        Map<String, Object> result = new LinkedHashMap<>();
        try (KafkaProducer<String, String> p = Main.producer(bootstrap, "acks", "0",
                "max.request.size", 4 * 1024 * 1024, "compression.type", "none")) {
            p.send(new ProducerRecord<>(topic, 0, "k", "small")).get();
            p.flush();
            result.put("closes_before", connectionCloses(p));
            p.send(new ProducerRecord<>(topic, 0, "k", "x".repeat(2 * 1024 * 1024))).get();
            p.flush();
            long deadline = System.currentTimeMillis() + 3000;
            while (connectionCloses(p) == 0 && System.currentTimeMillis() < deadline) {
                Thread.sleep(20);
            }
            result.put("closes_after", connectionCloses(p));
            p.send(new ProducerRecord<>(topic, 0, "k", "after")).get();
            p.flush();
        }
        try (KafkaConsumer<String, String> c = Main.consumer(bootstrap)) {
            c.assign(List.of(new TopicPartition(topic, 0)));
            result.put("consumed", Main.values(Main.pollAtLeast(c, 2, Duration.ofSeconds(10))));
        }
        return result;
    }

    static double connectionCloses(KafkaProducer<String, String> p) {
        double total = 0;
        for (Map.Entry<org.apache.kafka.common.MetricName, ? extends org.apache.kafka.common.Metric> e
                : p.metrics().entrySet()) {
            if (e.getKey().name().equals("connection-close-total") && e.getKey().group().equals("producer-metrics")) {
                total += ((Number) e.getValue().metricValue()).doubleValue();
            }
        }
        return total;
    }
}
