"""Subtitle sidecars (`video.srt`, `.vtt`, `.ass` next to the video): timed text read with
pysubs2, decoded from whatever encoding the file is in, or rejected with the reason."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import jiwer
import pysubs2
from charset_normalizer import from_bytes

from schemas.records import Word

SUFFIXES = (".srt", ".vtt", ".ass", ".ssa")


@dataclass(frozen=True)
class Subtitles:
    path: Path
    encoding: str
    events: list[tuple[float, float, str]]  # start s, end s, plain text

    def words(self) -> list[Word]:
        """Each event's words spread evenly over its time: boundaries come from the events."""
        words = []
        for start, end, text in self.events:
            tokens = text.split()
            step = (end - start) / max(1, len(tokens))
            words += [
                Word(
                    text=t,
                    start_s=round(start + i * step, 3),
                    end_s=round(start + (i + 1) * step, 3),
                    probability=1.0,
                )
                for i, t in enumerate(tokens)
            ]
        return words

    def text_between(self, start: float, end: float) -> str:
        """The text of the events whose middle lies in [start, end]."""
        return " ".join(t for a, b, t in self.events if start <= (a + b) / 2 <= end)


class SubtitleError(Exception):
    """The sidecar exists but cannot be used; the message says why."""


def find_sidecar(video: Path) -> Path | None:
    return next((p for s in SUFFIXES if (p := video.with_suffix(s)).is_file()), None)


def read_subtitles(path: Path) -> Subtitles:
    raw = path.read_bytes()
    text, encoding = _decode(raw)
    try:
        subs = pysubs2.SSAFile.from_string(text, format_=_format(path))
    except Exception as error:  # pysubs2 raises several kinds for bad files
        raise SubtitleError(f"{path.name} is not valid {path.suffix[1:]}: {error}") from error
    events = [
        (e.start / 1000, e.end / 1000, clean)
        for e in subs
        if not e.is_comment and e.end > e.start and (clean := _plain(e.plaintext))
    ]
    if not events:
        raise SubtitleError(f"{path.name} holds no timed text")
    return Subtitles(path=path, encoding=encoding, events=events)


def _decode(raw: bytes) -> tuple[str, str]:
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(raw).best()
    if best is None or best.chaos > 0.2:
        raise SubtitleError("the subtitle text is in no encoding that can be recognised")
    return str(best), best.encoding


def _format(path: Path) -> str:
    return {".srt": "srt", ".vtt": "vtt", ".ass": "ass", ".ssa": "ssa"}[path.suffix.lower()]


def _plain(text: str) -> str:
    return " ".join(text.replace("\\N", " ").split())


def normalise(text: str) -> str:
    return " ".join(re.findall(r"[\w']+", text.lower()))


def word_error_rate(reference: str, hypothesis: str) -> float | None:
    reference, hypothesis = normalise(reference), normalise(hypothesis)
    if not reference:
        return None
    return round(jiwer.wer(reference, hypothesis), 4)
