from kafka import KafkaProducer
import time
producer = KafkaProducer(bootstrap_servers="localhost:9092")
i = 1000
while True:
    ts = int(time.time() * 1000)
    producer.send(topic="py_test", value=str(i).encode(), key=str(i).encode(), timestamp_ms=ts)
    producer.flush()
    print(i)
    i += 1
    time.sleep(1)
