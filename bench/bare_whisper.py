"""Bare faster-whisper, the baseline a user would script: the bundled Whisper base, int8, Dutch, beam 5, batch 8,
VAD and word timestamps (pinned here, whatever the pipeline's defaults become), nothing else.

python bench/bare_whisper.py OUT.json AUDIO...
"""

from __future__ import annotations

import json
import sys

from faster_whisper import BatchedInferencePipeline, WhisperModel

from livecastpipe.settings import TranscribeSettings
from livecastpipe.stages.transcribe import resolve_model


def main(out: str, files: list[str]) -> None:
    settings = TranscribeSettings(
        model="bundled", language="nl", compute_type="int8", cpu_threads=0, beam_size=5, batch_size=8, vad=True
    )
    location, _ = resolve_model(settings)
    model = WhisperModel(
        location, device=settings.device, compute_type=settings.compute_type, cpu_threads=settings.cpu_threads
    )
    pipeline = BatchedInferencePipeline(model=model)
    texts = {}
    for path in files:
        segments, _ = pipeline.transcribe(
            path,
            language=settings.language,
            beam_size=settings.beam_size,
            word_timestamps=True,
            vad_filter=settings.vad,
            batch_size=settings.batch_size,
        )
        texts[path] = " ".join(s.text.strip() for s in segments)
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(texts, handle, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
