"""Ordering through an existing consensus engine (etcd's Raft) for nodes run by separate
members; the BFT commit certificates of ``ledger.chain.certificate`` stay on top."""
