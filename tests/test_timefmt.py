"""The time, duration and date formats: round trips, order, and how the forms relate to each other."""

from __future__ import annotations

import datetime as dt
import email.utils
import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from livecastpipe.stages.subtitles import Cue, CueLine, render_srt, render_webvtt
from livecastpipe.timefmt import (
    clock,
    dutch_date,
    dutch_duration,
    fragment_time,
    iso8601_duration,
    minutes_and_seconds,
    parse_player_time,
    player_time,
    rfc822_date,
    webvtt_timestamp,
)

SECONDS = st.floats(min_value=0, max_value=30 * 3600, allow_nan=False)
MILLISECOND_EDGES = st.integers(0, 30 * 3_600_000).map(lambda ms: ms / 1000 + 0.0005)
DATES = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31))


def _webvtt_seconds(text: str) -> float:
    hours, minutes, rest = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(rest)


@given(SECONDS | MILLISECOND_EDGES)
@example(59.9995)
@example(3599.9995)
def test_webvtt_timestamps_round_to_the_millisecond(seconds: float) -> None:
    text = webvtt_timestamp(seconds)
    assert re.fullmatch(r"\d\d:[0-5]\d:[0-5]\d\.\d{3}", text)
    assert round(_webvtt_seconds(text) * 1000) == round(seconds * 1000)


@given(SECONDS, SECONDS)
def test_webvtt_timestamps_keep_their_order(a: float, b: float) -> None:
    if a <= b:
        assert webvtt_timestamp(a) <= webvtt_timestamp(b)


@given(st.integers(0, 5 * 3_600_000).map(lambda ms: ms / 1000), st.integers(500, 6000))
def test_srt_times_are_the_webvtt_ones_with_a_comma(start: float, length_ms: int) -> None:
    cues = [Cue(start, start + length_ms / 1000, (CueLine("Goedemorgen", None, 0, 1),))]
    vtt_times = re.findall(r"^(\S+) --> (\S+)", render_webvtt(cues), re.MULTILINE)
    srt_times = re.findall(r"^(\S+) --> (\S+)", render_srt(cues), re.MULTILINE)
    assert vtt_times and [tuple(t.replace(".", ",") for t in pair) for pair in vtt_times] == srt_times
    assert vtt_times[0][0] == webvtt_timestamp(cues[0].start)


@given(SECONDS)
def test_player_times_round_trip_to_the_second(seconds: float) -> None:
    assert parse_player_time(player_time(seconds)) == int(seconds)


@given(SECONDS)
@example(48.27)
@example(0.0)
def test_fragment_times_are_exact_to_the_millisecond(seconds: float) -> None:
    text = fragment_time(seconds)
    assert re.fullmatch(r"\d+(\.\d{1,3})?", text)
    assert abs(parse_player_time(text) - seconds) <= 0.0005 + 1e-9


@pytest.mark.parametrize("text", ["", "1:2:3:4", "aa:10", "-5", "10:"])
def test_malformed_player_times_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_player_time(text)


@given(SECONDS)
def test_clocks_round_trip_to_the_second_and_show_hours_from_an_hour_on(seconds: float) -> None:
    assert parse_player_time(clock(seconds)) == int(seconds)
    assert parse_player_time(clock(seconds, with_hours=True)) == int(seconds)
    assert (clock(seconds) == clock(seconds, with_hours=True)) == (seconds >= 3600)
    if seconds >= 3600:
        assert player_time(seconds) == clock(seconds)
    else:
        assert player_time(seconds) == clock(seconds).zfill(5)


@given(SECONDS, SECONDS)
def test_clocks_keep_their_order(a: float, b: float) -> None:
    if int(a) < int(b):
        assert parse_player_time(clock(a)) < parse_player_time(clock(b))


@given(SECONDS)
def test_minutes_and_seconds_count_minutes_past_the_hour(seconds: float) -> None:
    text = minutes_and_seconds(seconds)
    assert parse_player_time(text) == int(seconds)
    assert minutes_and_seconds(seconds, padded=True) == text.zfill(5)
    if seconds < 3600:
        assert text == clock(seconds)


@given(SECONDS)
@example(0.5)
@example(1.5)
def test_durations_round_to_the_second(seconds: float) -> None:
    match = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(\d+)S", iso8601_duration(seconds))
    assert match
    hours, minutes, secs = (int(g or 0) for g in match.groups())
    assert hours * 3600 + minutes * 60 + secs == round(seconds)
    assert dutch_duration(seconds) == (
        f"{hours} u {minutes} min" if hours else f"{minutes} min" if minutes else f"{secs} s"
    )


def test_dutch_dates_name_the_month() -> None:
    assert dutch_date("2026-03-14") == "14 maart 2026"
    assert dutch_date("2026-12-01") == "1 december 2026"
    assert dutch_date(None) is None


@given(DATES)
def test_rfc822_dates_are_noon_utc_of_the_day(day: dt.date) -> None:
    moment = email.utils.parsedate_to_datetime(rfc822_date(day.isoformat()))
    assert moment == dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.timezone.utc)
