// KafkaJS over the security matrix of compat_tests/test_security_clients.py, every case in one process.
// Usage: node security_matrix.js CASES.json ; prints one JSON line: case id -> {values} or {error, type}.
// An "ok" case produces COUNT values "js/<id>/<i>" to partition 0 and reads them back with a group
// consumer (KafkaJS has no manual assignment); any other case connects an admin client and reports
// the error KafkaJS raises ("authz" cases produce one record as a principal without ACLs).
const fs = require("fs");
const { Kafka, logLevel } = require("kafkajs");

function client(c) {
  const config = {
    clientId: "kafkalite-security",
    brokers: [c.bootstrap],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5000,
    authenticationTimeout: 10000,
    retry: { retries: 1, initialRetryTime: 200 },
  };
  if (c.protocol === "SSL" || c.protocol === "SASL_SSL") {
    config.ssl = { ca: [fs.readFileSync(c.ca)] };
    if (c.cert) {
      config.ssl.cert = fs.readFileSync(c.cert);
      config.ssl.key = fs.readFileSync(c.key);
    }
  }
  if (c.mechanism === "OAUTHBEARER") {
    config.sasl = { mechanism: "oauthbearer", oauthBearerProvider: async () => ({ value: c.token }) };
  } else if (c.mechanism) {
    config.sasl = { mechanism: c.mechanism.toLowerCase(), username: c.user, password: c.password };
  }
  return new Kafka(config);
}

async function roundTrip(c) {
  const kafka = client(c);
  const producer = kafka.producer();
  await producer.connect();
  const messages = [];
  for (let i = 0; i < c.count; i++) messages.push({ value: `js/${c.id}/${i}`, partition: 0 });
  await producer.send({ topic: c.topic, messages, acks: -1 });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: `g-${c.topic}`, sessionTimeout: 6000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic: c.topic, fromBeginning: true });
  const values = [];
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${values.length} messages consumed`)), 30000);
      consumer.run({
        eachMessage: async ({ message }) => {
          values.push(message.value.toString());
          if (values.length === c.count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return { values };
}

async function produceOne(c) {
  const producer = client(c).producer();
  await producer.connect();
  try {
    await producer.send({ topic: c.topic, messages: [{ value: `js/${c.id}`, partition: 0 }], acks: -1 });
    return { sent: true };
  } finally {
    await producer.disconnect();
  }
}

async function attempt(c) {
  const admin = client(c).admin();
  try {
    await admin.connect();
    await admin.describeCluster();
    return { connected: true };
  } finally {
    await admin.disconnect();
  }
}

async function main() {
  const cases = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const out = {};
  for (const c of cases) {
    try {
      if (c.expect === "ok") out[c.id] = await roundTrip(c);
      else if (c.expect === "authz") out[c.id] = await produceOne(c);
      else out[c.id] = await attempt(c);
    } catch (err) {
      out[c.id] = { error: String(err.message), type: err.name, code: err.type || null };
    }
  }
  console.log(JSON.stringify(out));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
