"""The time, duration and date formats of timefmt.py, each checked against the formatter it replaced."""

from __future__ import annotations

import datetime as dt

from hypothesis import example, given
from hypothesis import strategies as st

from livecastpipe import catalogue, chapters, publish, subtitles, summaries, timefmt

SECONDS = st.floats(min_value=0, max_value=30 * 3600, allow_nan=False)
ANY_SECONDS = st.floats(min_value=-7200, max_value=1e7, allow_nan=False) | st.integers(-7200, 10**7)
MILLISECOND_EDGES = st.integers(0, 30 * 3_600_000).map(lambda ms: ms / 1000 + 0.0005) | st.integers(
    0, 30 * 3600
).map(lambda s: s - 0.0005)
DATES = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31)).map(dt.date.isoformat)


@given(ANY_SECONDS | MILLISECOND_EDGES)
@example(59.9995)
@example(3599.9995)
@example(0.0005)
@example(1.0005)
def test_webvtt_timestamp_is_the_subtitles_and_the_chapters_one(seconds: float) -> None:
    assert timefmt.webvtt_timestamp(seconds) == subtitles._timestamp(seconds) == chapters._timestamp(seconds)


@given(ANY_SECONDS)
def test_player_time_is_publishs(seconds: float) -> None:
    assert timefmt.player_time(seconds) == publish.timestamp(seconds)


@given(st.text(alphabet="0123456789:. -a", max_size=12))
def test_parse_player_time_is_publishs(text: str) -> None:
    try:
        expected: float | str = publish.parse_timestamp(text)
    except ValueError:
        expected = "ValueError"
    try:
        parsed: float | str = timefmt.parse_player_time(text)
    except ValueError:
        parsed = "ValueError"
    assert parsed == expected


@given(ANY_SECONDS)
def test_clock_is_the_summaries_one(seconds: float) -> None:
    assert timefmt.clock(seconds) == summaries.clock(seconds)


@given(st.floats(min_value=0, max_value=3599.999, allow_nan=False), st.booleans())
def test_clock_is_youtubes_chapter_time(seconds: float, long_form: bool) -> None:
    # the short form is only used for recordings under an hour, so for chapter starts under an hour
    assert timefmt.clock(seconds, with_hours=long_form) == chapters._youtube_time(seconds, long_form)


@given(SECONDS | st.floats(min_value=3600, max_value=1e7))
def test_clock_with_hours_is_youtubes_long_form(seconds: float) -> None:
    assert timefmt.clock(seconds, with_hours=True) == chapters._youtube_time(seconds, True)


@given(ANY_SECONDS)
def test_clock_with_hours_is_the_transcript_download_head(seconds: float) -> None:
    paragraph = publish.TranscriptParagraph(seconds, seconds, None, "a", (publish.TranscriptPiece(seconds, "x"),))
    head = publish.transcript_txt([paragraph]).split("\n")[0]
    assert f"[{timefmt.clock(seconds, with_hours=True)}]" == head


@given(ANY_SECONDS)
def test_minutes_and_seconds_are_the_tables_and_the_review_link_forms(seconds: float) -> None:
    table = f"{int(seconds // 60)}:{int(seconds % 60):02d}"  # cli.py, speakers_cli.py, flows/pipeline.py
    link = f"{int(seconds // 60):02d}:{int(seconds % 60):02d}"  # review_cli.py
    assert timefmt.minutes_and_seconds(seconds) == table
    assert timefmt.minutes_and_seconds(seconds, padded=True) == link


@given(ANY_SECONDS)
@example(0.5)
@example(1.5)
@example(3599.5)
def test_iso8601_and_dutch_durations_are_publishs(seconds: float) -> None:
    assert timefmt.iso8601_duration(seconds) == publish.iso_duration(seconds)
    assert timefmt.dutch_duration(seconds) == publish.human_duration(seconds)


@given(DATES | st.none() | st.just(""))
def test_dates_are_publishs_and_the_catalogues(iso_date: str | None) -> None:
    assert timefmt.dutch_date(iso_date) == publish.dutch_date(iso_date)
    assert timefmt.rfc822_date(iso_date) == catalogue._rfc822(iso_date)
