"""``python -m newarch``: the same as the ``newarch`` command."""

from newarch.cli import main

main()
