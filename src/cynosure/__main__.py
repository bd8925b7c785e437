"""`python -m cynosure` runs the command line."""

from cynosure.cli import app

app()
