"""The published session package: writing it, reading it back, the catalogue, feeds and the preview server."""
