"""Allow ``python -m onewatch`` where the console script is not on PATH."""

from onewatch.cli.main import main

main()
