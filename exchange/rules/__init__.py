"""The exchange's rules: one module per record family, and what they share."""
