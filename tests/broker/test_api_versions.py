"""ApiVersions advertises exactly the registry, and the codec can speak every advertised version."""

from kafka.protocol.metadata import ApiVersionsResponse

from kafkalite.broker.handlers import APIS
from kafkalite.broker.handlers.api_versions import API_VERSIONS_KEY, api_versions_body
from kafkalite.protocol import codec


def test_advertised_ranges_are_the_registry():
    body = api_versions_body()
    decoded = ApiVersionsResponse.decode(codec.encode_response(API_VERSIONS_KEY, 3, body), version=3)
    advertised = {k.api_key: (k.min_version, k.max_version) for k in decoded.api_keys}
    assert advertised == {s.key: (s.min_version, s.max_version) for s in APIS.values() if s.advertised}
    assert [k.api_key for k in decoded.api_keys] == sorted(advertised)


def test_every_advertised_version_has_a_schema():
    """The broker's request and response classes declare every version the registry serves."""
    codec.warm_up(everything=True)
    for spec in APIS.values():
        for cls in (codec._catalogue.request(spec.key), codec._catalogue.response(spec.key)):
            first, last = cls.valid_versions
            assert first <= spec.min_version and spec.max_version <= last, (spec.name, cls.valid_versions)
