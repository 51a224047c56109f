"""The `livecast` command line."""
