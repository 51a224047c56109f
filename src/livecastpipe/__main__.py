"""`python -m livecastpipe` runs the `livecast` command."""

from livecastpipe.cli import app

app(prog_name="livecast")
