"""Allow ``python -m efir``."""

from efir.cli import main

main()
