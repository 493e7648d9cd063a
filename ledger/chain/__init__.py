"""Blocks and what certifies them: headers, certificates, checkpoints, Merkle proofs, genesis."""
