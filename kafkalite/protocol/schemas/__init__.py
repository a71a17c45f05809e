"""Kafka message schemas that kafka-python does not ship, in Kafka's own JSON form.

Each ``<Name>Request.json`` / ``<Name>Response.json`` here is read by kafka-python's schema
codec exactly as its bundled ones are (see ``kafkalite/protocol/messages.py``): newer APIs
from Kafka's message specifications, and versions Kafka 4 removed (KIP-896) that kafkalite
still serves for old clients. Where the library's bundled schema still holds a removed
version's fields (Kafka 4 only raised ``validVersions``), ``messages.py`` widens that schema
instead of keeping a copy here.

Files taken from Kafka's ``clients/src/main/resources/common/message/`` (the KIP-848 and KIP-932
APIs, from the 4.4.0 release) keep Kafka's license header and version-history comments: the
loader drops ``//`` comment lines, as it does for the library's own copies.
"""
