"""livecastpipe: Dutch conference recordings in, accessible subtitled replay packages out."""

from importlib.metadata import version

__version__ = version("livecastpipe")
