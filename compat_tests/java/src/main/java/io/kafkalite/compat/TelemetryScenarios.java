package io.kafkalite.compat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;

/** KIP-714 client telemetry: a CLIENT_METRICS subscription set with the Admin client, then clients that push. */
final class TelemetryScenarios {
    private TelemetryScenarios() {
    }

    static void register(Map<String, Main.Scenario> all) {
        all.put("telemetry-producer", TelemetryScenarios::producer);
    }

    /**
     * Args: topic, subscription name, metric prefixes, interval.ms, match. Sets the subscription
     * (IncrementalAlterConfigs), describes and lists it, then starts a producer (client.id
     * telemetry-producer) and a consumer of the topic (telemetry-consumer) and prints one JSON line
     * (the subscription and the clients' instance ids); keeps producing and consuming until stdin
     * closes, then closes both (their terminating pushes) and prints what they sent and read.
     */
    static Object producer(String bootstrap, String[] args) throws Exception {
        String topic = args[0];
        ConfigResource resource = new ConfigResource(ConfigResource.Type.CLIENT_METRICS, args[1]);
        Map<String, Object> described = new TreeMap<>();
        List<String> listed = new ArrayList<>();
        try (Admin admin = Main.admin(bootstrap)) {
            Main.createTopic(admin, topic, 1);
            List<AlterConfigOp> ops = List.of(
                    new AlterConfigOp(new ConfigEntry("metrics", args[2]), AlterConfigOp.OpType.SET),
                    new AlterConfigOp(new ConfigEntry("interval.ms", args[3]), AlterConfigOp.OpType.SET),
                    new AlterConfigOp(new ConfigEntry("match", args[4]), AlterConfigOp.OpType.SET));
            admin.incrementalAlterConfigs(Map.of(resource, ops)).all().get();
            Config config = admin.describeConfigs(List.of(resource)).all().get().get(resource);
            for (ConfigEntry entry : config.entries()) {
                described.put(entry.name(), Main.map("value", entry.value(), "source", entry.source().name()));
            }
            for (ConfigResource r : admin.listConfigResources(Set.of(ConfigResource.Type.CLIENT_METRICS),
                    new org.apache.kafka.clients.admin.ListConfigResourcesOptions()).all().get()) {
                listed.add(r.name());
            }
        }
        int sent = 0;
        int consumed = 0;
        try (KafkaProducer<String, String> p = Main.producer(bootstrap, "client.id", "telemetry-producer");
             KafkaConsumer<String, String> c = Main.consumer(bootstrap, "client.id", "telemetry-consumer",
                     "group.id", topic + "-group")) {
            p.send(new ProducerRecord<>(topic, "k", "v")).get();
            sent++;
            c.subscribe(List.of(topic));
            consumed += c.poll(Duration.ofMillis(200)).count();
            String instance = String.valueOf(p.clientInstanceId(Duration.ofSeconds(10)));
            String consumerInstance = String.valueOf(c.clientInstanceId(Duration.ofSeconds(10)));
            System.out.println(Json.write(Main.map("described", described, "listed", listed, "instance_id", instance,
                    "consumer_instance_id", consumerInstance)));
            System.out.flush();
            AtomicBoolean stop = new AtomicBoolean();
            Thread reader = new Thread(() -> {
                try {
                    while (System.in.read() != -1) {
                        // drain until the test closes stdin
                    }
                } catch (java.io.IOException e) {
                    // closed
                }
                stop.set(true);
            });
            reader.setDaemon(true);
            reader.start();
            while (!stop.get()) {
                p.send(new ProducerRecord<>(topic, "k", "v" + sent)).get();
                sent++;
                consumed += c.poll(Duration.ofMillis(50)).count();
            }
        }
        return Main.map("sent", sent, "consumed", consumed);
    }
}
