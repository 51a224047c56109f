"""Make the committed sample session in media/: a one-minute Dutch panel by two synthetic voices.

Needs espeak-ng (Debian package `espeak-ng`); run it only to regenerate media/. Usage:
    python scripts/make_sample.py [OUT_DIR]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import yaml

from livecastpipe.ingest import ffmpeg_binary

VOICES = {
    "Anne de Vries": ["-v", "nl+klatt2", "-p", "65", "-s", "140"],
    "Pieter Bakker": ["-v", "nl+m1", "-p", "35", "-s", "140"],
}
DIALOGUE = [
    (
        "Anne de Vries",
        "Goedemiddag en welkom bij Coöperatieven maken de stad. Mijn naam is Anne de Vries, "
        "en ik ben vandaag uw gespreksleider. Naast mij zit Pieter Bakker van de buurtcoöperatie in Utrecht. "
        "Pieter, wat doet jullie coöperatie precies?",
    ),
    (
        "Pieter Bakker",
        "Dank je wel, Anne. Onze buurtcoöperatie beheert samen met de bewoners een buurthuis "
        "en zonnepanelen op het dak van de school. Iedereen in de wijk kan lid worden. "
        "De opbrengst gaat terug naar de buurt.",
    ),
    ("Anne de Vries", "Hoe zorgen jullie ervoor dat iedereen mee kan doen?"),
    (
        "Pieter Bakker",
        "We organiseren elke maand een ledenvergadering. Daar beslissen we samen over de plannen. "
        "Zo blijft de coöperatie echt van de bewoners.",
    ),
    ("Anne de Vries", "Wat is volgens jou het belangrijkste advies voor nieuwe coöperaties in de stad?"),
    ("Pieter Bakker", "Begin klein, zoek je buren op, en maak goede afspraken over geld en verantwoordelijkheid."),
    ("Anne de Vries", "Dank je wel, Pieter. Dat was het voor vandaag."),
]
PAUSE_S = 0.6
NAME = "cooperatieven-sample"


def main(out_dir: Path) -> None:
    ffmpeg = ffmpeg_binary()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        parts = []
        for i, (speaker, text) in enumerate(DIALOGUE):
            wav = Path(tmp) / f"{i:02d}.wav"
            subprocess.run(["espeak-ng", *VOICES[speaker], "-w", str(wav), text], check=True)
            parts.append(wav)
        listing = Path(tmp) / "list.txt"
        silence = Path(tmp) / "pause.wav"
        subprocess.run(
            [
                ffmpeg,
                "-v",
                "error",
                "-f",
                "lavfi",
                "-i",
                "anullsrc=r=22050:cl=mono",
                "-t",
                str(PAUSE_S),
                "-y",
                str(silence),
            ],
            check=True,
        )
        listing.write_text("".join(f"file '{p}'\nfile '{silence}'\n" for p in parts))
        speech = Path(tmp) / "speech.wav"
        subprocess.run(
            [
                ffmpeg,
                "-v",
                "error",
                "-f",
                "concat",
                "-safe",
                "0",
                "-i",
                str(listing),
                "-ar",
                "22050",
                "-ac",
                "1",
                "-y",
                str(speech),
            ],
            check=True,
        )
        with wave.open(str(speech), "rb") as wav:
            seconds = wav.getnframes() / wav.getframerate()
        subprocess.run(
            [
                ffmpeg,
                "-v",
                "error",
                "-i",
                str(speech),
                "-f",
                "lavfi",
                "-i",
                "color=c=0x1d3557:s=320x180:r=5",
                "-t",
                f"{seconds:.3f}",
                "-c:v",
                "libx264",
                "-preset",
                "veryslow",
                "-crf",
                "35",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-b:a",
                "48k",
                "-ac",
                "1",
                "-movflags",
                "+faststart",
                "-y",
                str(out_dir / f"{NAME}.mp4"),
            ],
            check=True,
        )
    sidecar = {
        "title": "Coöperatieven maken de stad — voorbeeldsessie",
        "date": "2026-03-14",
        "programme": "Voorbeeld",
        "description": "Een kort voorbeeldgesprek over buurtcoöperaties, gemaakt met synthetische stemmen.",
        "speakers": [{"name": name, "role": "moderator" if i == 0 else "speaker"} for i, name in enumerate(VOICES)],
        "speaker_count": 2,
        "glossary": ["coöperatie", "buurtcoöperatie", "ledenvergadering", "Utrecht"],
    }
    (out_dir / f"{NAME}.yaml").write_text(yaml.safe_dump(sidecar, allow_unicode=True, sort_keys=False))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("media"))
