"""``python -m trimtab.cli``: the command line."""

from trimtab.cli import main

main()
