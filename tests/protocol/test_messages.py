"""Project message classes replace the library's in the broker's catalogue only."""

from kafka.protocol.api_header import ResponseClassRegistry
from kafka.protocol.metadata import MetadataResponse as LibraryMetadataResponse

from kafkalite.protocol import codec, messages

METADATA = 3


def test_the_broker_answers_with_the_project_classes():
    assert codec._catalogue.response(METADATA) is messages.MetadataResponse
    for name in messages.__all__:
        cls = getattr(messages, name)
        table = codec._catalogue.requests if cls.is_request() else codec._catalogue.responses
        codec.warm_up(everything=True)
        assert table[cls.API_KEY] is cls, name


def test_kafka_python_clients_keep_their_own_classes():
    """kafka-python parses responses by API key from a process-wide table; ours must not land there."""
    codec.warm_up(everything=True)
    registry = ResponseClassRegistry._response_class_registry
    for name in messages.__all__:
        cls = getattr(messages, name)
        if not cls.is_request() and cls.API_KEY in registry:
            assert registry[cls.API_KEY] != cls, name  # the table holds weak proxies: == compares the classes
    assert registry[METADATA] == LibraryMetadataResponse  # a weak proxy of the library's class


def test_authorized_operations_are_plain_int32():
    body = {"throttle_time_ms": 0, "brokers": [], "cluster_id": "c", "controller_id": 1, "error_code": 0,
            "topics": [], "cluster_authorized_operations": 8096}
    decoded = messages.MetadataResponse.decode(codec.encode_response(METADATA, 8, body), version=8)
    assert decoded.cluster_authorized_operations == 8096
    library = LibraryMetadataResponse.decode(codec.encode_response(METADATA, 8, body), version=8)
    assert library.authorized_operations == {5, 7, 8, 9, 10, 11, 12}
