"""``python -m releasegate`` runs the command line."""

from releasegate.cli import main

main()
