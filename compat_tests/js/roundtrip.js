// KafkaJS (an independent JavaScript implementation of the protocol) against kafkalite.
// Usage: node roundtrip.js BOOTSTRAP TOPIC COUNT ; prints one JSON line with what it saw.
// KafkaJS consumers always use the group protocol, so reading is checked through the
// admin client's offsets here; group consumption is covered with the group coordinator.
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
  await admin.disconnect();
  console.log(JSON.stringify({ created, sent, offsets, partitions: metadata.topics[0].partitions.length }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
