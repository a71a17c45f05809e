"""``python -m kafkalite`` runs the same command line as the ``kafkalite`` script."""

from kafkalite.cli import main

if __name__ == "__main__":
    main()
