"""Ed25519 keys and signature checking, in process and in worker processes."""
