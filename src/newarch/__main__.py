"""``python -m newarch``: the same as the ``newarch`` command."""

from .cli import main

main()
