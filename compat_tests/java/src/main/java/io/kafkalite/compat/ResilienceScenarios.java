package io.kafkalite.compat;

import static io.kafkalite.compat.Main.map;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.LogTruncationException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;

/**
 * Long-running workers for the cluster resilience tests (compat_tests/test_cluster_clients.py): each
 * prints JSON lines as it goes and finishes cleanly when its stdin closes, the final result being
 * Main's one JSON object (with {@code "done": true}). The line protocol is the one of
 * compat_tests/resilience_worker.py, so the pytest side drives every client through the same faults.
 */
final class ResilienceScenarios {
    /** Every this many acks a progress line is printed. */
    static final int ACK_STEP = 20;
    /** At most this many records unacknowledged: a steady, bounded rate. */
    static final int MAX_IN_FLIGHT = 40;

    private ResilienceScenarios() {
    }

    static void register(Map<String, Main.Scenario> all) {
        all.put("resilient-produce", ResilienceScenarios::produce);
        all.put("resilient-group", ResilienceScenarios::group);
        all.put("resilient-txn", ResilienceScenarios::txn);
        all.put("resilient-consume", ResilienceScenarios::consume);
    }

    static synchronized void emit(Object... kv) {
        System.out.println(Json.write(map(kv)));
        System.out.flush();
    }

    /** Counts down when the driver closes stdin. */
    static CountDownLatch stdinClosed() {
        CountDownLatch closed = new CountDownLatch(1);
        Thread t = new Thread(() -> {
            try {
                while (System.in.read() != -1) {
                    // the driver only ever closes it
                }
            } catch (IOException e) {
                // closed all the same
            }
            closed.countDown();
        }, "stdin-watch");
        t.setDaemon(true);
        t.start();
        return closed;
    }

    static boolean stopped(CountDownLatch stop) {
        return stop.getCount() == 0;
    }

    /** Idempotent acks=all producer: record i (value "i") to partition i % partitions. */
    static Object produce(String bootstrap, String[] args) throws Exception {
        String topic = args[0];
        int partitions = Integer.parseInt(args[1]);
        CountDownLatch stop = stdinClosed();
        AtomicInteger acked = new AtomicInteger();
        List<String> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        Semaphore window = new Semaphore(MAX_IN_FLIGHT);
        int sent = 0;
        try (KafkaProducer<String, String> p = Main.producer(bootstrap, "enable.idempotence", true, "acks", "all",
                "linger.ms", 5, "delivery.timeout.ms", 60000, "request.timeout.ms", 10000,
                "retry.backoff.ms", 50)) {
            while (!stopped(stop)) {
                window.acquire();
                p.send(new ProducerRecord<>(topic, sent % partitions, null, String.valueOf(sent)), (md, e) -> {
                    window.release();
                    if (e != null) {
                        errors.add(e.getClass().getSimpleName() + ": " + e.getMessage());
                        emit("error", e.getClass().getSimpleName());
                    } else if (acked.incrementAndGet() % ACK_STEP == 0) {
                        emit("acked", acked.get());
                    }
                });
                sent++;
                Thread.sleep(2);
            }
            p.flush();
        }
        return map("done", true, "sent", sent, "acked", acked.get(), "errors", errors);
    }

