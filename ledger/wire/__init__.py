"""Bytes on the wire: canonical JSON, domain-separated hashing, signed records."""
