"""One rule names speakers everywhere: the editor's name, else "Spreker N" numbered in speaking order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from livecastpipe.models import SpeakerInfo
from livecastpipe.names import editor_speaker_names, given_speaker_names, public_speaker_names

speaker_ids = st.sets(st.integers(0, 12).map(lambda n: f"SPEAKER_{n:02d}"), max_size=8)
names = st.text(alphabet="AaBbé -", min_size=0, max_size=12)


@st.composite
def panels(draw: st.DrawFn) -> tuple[list[SpeakerInfo], dict[str, str], set[str]]:
    ids = sorted(draw(speaker_ids))
    speakers = [SpeakerInfo(i, draw(st.none() | names), confirmed=draw(st.booleans())) for i in ids]
    approved = {i: draw(names) for i in ids if draw(st.booleans())}
    extra = draw(speaker_ids)
    return speakers, approved, extra


@given(panels())
def test_every_speaker_gets_one_name_from_the_one_rule(
    panel: tuple[list[SpeakerInfo], dict[str, str], set[str]],
) -> None:
    speakers, approved, extra = panel
    shown = public_speaker_names(speakers, approved, extra)
    ids = sorted({s.id for s in speakers} | extra)
    assert list(shown) == ids
    for number, speaker_id in enumerate(ids, start=1):
        info = next((s for s in speakers if s.id == speaker_id), None)
        editor = " ".join(approved.get(speaker_id, "").split()) or (
            " ".join((info.name or "").split()) if info and info.confirmed else ""
        )
        assert shown[speaker_id] == (editor or f"Spreker {number}")
        assert "  " not in shown[speaker_id] and shown[speaker_id] == shown[speaker_id].strip()


def test_a_proposed_name_stays_out_until_confirmed() -> None:
    proposed = [SpeakerInfo("SPEAKER_00", "Anne de Vries"), SpeakerInfo("SPEAKER_01", "Pieter Bakker", confirmed=True)]
    assert public_speaker_names(proposed) == {"SPEAKER_00": "Spreker 1", "SPEAKER_01": "Pieter Bakker"}
    assert given_speaker_names(proposed) == {"SPEAKER_01": "Pieter Bakker"}
    assert editor_speaker_names(proposed) == {"SPEAKER_00": "Anne de Vries", "SPEAKER_01": "Pieter Bakker"}


def test_an_approved_name_wins_over_a_confirmed_one() -> None:
    confirmed = [SpeakerInfo("SPEAKER_00", "Anne", confirmed=True)]
    assert public_speaker_names(confirmed, {"SPEAKER_00": "Anne de Vries"}) == {"SPEAKER_00": "Anne de Vries"}


def test_numbers_count_speakers_without_words_as_the_page_does() -> None:
    """A speaker who said nothing transcribed still holds its number: captions and page agree."""
    speakers = [SpeakerInfo("SPEAKER_00"), SpeakerInfo("SPEAKER_01"), SpeakerInfo("SPEAKER_02")]
    assert public_speaker_names(speakers, also={"SPEAKER_02"})["SPEAKER_02"] == "Spreker 3"
