"""`python -m cognate ...` (and `torchrun -m cognate train ...`) run the CLI."""

from cognate.cli import main

main()
