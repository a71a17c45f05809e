"""Kafka record batch format (magic v2): header views, validation, offset patching, codecs.

Shared by ``storage`` (recovery, indexes) and ``broker`` (produce validation); it imports
neither. Hot paths only look at the 61-byte batch header, never at individual records.
"""
