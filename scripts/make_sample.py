"""Make the committed sample session in media/: a minute and a half of Dutch panel by two synthetic voices.

The voices are MBROLA's Dutch diphone voices nl3 (female) and nl2 (male), spoken through espeak-ng:
Whisper base hears them as Dutch (p about 0.9) and understands them well (WER about 0.2 against the
script), where it hears espeak-ng's own Dutch voices as English and gets half the words wrong.
Needs espeak-ng and dpkg-deb (Debian); MBROLA and its two voices are fetched from Debian's contrib and
non-free archive at pinned versions with their SHA-256 checked, unpacked into a temporary folder, never
installed, never committed (the voices' licence allows synthesis, not their sale). Run it only to
regenerate media/. Usage:
    python scripts/make_sample.py [OUT_DIR]
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import wave
from pathlib import Path

import yaml

from livecastpipe.stages.ingest import ffmpeg_binary

VOICES = {
    "Anne de Vries": ["-v", "mb-nl3", "-s", "140"],
    "Pieter Bakker": ["-v", "mb-nl2", "-s", "140"],
}
"""espeak-ng voices and rate (words a minute): the rate Whisper base hears best of 125, 140 and 155."""
DEBIAN = "http://deb.debian.org/debian/pool"
MBROLA_PACKAGES = {
    "contrib/m/mbrola/mbrola_3.3+dfsg-9_amd64.deb": "d94ea5bbb8b201935e8a40d758f1a224030d13a1ba669cc75293823933554c7f",
    "non-free/m/mbrola-nl2/mbrola-nl2_0.5+repack2-5_all.deb": (
        "4b3dbbcca234b93de3ac20e1b7d0e2eee4446764d527bd7a7dcaea8c715cc5e0"
    ),
    "non-free/m/mbrola-nl3/mbrola-nl3_0.1+repack2-2_all.deb": (
        "7252a9270527a0dff6e2f2be59622655d03255f2df87b79ebbb4fe9b4a342c58"
    ),
}
"""Debian bookworm's MBROLA program (amd64) and Dutch voices, pinned by version and SHA-256."""
DIALOGUE = [
    (
        "Anne de Vries",
        "Goedemiddag en welkom bij Coöperatieven maken de stad. Mijn naam is Anne de Vries, "
        "en ik ben vandaag uw gespreksleider. Naast mij zit Pieter Bakker van de buurtcoöperatie in Utrecht. "
        "Vandaag praten we over wonen, energie en zorg in de buurt, en over wat bewoners samen kunnen doen. "
        "Pieter, wat doet jullie coöperatie precies?",
    ),
    (
        "Pieter Bakker",
        "Dank je wel, Anne. Onze buurtcoöperatie beheert samen met de bewoners een buurthuis "
        "en zonnepanelen op het dak van de school. Iedereen in de wijk kan lid worden. "
        "De opbrengst gaat terug naar de buurt. We zijn een paar jaar geleden begonnen met een kleine groep buren. "
        "Nu doen er honderden mensen mee, jong en oud.",
    ),
    ("Anne de Vries", "Hoe zorgen jullie ervoor dat iedereen mee kan doen?"),
    (
        "Pieter Bakker",
        "We organiseren elke maand een ledenvergadering. Daar beslissen we samen over de plannen. "
        "Zo blijft de coöperatie echt van de bewoners.",
    ),
    ("Anne de Vries", "En wat doen jullie met de stroom van de zonnepanelen?"),
    (
        "Pieter Bakker",
        "Die gaat eerst naar het buurthuis. Wat over is, verkopen we, "
        "en van dat geld betalen we de activiteiten in de wijk.",
    ),
    ("Anne de Vries", "Wat is volgens jou het belangrijkste advies voor nieuwe coöperaties in de stad?"),
    ("Pieter Bakker", "Begin klein, zoek je buren op, en maak goede afspraken over geld en verantwoordelijkheid."),
    ("Anne de Vries", "Dank je wel, Pieter. Dat was het voor vandaag."),
]
PAUSE_S = 1.0
VOICE_RATE = 16000
"""MBROLA's Dutch voices speak at 16 kHz; the pauses between turns are made at the same rate to join them."""
NAME = "cooperatieven-sample"


def mbrola_environment(folder: Path) -> dict[str, str]:
    """Fetch and unpack MBROLA and its Dutch voices into `folder`; the environment in which espeak-ng
    finds them (its data copied beside the voices, the mbrola program first on PATH)."""
    unpacked = folder / "root"
    for package, sha256 in MBROLA_PACKAGES.items():
        deb = folder / package.rsplit("/", 1)[1]
        with urllib.request.urlopen(f"{DEBIAN}/{package}", timeout=120) as response:
            deb.write_bytes(response.read())
        if hashlib.sha256(deb.read_bytes()).hexdigest() != sha256:
            raise SystemExit(f"error: {deb.name} does not have the pinned SHA-256 {sha256}")
        subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
    version = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=True).stdout
    found = re.search(r"Data at: (\S+)", version)
    if not found:
        raise SystemExit(f"error: espeak-ng does not say where its data is: {version.strip()}")
    data = folder / "espeak-ng-data"
    shutil.copytree(found.group(1), data)
    (data / "mbrola").mkdir()
    for voice in ("nl2", "nl3"):
        shutil.copy(unpacked / "usr/share/mbrola" / voice / voice, data / "mbrola" / voice)
    return {
        **os.environ,
        "ESPEAK_DATA_PATH": str(folder),
        "PATH": f"{unpacked / 'usr/bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def main(out_dir: Path) -> None:
    ffmpeg = ffmpeg_binary()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        voices = mbrola_environment(Path(tmp))
        parts = []
        for i, (speaker, text) in enumerate(DIALOGUE):
            wav = Path(tmp) / f"{i:02d}.wav"
            subprocess.run(["espeak-ng", *VOICES[speaker], "-w", str(wav), text], check=True, env=voices)
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
                f"anullsrc=r={VOICE_RATE}:cl=mono",
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
                str(VOICE_RATE),
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
