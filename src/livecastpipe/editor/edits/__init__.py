"""The editor's corrections of one session: the transcript's words, who speaks, where chapters start.

Edits are the editor's work, kept apart from generated data in the private session folder
(`edits.json`, an editor file every publish and rerun carries over untouched). Every operation is pure:
it checks the version the change was based on (two tabs, no lost update), and returns the new state with
the change recorded (who, when, what it replaced, for undo). Publishing renders from `edited_transcript`.

`model` holds the data (`SessionEdits`, `EditedSegment`, `Change`, the errors); `layout` the machine
transcript as editing units and the edits laid out over it by time (and the retiming of typed words);
`operations` the editor's changes, undo and redo; `rerun` the reconciling with a rerun's machine
transcript and the transcript publishing renders; `edits_file` the file `edits.json` and its versions.
"""
