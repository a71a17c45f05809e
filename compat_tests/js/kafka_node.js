// kafka-node 5 (an old but still widely installed client) against kafkalite.
// Usage: node kafka_node.js BOOTSTRAP TOPIC COUNT ; prints one JSON line with what it saw.
// kafka-node creates topics with CreateTopics v1, which Kafka 4 removed (KIP-896): Kafka 4
// closes the connection, kafkalite answers. Then it produces COUNT messages over two
// partitions and consumes them back in a consumer group, committing the offsets.
const kafka = require("kafka-node");

function promised(fn) {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
}

async function main() {
  const [bootstrap, topic, countArg] = process.argv.slice(2);
  const count = Number(countArg);
  const client = new kafka.KafkaClient({ kafkaHost: bootstrap, requestTimeout: 10000, connectTimeout: 10000 });
  await new Promise((resolve, reject) => {
    client.once("ready", resolve);
    client.once("error", reject);
  });
  const created = await promised((cb) =>
    client.createTopics([{ topic, partitions: 2, replicationFactor: 1 }], cb),
  );

  const producer = new kafka.Producer(client, { requireAcks: -1, partitionerType: 3 });
  await new Promise((resolve, reject) => {
    if (producer.ready) resolve();
    producer.once("ready", resolve);
    producer.once("error", reject);
  });
  await promised((cb) => client.refreshMetadata([topic], cb));
  const payloads = [0, 1].map((partition) => ({
    topic,
    partition,
    messages: Array.from({ length: count }, (_, i) => i)
      .filter((i) => i % 2 === partition)
      .map((i) => new kafka.KeyedMessage(`k${i}`, `v${i}`)),
  }));
  const sent = await promised((cb) => producer.send(payloads, cb));
  await promised((cb) => producer.close(cb));

  const consumed = [];
  const consumer = new kafka.ConsumerGroup(
    {
      kafkaHost: bootstrap,
      groupId: `g-${topic}`,
      fromOffset: "earliest",
      autoCommit: false,
      sessionTimeout: 10000,
      protocol: ["roundrobin"],
      requestTimeout: 10000,
    },
    [topic],
  );
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${consumed.length} messages consumed`)), 30000);
    consumer.on("error", reject);
    consumer.on("message", (message) => {
      consumed.push(message.value);
      if (consumed.length === count) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  await promised((cb) => consumer.commit(true, cb));
  const offset = new kafka.Offset(new kafka.KafkaClient({ kafkaHost: bootstrap }));
  const committed = await promised((cb) =>
    offset.fetchCommitsV1(`g-${topic}`, [{ topic, partition: 0 }, { topic, partition: 1 }], cb),
  );
  await promised((cb) => consumer.close(cb));
  offset.client.close();
  client.close();
  console.log(JSON.stringify({ created, sent, consumed, committed }));
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
