"""Times, durations and dates as the pipeline writes them: caption tracks, deep links, transcripts, feeds, pages."""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from zoneinfo import ZoneInfo

DUTCH_MONTHS = "januari februari maart april mei juni juli augustus september oktober november december".split()


def webvtt_timestamp(seconds: float) -> str:
    """`HH:MM:SS.mmm`, rounded to the millisecond: cue times of WebVTT (and, via webvtt-py, SRT) tracks."""
    millis = int(round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def player_time(seconds: float) -> str:
    """`MM:SS` (or `H:MM:SS` from an hour on): the form of deep links `#t=MM:SS` and visible times."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def fragment_time(seconds: float) -> str:
    """`48.27`: seconds to the millisecond, trailing zeros dropped; the exact deep link `#t=48.27` (the
    W3C media fragment's plain seconds), so a link lands on its moment rather than up to a second early."""
    text = f"{max(0.0, seconds):.3f}".rstrip("0").rstrip(".")
    return text or "0"


def parse_player_time(text: str) -> float:
    """Seconds from `SS`, `MM:SS` or `H:MM:SS` (fractions allowed); ValueError when malformed."""
    parts = text.strip().split(":")
    if not 1 <= len(parts) <= 3 or any(not re.fullmatch(r"\d+(\.\d+)?", p) for p in parts):
        raise ValueError(f"not a time: {text!r}")
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + float(part)
    return seconds


def clock(seconds: float, with_hours: bool = False) -> str:
    """`m:ss`, or `h:mm:ss` from an hour on (always with `with_hours`), in whole seconds (cut, not rounded)."""
    hours, rest = divmod(int(seconds), 3600)
    if hours or with_hours:
        return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{rest // 60}:{rest % 60:02d}"


def clock_tenths(seconds: float) -> str:
    """`m:ss.t` (tenths only when there are any): a chapter start as the editor reads and types it."""
    whole, tenths = divmod(round(seconds * 10), 10)
    return clock(whole) + (f".{tenths}" if tenths else "")


def minutes_and_seconds(seconds: float, padded: bool = False) -> str:
    """`m:ss` with the minutes counting on past the hour (`75:03`), for tables; `padded` gives `mm:ss`."""
    minutes, secs = int(seconds // 60), int(seconds % 60)
    return f"{minutes:02d}:{secs:02d}" if padded else f"{minutes}:{secs:02d}"


def iso8601_duration(seconds: float) -> str:
    """ISO 8601 duration (`PT1H2M3S`), rounded to the second, as schema.org wants it."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + f"{secs}S"


def dutch_duration(seconds: float) -> str:
    """A duration for people, in Dutch, rounded to the second: `1 u 5 min`, `12 min`, `45 s`."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} u {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def dutch_date(iso_date: str | None) -> str | None:
    """`2026-03-14` as `14 maart 2026`."""
    if not iso_date:
        return None
    day = dt.date.fromisoformat(iso_date)
    return f"{day.day} {DUTCH_MONTHS[day.month - 1]} {day.year}"


def rfc822_date(iso_date: str | None) -> str:
    """An ISO date as an RFC 822 date-time at noon UTC (today when there is none), as RSS `pubDate` wants it."""
    day = dt.date.fromisoformat(iso_date) if iso_date else dt.date.today()
    moment = dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.timezone.utc)
    return email.utils.format_datetime(moment)


def iso_datetime(iso_date: str | None, time_zone: str) -> str:
    """An ISO date as an ISO 8601 date-time at noon in `time_zone`, with its offset (today when there is
    none): schema.org's `uploadDate`."""
    day = dt.date.fromisoformat(iso_date) if iso_date else dt.date.today()
    return dt.datetime(day.year, day.month, day.day, 12, tzinfo=ZoneInfo(time_zone)).isoformat()
