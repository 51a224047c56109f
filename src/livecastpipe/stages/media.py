"""The media of a session package, made with ffmpeg: web-playable video, audio-only copy and poster.

Media are reused from the previous package or from a folder prepared ahead (at low CPU priority, while
transcription runs) whenever they were made from the same recording with the same settings.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

from livecastpipe import workspace
from livecastpipe.models import Recording, from_jsonable, to_jsonable
from livecastpipe.package import outputs
from livecastpipe.package.package_format import PublishError
from livecastpipe.package.store import read_manifest
from livecastpipe.processes import run_child
from livecastpipe.settings import PublishSettings
from livecastpipe.stages.ingest import ffmpeg_binary
from livecastpipe.storage import atomic_write_text
from livecastpipe.timefmt import dutch_date


@dataclass(frozen=True)
class MediaFiles:
    """The media in a package: the web-playable video (None for audio-only), audio copy and poster."""

    video: str | None
    audio: str
    poster: str
    video_reencoded: bool
    source_sha256: str
    settings_fingerprint: str


def _run_ffmpeg(args: Sequence[str], source: Path, background: bool = False) -> None:
    """Run ffmpeg; `background` runs it at the lowest CPU priority (`nice -n 19`), on idle cores only."""
    nice = ["nice", "-n", "19"] if background and shutil.which("nice") else []
    result = run_child([*nice, ffmpeg_binary(), "-v", "error", "-nostdin", "-y", *args], capture_output=True, text=True)
    if result.returncode != 0:
        lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
        raise PublishError(source, f"ffmpeg failed: {lines[-1] if lines else result.returncode}")


def is_web_playable(source: Path) -> bool:
    """True when the file already is MP4/MOV with H.264 (4:2:0) video and AAC audio: remux, no re-encode."""
    with av.open(str(source), metadata_errors="ignore") as container:
        if "mp4" not in container.format.name.split(","):
            return False
        video = next(iter(container.streams.video), None)
        audio = next(iter(container.streams.audio), None)
        return (
            video is not None
            and audio is not None
            and video.codec_context.name == "h264"
            and video.codec_context.pix_fmt in ("yuv420p", "yuvj420p")
            and audio.codec_context.name == "aac"
        )


def make_web_video(source: Path, target: Path, settings: PublishSettings, background: bool = False) -> bool:
    """Write an MP4 (H.264/AAC, `+faststart`) for the web; return True when it had to be re-encoded."""
    common = ["-map", "0:v:0", "-map", "0:a:0", "-movflags", "+faststart", "-f", "mp4", str(target)]
    if is_web_playable(source):
        _run_ffmpeg(["-i", str(source), "-c", "copy", *common], source, background)
        return False
    encode = ["-c:v", "libx264", "-preset", "veryfast", "-crf", str(settings.video_crf)]
    encode += ["-pix_fmt", "yuv420p", "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2", "-c:a", "aac", "-b:a", "128k"]
    _run_ffmpeg(["-i", str(source), *encode, *common], source, background)
    return True


PODCAST_LOUDNESS_LUFS = -16.0
"""The audio copy's integrated loudness when normalised (`publish.normalise_audio`): what podcast apps expect."""
TRUE_PEAK_DBTP = -2.0
"""The audio copy's highest true peak (dBTP) when its loudness is normalised: AAC and MP3 encoding adds
up to half a dB, and the encoded copy must stay under the -1 dBTP podcast directories ask."""

AUDIO_ENCODERS = {"m4a": "aac", "mp3": "libmp3lame"}
"""ffmpeg's encoder of each `publish.podcast_audio` format."""
AUDIO_CONTAINERS = {"m4a": ["-movflags", "+faststart", "-f", "mp4"], "mp3": ["-f", "mp3"]}
"""ffmpeg's container options of each `publish.podcast_audio` format."""


def measure_loudness(source: Path, target_lufs: float, background: bool = False) -> dict[str, str]:
    """The first pass of ffmpeg's `loudnorm` over the recording's audio: its measured integrated loudness,
    loudness range, true peak and threshold, which the second pass uses to normalise linearly."""
    nice = ["nice", "-n", "19"] if background and shutil.which("nice") else []
    analysis = f"loudnorm=I={target_lufs}:TP={TRUE_PEAK_DBTP}:LRA=11:print_format=json"
    command = [*nice, ffmpeg_binary(), "-hide_banner", "-nostdin", "-i", str(source), "-map", "0:a:0", "-vn"]
    result = run_child([*command, "-af", analysis, "-f", "null", "-"], capture_output=True, text=True)
    report = result.stderr[result.stderr.rfind("{") : result.stderr.rfind("}") + 1]
    if result.returncode != 0 or not report:
        raise PublishError(source, f"ffmpeg could not measure the loudness: {result.stderr.strip()[-200:]}")
    measured: dict[str, str] = json.loads(report)
    return measured


