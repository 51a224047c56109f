"""The editor's side: the edits, the review, one writer at a time for the editors' files, the workbench."""
