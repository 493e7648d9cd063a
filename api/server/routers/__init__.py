"""One router per area: records (writes), chain (verifier API), exchange (reads), ops, explorer."""
