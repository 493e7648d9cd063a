"""The ``jifentong`` command: one module per command group."""
