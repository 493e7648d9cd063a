"""The chain verifier, which trusts no node, and offline receipts."""