def loudness_filter(source: Path, target_lufs: float, background: bool = False) -> str:
    """ffmpeg's `loudnorm` second pass: the audio brought to `target_lufs` (EBU R128) with its true peak
    at most `TRUE_PEAK_DBTP`, linearly where the measured range allows; silence is left as it is."""
    measured = measure_loudness(source, target_lufs, background)
    if measured["input_i"] in ("-inf", "inf"):
        return "anull"
    return (
        f"loudnorm=I={target_lufs}:TP={TRUE_PEAK_DBTP}:LRA=11:measured_I={measured['input_i']}"
        f":measured_TP={measured['input_tp']}:measured_LRA={measured['input_lra']}"
        f":measured_thresh={measured['input_thresh']}:offset={measured['target_offset']}:linear=true"
    )


def make_audio_copy(source: Path, target: Path, settings: PublishSettings, background: bool = False) -> None:
    """Write the low-bandwidth audio-only copy in `publish.podcast_audio`'s format, at -16 LUFS (two-pass
    `loudnorm`, `publish.normalise_audio`): mono at the configured bitrate. Without normalisation an M4A
    copy keeps the AAC stream as it is when no larger than that bitrate."""
    with av.open(str(source), metadata_errors="ignore") as container:
        audio = container.streams.audio[0]
        small_aac = (
            audio.codec_context.name == "aac" and 0 < (audio.bit_rate or 0) <= settings.audio_bitrate_kbps * 1100
        )
    audio_format = settings.podcast_audio
    if not settings.normalise_audio and audio_format == "m4a" and small_aac:
        codec = ["-c:a", "copy"]
    else:
        codec = ["-ac", "1", "-c:a", AUDIO_ENCODERS[audio_format], "-b:a", f"{settings.audio_bitrate_kbps}k"]
        if settings.normalise_audio:
            # loudnorm resamples to 192 kHz: the copy gets a podcast's 44.1 kHz back.
            codec += ["-af", loudness_filter(source, PODCAST_LOUDNESS_LUFS, background), "-ar", "44100"]
    muxer = AUDIO_CONTAINERS[audio_format]
    _run_ffmpeg(["-i", str(source), "-map", "0:a:0", "-vn", *codec, *muxer, str(target)], source, background)


def make_poster(source: Path, target: Path, duration: float, background: bool = False) -> None:
    """A JPEG still from the video: the most representative frame shortly after the start."""
    at = min(duration * 0.1, 30.0)
    _run_ffmpeg(
        ["-ss", f"{at:.2f}", "-i", str(source), "-vf", "thumbnail=25,scale='min(1280,iw)':-2"]
        + ["-frames:v", "1", "-q:v", "3", str(target)],
        source,
        background,
    )


TITLE_CARD_COLOUR = "#1b3354"


def card_font(size: int) -> Any:
    """DejaVu Sans at `size` px where the system has it (Debian's fonts-dejavu-core), for the accented letters
    and dashes of Dutch titles; else Pillow's own font, which draws only ASCII."""
    from PIL import ImageFont

    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)


def title_lines(title: str, size: int, width: float) -> tuple[Any, list[str]]:
    """The font and the lines (four at most) that set `title` within `width` pixels: words wrapped by their
    drawn width, the font made smaller until the longest word fits."""
    font = card_font(size)
    while size > 12 and max(font.getlength(word) for word in title.split() or [""]) > width:
        size = round(size * 0.9)
        font = card_font(size)
    lines: list[str] = []
    for word in title.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return font, lines[:4]


def make_title_card(target: Path, title: str, subtitle: str, size: tuple[int, int] = (1280, 720)) -> None:
    """A JPEG title card: 1280×720 for audio-only recordings (poster and sharing image), square for the
    podcast feeds' channel image."""
    from PIL import Image, ImageDraw

    width, height = size
    scale = height / 720
    margin = 96 * width / 1280
    image = Image.new("RGB", size, TITLE_CARD_COLOUR)
    draw = ImageDraw.Draw(image)
    title_font, lines = title_lines(title, round(64 * scale), width - 2 * margin)
    small_font = card_font(round(36 * scale))
    y = 180 * scale
    for line in lines:
        draw.text((margin, y), line, fill="#ffffff", font=title_font)
        y += 84 * scale
    draw.text((96 * width / 1280, y + 40 * scale), subtitle, fill="#dbe7f5", font=small_font)
    image.save(target, "JPEG", quality=88)


EPISODE_ARTWORK_SIZE = 1400
"""The side of the square episode artwork, in pixels: the least Apple Podcasts accepts (3000 the most)."""


def image_size(path: Path) -> tuple[int, int]:
    """An image's (width, height) in pixels."""
    from PIL import Image

    with Image.open(path) as image:
        return image.size