    /** A subscribed consumer committing synchronously after each batch. */
    static Object group(String bootstrap, String[] args) throws Exception {
        String topic = args[0];
        String group = args[1];
        CountDownLatch stop = stdinClosed();
        List<String> errors = new ArrayList<>();
        try (KafkaConsumer<String, String> c = Main.consumer(bootstrap, "group.id", group,
                "session.timeout.ms", 3000, "heartbeat.interval.ms", 500, "max.poll.records", 100)) {
            c.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    TreeSet<Integer> now = new TreeSet<>();
                    for (TopicPartition tp : c.assignment()) {
                        now.add(tp.partition());
                    }
                    emit("assigned", new ArrayList<>(now));
                }
            });
            while (!stopped(stop)) {
                ConsumerRecords<String, String> batch;
                try {
                    batch = c.poll(Main.POLL);
                } catch (KafkaException e) {
                    errors.add(Main.errorName(e));
                    emit("error", Main.errorName(e), "detail", String.valueOf(e.getMessage()));
                    continue;
                }
                if (batch.isEmpty()) {
                    continue;
                }
                List<Object> records = new ArrayList<>();
                for (ConsumerRecord<String, String> r : batch) {
                    records.add(List.of(r.partition(), r.offset(), r.value()));
                }
                emit("records", records);
                try {
                    c.commitSync();
                } catch (KafkaException e) {  // a rebalance may fence a commit, as on Kafka
                    emit("commit_error", Main.errorName(e));
                }
            }
        }
        return map("done", true, "errors", errors);
    }

    /** Transactions of 5 records ("k-j" to partition j % 2), every 4th aborted. */
    static Object txn(String bootstrap, String[] args) throws Exception {
        String topic = args[0];
        String txnId = args[1];
        CountDownLatch stop = stdinClosed();
        List<String> errors = new ArrayList<>();
        int k = 0;
        try (KafkaProducer<String, String> p = Main.producer(bootstrap, "transactional.id", txnId,
                "transaction.timeout.ms", 60000, "delivery.timeout.ms", 60000, "max.block.ms", 60000)) {
            p.initTransactions();
            while (!stopped(stop)) {
                String outcome = k % 4 == 3 ? "abort" : "commit";
                try {
                    p.beginTransaction();
                    for (int j = 0; j < 5; j++) {
                        p.send(new ProducerRecord<>(topic, j % 2, null, k + "-" + j));
                    }
                    if (outcome.equals("commit")) {
                        p.commitTransaction();
                    } else {
                        p.flush();  // the aborted records reach the log
                        p.abortTransaction();
                    }
                } catch (ProducerFencedException e) {
                    errors.add(Main.errorName(e));
                    emit("error", Main.errorName(e), "txn", k);
                    break;
                } catch (KafkaException e) {
                    errors.add(Main.errorName(e));
                    emit("error", Main.errorName(e), "detail", String.valueOf(e.getMessage()), "txn", k);
                    p.abortTransaction();
                    outcome = "abort";
                }
                emit("txn", k, "outcome", outcome);
                k++;
            }
        }
        return map("done", true, "errors", errors, "transactions", k);
    }

    /** An assigned consumer of partition 0 from offset 0; on an error it reports it and stops polling. */
    static Object consume(String bootstrap, String[] args) throws Exception {
        String topic = args[0];
        String reset = args[1];
        CountDownLatch stop = stdinClosed();
        TopicPartition tp = new TopicPartition(topic, 0);
        List<String> errors = new ArrayList<>();
        Object divergent = null;
        Long position = null;
        try (KafkaConsumer<String, String> c = Main.consumer(bootstrap, "auto.offset.reset", reset)) {
            c.assign(List.of(tp));
            c.seek(tp, 0);
            while (!stopped(stop) && errors.isEmpty()) {
                try {
                    List<Object> records = new ArrayList<>();
                    for (ConsumerRecord<String, String> r : c.poll(Main.POLL)) {
                        records.add(List.of(r.partition(), r.offset(), r.value()));
                    }
                    if (!records.isEmpty()) {
                        emit("records", records);
                    }
                } catch (LogTruncationException e) {
                    errors.add(Main.errorName(e));
                    divergent = e.divergentOffsets().containsKey(tp) ? e.divergentOffsets().get(tp).offset() : null;
                    emit("error", Main.errorName(e), "divergent_offset", divergent);
                } catch (KafkaException e) {
                    errors.add(Main.errorName(e));
                    emit("error", Main.errorName(e), "detail", String.valueOf(e.getMessage()));
                }
            }
            stop.await();
            if (errors.isEmpty()) {
                position = c.position(tp, Duration.ofSeconds(10));
            }
        }
        return map("done", true, "errors", errors, "divergent_offset", divergent, "position", position);
    }
}
