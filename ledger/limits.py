"""Every bound the ledger enforces, named in one place (a limit on everything)."""

from __future__ import annotations

#: Largest integer JSON can carry exactly (RFC 8785 / I-JSON safe range).
json_int_max = 2**53 - 1
#: Size of one record on the wire (canonical body plus signatures), in bytes.
record_bytes_max = 8 * 1024
#: Nesting depth of a record body.
record_depth_max = 8
#: Signers (and so signatures) on one record: enough for a member vote.
record_signers_max = 16
#: Length of the record type string and of any string in a body, in characters.
record_type_chars_max = 64
string_chars_max = 2048
#: Signature worker processes one pool may start.
signature_workers_max = 64
#: Records in one block.
block_records_max = 2000
#: Records waiting in the mempool before submissions are refused with backpressure.
mempool_records_max = 200_000
#: Records in one submitted batch.
batch_records_max = 1000
#: Body of one HTTP request, in bytes (a full batch of maximal records fits).
request_bytes_max = batch_records_max * record_bytes_max + 64 * 1024
#: Rows in one page of any listing.
page_rows_max = 500
#: Bytes of JSON in one page of any listing: a page ends before the row that would pass it
#: (a page always holds at least one row, so one block with its records may exceed it).
page_bytes_max = 2 * 1024 * 1024
#: Validators in one set.
validators_max = 64
#: Blocks served or fetched in one range request (catch-up, chain API).
blocks_per_fetch_max = 100
#: Milliseconds a block's time may run ahead of the previous one (sanity bound, 10 years).
block_time_step_ms_max = 10 * 365 * 24 * 3600 * 1000
#: Milliseconds a proposed block's time may run ahead of a voting validator's clock (clock
#: skew between members' hosts is far smaller; a larger lead would lapse points early).
block_time_ahead_ms_max = 30_000
#: A node reports itself ``stalled`` when records have waited this many block intervals
#: (and at least ``stall_ms_min``) without the chain head advancing.
stall_block_intervals = 10
stall_ms_min = 5_000
#: A record's ``expires`` may lie at most this far past the block time (genesis parameter
#: ``record_ttl_ms_max``): its default, and the range a genesis may choose it in. The floor
#: leaves a client time to submit; the ceiling bounds how long a rejected id is remembered.
record_ttl_ms_max_default = 3_600_000
record_ttl_ms_max_floor = 60_000
record_ttl_ms_max_ceiling = 7 * 24 * 3_600_000
#: Rejected record ids a node remembers (with their code) until their ``expires`` passes,
#: so that a refused record sent again gets its first answer. When full, submissions wait
#: (backpressure) rather than let a refusal be forgotten while it could still commit.
rejected_ids_max = 1_000_000
#: Event streams (GET /v1/events) one node serves at once; beyond it, 503 with Retry-After.
event_streams_max = 64
#: Lifetime of one event stream; the client reconnects with Last-Event-ID (10 minutes).
event_stream_ms_max = 10 * 60 * 1000
#: Blocks one event stream reads per poll while it catches up (then it yields to others).
event_blocks_per_poll_max = 20
#: Streams in a row without an event after which a client's event iterator gives up.
event_reconnects_idle_max = 1000
#: Characters one QR code drawn by the node may carry (a public key is 64).
qr_chars_max = 200
#: PBKDF2 iterations a wallet backup may ask for when it is opened (a bound on the work).
backup_iterations_max = 10_000_000
#: Seconds one call to the ordering service (etcd) may take, retries across its members
#: included, before the node answers ``ordering_unavailable`` (503) and acknowledges nothing.
etcd_request_s_max = 5.0
#: Operations in one etcd transaction (etcd's own default ``--max-txn-ops`` is 128).
etcd_txn_ops_max = 128
#: Milliseconds the proposer of a height has before the next validator in rotation may
#: propose instead (the k-th in rotation after k timeouts); one proposal per height wins.
proposal_timeout_ms = 2_000
#: Under load a backup waits this many times as long as the node's last height took (from
#: its proposal to its commit), if that is longer; never longer than the maximum below.
proposal_timeout_heights = 4
proposal_timeout_ms_max = 20_000
#: Record ids (with their signatures) a node remembers as verified, so that a record it
#: admitted or proposed is not verified again when read back from the ordering log.
verified_records_kept_max = 50_000
#: Pending submissions a node holds as its etcd watch delivered them (the proposer's
#: candidates, :mod:`ledger.consensus.watched`); with more waiting it reads the log instead.
watched_submissions_max = 10_000
#: Blocks (records and leaf hashes) a store keeps at hand for the receipts of their records.
receipt_blocks_kept_max = 4
#: Proposals a node keeps as its etcd watch delivered them, until it reads them.
proposals_seen_max = 64
#: Characters of the reason a validator gives with a refusal (for operators to read).
refusal_reason_chars_max = 300
#: Pending submissions a proposer reads from the ordering log for one block at most.
ordering_pending_max = block_records_max
#: Ids a proposal may list as refused: at most what its proposer read from the log for it.
proposal_refusals_max = ordering_pending_max + etcd_txn_ops_max
#: Bytes of records (wire form) in one proposal. etcd refuses requests over its
#: ``--max-request-bytes`` (1.5 MiB by default) and the gateway sends values base64 (4/3):
#: this leaves room for the header, the ids left out with their codes and, when some are
#: left out, the candidate ids in order (about 340 kB at most).
proposal_bytes_max = 800_000

# -- the simulator of the ordering protocol (ledger/consensus/sim*.py) -------------------
#: The share of a run's rounds with faults.
sim_fault_share = 0.7
#: Calm rounds the alliance gets, after the faults, to commit every acknowledged record.
sim_liveness_rounds_max = 3_000
#: Simulated milliseconds a round may advance the clock; a node's clock may be this far off.
sim_tick_ms_max = 40
sim_skew_ms_max = 500
#: The proposal timeout of the simulated orderers (a proposer that is down is passed over).
sim_proposal_timeout_ms = 300
#: How long a simulated client's record stays valid (well inside a run's simulated time).
sim_record_ttl_ms = 1_800_000
#: Rounds of one seed in the suite.
sim_rounds_default = 1_000
#: Ticks a delayed write (of a call whose caller timed out) may wait before it lands.
sim_delay_ticks_max = 40
#: Blocks at the head that a restarted store's contents are re-checked for (a torn write
#: can touch only the last one; a few more cost little).
sim_torn_check_blocks = 3