def make_episode_artwork(recording: Recording, poster: Path, target: Path) -> None:
    """The square JPEG episode artwork of the feeds: the video's poster, whole, on the title card's colour
    under the session's title; for an audio-only recording, its title card drawn square."""
    if recording.media.video is None:
        make_title_card_of(recording, target, size=(EPISODE_ARTWORK_SIZE, EPISODE_ARTWORK_SIZE))
        return
    from PIL import Image, ImageDraw

    side = EPISODE_ARTWORK_SIZE
    card = Image.new("RGB", (side, side), TITLE_CARD_COLOUR)
    draw = ImageDraw.Draw(card)
    font, lines = title_lines(recording.title, 72, side - 2 * 96)
    y = 120
    for line in lines:
        draw.text((96, y), line, fill="#ffffff", font=font)
        y += 96
    with Image.open(poster) as opened:
        still = opened.convert("RGB")
    width = side - 2 * 96
    height = round(still.height * width / still.width)
    card.paste(still.resize((width, height), Image.Resampling.LANCZOS), (96, max(y + 48, side - 96 - height)))
    card.save(target, "JPEG", quality=88)


def _media_record(folder: Path) -> Any:
    """The media record of media prepared ahead (`media.json`), as it was written."""
    return json.loads((folder / outputs.MEDIA_RECORD.name()).read_text(encoding="utf-8"))["media"]


def _reusable_media(folder: Path, recording: Recording, settings: PublishSettings) -> MediaFiles | None:
    """The media in `folder` (a published package, or media prepared ahead) when made from this
    recording with the same settings."""
    for read_media in (lambda: read_manifest(folder).media, lambda: _media_record(folder)):
        try:
            media = from_jsonable(MediaFiles, read_media())
        except (PublishError, OSError, ValueError, KeyError, TypeError):
            continue
        if media.source_sha256 != recording.sha256 or media.settings_fingerprint != settings.fingerprint():
            return None
        names = [n for n in (media.video, media.audio, media.poster) if n]
        return media if all((folder / n).is_file() for n in names) else None
    return None


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def prepare_media(
    recording: Recording, folder: Path, previous: Path, settings: PublishSettings, prepared: Path | None = None
) -> MediaFiles:
    """Put the package's media into folder: reused from the previous package or the `prepared` folder
    when made from the same recording and settings, else made now."""
    for candidate in (previous, prepared):
        if candidate is not None and (reusable := _reusable_media(candidate, recording, settings)) is not None:
            for name in (reusable.video, reusable.audio, reusable.poster if reusable.video else None):
                if name:
                    _link_or_copy(candidate / name, folder / name)
            if not reusable.video:  # drawn again: the title, date or programme may have changed
                make_title_card_of(recording, folder / reusable.poster)
            return reusable
    return make_media(recording, folder, settings)


def make_title_card_of(recording: Recording, target: Path, size: tuple[int, int] = (1280, 720)) -> None:
    """The poster of an audio-only recording: a card with its title, date and programme."""
    subtitle = " · ".join(x for x in (dutch_date(recording.metadata.date), recording.metadata.programme) if x)
    make_title_card(target, recording.title, subtitle, size)


def make_media(recording: Recording, folder: Path, settings: PublishSettings, background: bool = False) -> MediaFiles:
    """Make the web video (when there is video), the audio copy and the poster into folder.

    `background` runs ffmpeg at the lowest CPU priority, so media made while transcription runs take
    only the CPU time transcription leaves idle.
    """
    source = recording.media_file
    if not source.is_file():
        raise PublishError(source, "recording not found, and no published media to reuse")
    has_video = recording.media.video is not None
    audio_name = outputs.AUDIO_COPIES[settings.podcast_audio].name()
    reencoded = False
    try:
        if has_video:
            reencoded = make_web_video(source, folder / outputs.WEB_VIDEO.name(), settings, background)
            make_poster(source, folder / outputs.POSTER.name(), recording.media.duration, background)
        else:
            make_title_card_of(recording, folder / outputs.POSTER.name())
        make_audio_copy(source, folder / audio_name, settings, background)
    except av.error.FFmpegError as exc:
        raise PublishError(source, f"not a readable recording ({exc.strerror})") from exc
    return MediaFiles(
        video=outputs.WEB_VIDEO.name() if has_video else None,
        audio=audio_name,
        poster=outputs.POSTER.name(),
        video_reencoded=reencoded,
        source_sha256=recording.sha256,
        settings_fingerprint=settings.fingerprint(),
    )


def prepare_media_ahead(recording: Recording, output_dir: Path, settings: PublishSettings) -> Path | None:
    """Make the session's media into the recording's cache folder, at low CPU priority, before publishing.

    Returns the folder (reused when already made), or None when the published package's media can be
    reused. The folder is written under a temporary name and renamed, so it is complete or absent.
    """
    if _reusable_media(workspace.session_site_dir(output_dir, recording.slug), recording, settings) is not None:
        return None
    target = Path(recording.audio_path).parent / f"media-{settings.fingerprint()}"
    if _reusable_media(target, recording, settings) is not None:
        return target
    staged = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        media = make_media(recording, staged, settings, background=True)
        atomic_write_text(staged / outputs.MEDIA_RECORD.name(), json.dumps({"media": to_jsonable(media)}) + "\n")
        shutil.rmtree(target, ignore_errors=True)
        staged.replace(target)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return target
