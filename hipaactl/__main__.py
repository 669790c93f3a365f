"""``python -m hipaactl``: the same entry point as the console script."""

from hipaactl.cli import main

main()
