"""Speaker display names: the one rule for what captions, chapters, transcript, page, feed and search
call each speaker, and what the editors' tools show them."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping

from livecastpipe.editor.editor_text import SPEAKER_NAME, refused_character
from livecastpipe.models import SpeakerInfo

UNNAMED_SPEAKER = "Spreker {number}"
"""An unnamed speaker, numbered from 1 in speaker-id order (the ids are given in speaking order)."""
MAX_NAME_LENGTH = SPEAKER_NAME.limit
"""The longest speaker name an editor may give (it precedes caption lines)."""


def check_speaker_name(name: str) -> str:
    """The name an editor gives a speaker, stripped; ValueError saying why when it is not one plain line
    of at most MAX_NAME_LENGTH characters without `-->` (it goes into caption files)."""
    if any(c in name for c in "\n\r\u2028\u2029\x85"):
        problem = "holds a line break"
    elif refused_character(name):
        problem = f"holds a control character ({refused_character(name)})"
    elif "-->" in name:
        problem = "holds '-->', which ends a caption's timing"
    elif len(name.strip()) > MAX_NAME_LENGTH:
        problem = f"is {len(name.strip())} characters long, more than {MAX_NAME_LENGTH}"
    elif not name.strip():
        problem = "is empty"
    else:
        return unicodedata.normalize("NFC", " ".join(name.split()))
    raise ValueError(
        f"speaker name {name[:40]!r} {problem}; a name is one line of at most {MAX_NAME_LENGTH} characters"
    )


def _clean(name: str | None) -> str:
    return " ".join((name or "").split())


def given_speaker_names(speakers: Iterable[SpeakerInfo], approved: Mapping[str, str] | None = None) -> dict[str, str]:
    """Speaker id → the name an editor gave, for the speakers that have one: approved in the review, else
    confirmed in `speakers.yaml`. Proposed names stay out until an editor confirms them."""
    approved = approved or {}
    given = {s.id: _clean(approved.get(s.id)) or (_clean(s.name) if s.confirmed else "") for s in speakers}
    given.update({i: _clean(name) for i, name in approved.items() if i not in given})
    return {speaker_id: name for speaker_id, name in given.items() if name}


def public_speaker_names(
    speakers: Iterable[SpeakerInfo], approved: Mapping[str, str] | None = None, also: Iterable[str] = ()
) -> dict[str, str]:
    """Speaker id → the name viewers see in captions, chapters, transcript, page, feed and search: the
    given name (`given_speaker_names`), else "Spreker N". `also`: further ids to name (those found in a
    transcript), numbered with the others."""
    speakers = list(speakers)
    given = given_speaker_names(speakers, approved)
    ids = sorted({s.id for s in speakers} | set(also))
    return {
        speaker_id: given.get(speaker_id) or UNNAMED_SPEAKER.format(number=number)
        for number, speaker_id in enumerate(ids, start=1)
    }


def editor_speaker_names(speakers: Iterable[SpeakerInfo], approved: Mapping[str, str] | None = None) -> dict[str, str]:
    """Speaker id → what editors see: the approved name, else the proposed one, else the id."""
    approved = approved or {}
    return {s.id: approved.get(s.id) or s.name or s.id for s in speakers}
