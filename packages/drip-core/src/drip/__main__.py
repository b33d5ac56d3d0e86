"""``python -m drip``: the same as the ``drip`` command."""

from drip.cli import main

main()
