"""The Prefect flows of livecastpipe, installed as `livecastpipe.flows` (the folder sits at the top of the repository)."""
