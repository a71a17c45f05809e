# kafkalite: a Kafka-compatible broker in one small image.
#   docker build -t kafkalite .
#   docker run --rm -p 9092:9092 kafkalite
#   docker run --rm -p 9092-9094:9092-9094 -e KAFKALITE_BROKERS=3 kafkalite   # a simulated 3-broker cluster
# Clients outside the container reach it as localhost:9092 (KAFKALITE_ADVERTISED_HOST);
# set that to the name other containers use (e.g. "kafka" in docker compose) when they are the clients.
# With KAFKALITE_BROKERS=N, node K listens on and advertises port 9092 + K - 1: publish each of them
# on the same port of the host (the ports clients are told are the container's).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The broker runs as an unprivileged user that owns only the data directory.
RUN groupadd --system --gid 10001 kafkalite \
 && useradd --system --uid 10001 --gid kafkalite --home-dir /var/lib/kafkalite --no-create-home \
        --shell /usr/sbin/nologin kafkalite \
 && mkdir -p /var/lib/kafkalite \
 && chown kafkalite:kafkalite /var/lib/kafkalite

# Every dependency ships manylinux wheels (crc32c, lz4, zstandard, cramjam, confluent-kafka),
# so no compiler is needed; the source is removed once installed.
COPY pyproject.toml README.md /tmp/kafkalite-src/
COPY kafkalite /tmp/kafkalite-src/kafkalite
RUN pip install /tmp/kafkalite-src && rm -rf /tmp/kafkalite-src

ENV KAFKALITE_HOST=0.0.0.0 \
    KAFKALITE_PORT=9092 \
    KAFKALITE_BROKERS=1 \
    KAFKALITE_ADVERTISED_HOST=localhost \
    KAFKALITE_DATA_DIR=/var/lib/kafkalite

USER kafkalite
WORKDIR /var/lib/kafkalite
VOLUME ["/var/lib/kafkalite"]
# 9092 is the broker; 9093 and 9094 are nodes 2 and 3 of a cluster (KAFKALITE_BROKERS=3).
EXPOSE 9092-9094

# One ApiVersions round trip on KAFKALITE_PORT (node 1 of a cluster), standard library only.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-m", "kafkalite.healthcheck"]

# kafkalite is PID 1 and shuts down cleanly on the SIGTERM that `docker stop` sends.
STOPSIGNAL SIGTERM
ENTRYPOINT ["kafkalite"]
CMD ["serve"]
