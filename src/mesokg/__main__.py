"""`python -m mesokg`: the mesokg command."""

from mesokg.cli import main

main()
