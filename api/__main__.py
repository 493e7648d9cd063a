"""``python -m api`` is the ``jifentong`` command."""

from .cli import main

main()
