"""``python -m warehouse.cli``: the ``warehouse`` command."""

from . import main

main()
