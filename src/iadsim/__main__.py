"""``python -m iadsim`` runs the command-line interface."""

from iadsim.cli import main

main()
