from kafka import KafkaConsumer, TopicPartition
tp = TopicPartition("py_test", 0)
consumer = KafkaConsumer(bootstrap_servers=["localhost:9092"], group_id="test_1",
                         auto_offset_reset="earliest", enable_auto_commit=False)
consumer.assign([tp])
print("starting offset is", consumer.position(tp))
for message in consumer:
    print(message.value)
