"""Translate: English subtitles from Whisper's own translate task, a second decoding pass over the
recording's decoded audio with the model that transcribed it (`[transcribe] translate = "en"`)."""

from __future__ import annotations

import html
import io
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import webvtt

from livecastpipe.models import Transcript
from livecastpipe.package import outputs
from livecastpipe.package.escaping import srt_text, vtt_cue_text
from livecastpipe.settings import SubtitleSettings, TranscribeSettings
from livecastpipe.stages.subtitles import check_cue_file, render_srt, render_webvtt, search_cues

if TYPE_CHECKING:
    from livecastpipe.stages.transcribe import ProgressCallback

TRANSLATION_LANGUAGE = "en"
"""The one language Whisper translates into."""
MACHINE_TRANSLATION_NOTE = "Machine translation into English by Whisper's translate task."
"""Heads the English WebVTT file (a NOTE block): the file says what it is wherever it is read."""


def translate_file(
    wav_path: Path, settings: TranscribeSettings, on_progress: ProgressCallback | None = None
) -> Transcript:
    """Whisper's English translation of a decoded 16 kHz WAV, word-timed in the same blocks and 30 s
    windows as its transcription (the model loaded for it is reused: `load_model` keeps it)."""
    from livecastpipe.stages.transcribe import transcribe_file  # faster-whisper: publishing needs none of it

    translation = transcribe_file(wav_path, settings, on_progress=on_progress, task="translate")
    return replace(translation, language=TRANSLATION_LANGUAGE)


def translated_subtitle_files(translation: Transcript, settings: SubtitleSettings) -> dict[str, str]:
    """The English subtitle files (`subtitles.en.vtt`, `.srt`; name → content), cut into cues by the same
    profile as the Dutch ones, each parsed back with its library. None when nothing was translated."""
    cues, _ = search_cues(translation.words, settings.resolved_profile)
    if not cues:
        return {}
    files = {
        outputs.TRANSLATED_SUBTITLES_VTT.name(): _noted(render_webvtt(cues)),
        outputs.TRANSLATED_SUBTITLES_SRT.name(): render_srt(cues),
    }
    for name, content in files.items():
        check_cue_file(name, content, len(cues))
    return files


def _noted(vtt: str) -> str:
    """A WebVTT file headed by the note that says it is a machine translation."""
    return vtt.replace("WEBVTT\n", f"WEBVTT\n\nNOTE {MACHINE_TRANSLATION_NOTE}\n", 1)


def translated_cues(files: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """The English cues in a package's files as (start, end, text as shown), starts and ends as WebVTT gives
    them (`00:01:02.340`), in order; none without a translation."""
    content = files.get(outputs.TRANSLATED_SUBTITLES_VTT.name())
    if not content:
        return []
    return [(c.start, c.end, html.unescape(c.text)) for c in webvtt.from_string(content)]


def corrected_translation(files: Mapping[str, str], corrections: Mapping[str, str]) -> dict[str, str]:
    """The English subtitle files of a package (those it has) with the editor's corrected cues (by start),
    same times; nothing when it has no translation or nothing is corrected."""
    content = files.get(outputs.TRANSLATED_SUBTITLES_VTT.name())
    if not content or not corrections:
        return {}
    vtt_captions, srt_captions = [], []
    for caption in webvtt.from_string(content):
        corrected = corrections.get(caption.start)
        text = corrected if corrected is not None else html.unescape(caption.text)
        vtt_lines = vtt_cue_text(corrected) if corrected is not None else "\n".join(caption.lines)
        vtt_captions.append(webvtt.Caption(caption.start, caption.end, vtt_lines))
        srt_captions.append(webvtt.Caption(caption.start, caption.end, srt_text(text)))
    srt = io.StringIO()
    webvtt.WebVTT(captions=srt_captions).write(srt, format="srt")
    found = {
        outputs.TRANSLATED_SUBTITLES_VTT.name(): _noted(
            webvtt.WebVTT(captions=vtt_captions).content.rstrip("\n") + "\n"
        ),
        outputs.TRANSLATED_SUBTITLES_SRT.name(): srt.getvalue().rstrip("\n") + "\n",
    }
    return {name: text for name, text in found.items() if name in files}
