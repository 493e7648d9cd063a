"""``python -m api`` is the ``jifentong`` command."""

from api.cli.root import main

main()
