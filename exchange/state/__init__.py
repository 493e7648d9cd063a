"""The exchange state: copy-on-write tables, rows, history, expiry, audit."""
