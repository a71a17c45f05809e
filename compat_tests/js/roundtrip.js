// KafkaJS (an independent JavaScript implementation of the protocol) against kafkalite.
// Usage: node roundtrip.js BOOTSTRAP TOPIC COUNT ; prints one JSON line with what it saw.
// The consumer uses the group protocol (KafkaJS has no manual assignment).
const { Kafka, logLevel, CompressionTypes } = require("kafkajs");

async function main() {
  const [bootstrap, topic, countArg] = process.argv.slice(2);
  const count = Number(countArg);
  const kafka = new Kafka({ clientId: "kafkalite-compat", brokers: [bootstrap], logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  await admin.connect();
  const created = await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });

  const producer = kafka.producer();
  await producer.connect();
  const messages = [];
  for (let i = 0; i < count; i++) messages.push({ key: `k${i}`, value: `v${i}`, partition: i % 2 });
  const sent = await producer.send({ topic, messages, acks: -1, compression: CompressionTypes.GZIP });
  await producer.disconnect();

  const offsets = await admin.fetchTopicOffsets(topic);
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });

  const groupId = `g-${topic}`;
  const consumer = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const consumed = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${consumed.length} messages consumed`)), 30000);
    consumer.run({
      eachMessage: async ({ message }) => {
        consumed.push(message.value.toString());
        if (consumed.length === count) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect(); // commits and leaves the group
  const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
  await admin.disconnect();
  console.log(
    JSON.stringify({ created, sent, offsets, partitions: metadata.topics[0].partitions.length, consumed, committed })
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
