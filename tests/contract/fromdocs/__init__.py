"""An independent reading of Jifentong's chain, written from docs/ alone (issue #20).

Nothing here imports `ledger`, `exchange` or `api`: only the standard library and
pyca/cryptography. It checks a data dir's store the way PROTOCOL.md and STATE.md describe it,
so a test can tell when the docs and the product part ways.
"""
