"""Plan utterance clips from timed words: pure functions, no media.

A clip is a run of words of one speaker (when diarization labelled them) with no long pause
and no shot cut inside, between `min_s`
and `max_s` long. Long runs are split at the best boundary (sentence ends first, then the
longest pause); short runs join a close neighbour or are dropped with their reason.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from schemas.records import DroppedSpan, Word

SENTENCE_END = (".", "!", "?", "…")


class UtteranceParams(BaseModel):
    model_config = ConfigDict(frozen=True)
    min_s: float = Field(2.0, gt=0)
    max_s: float = Field(10.0, gt=0)
    target_s: float = Field(5.0, gt=0, description="split longer runs when a good boundary exists")
    pause_s: float = Field(0.45, gt=0, description="a silence this long ends an utterance")
    merge_gap_s: float = Field(1.5, ge=0, description="a short run joins a neighbour this close")
    padding_s: float = Field(0.15, ge=0)
    cut_reach_s: float = Field(
        0.5, ge=0, description="speech this close to a shot cut starts there"
    )


@dataclass(frozen=True)
class Span:
    words: tuple[Word, ...]

    @property
    def start(self) -> float:
        return self.words[0].start_s

    @property
    def end(self) -> float:
        return self.words[-1].end_s

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


@dataclass(frozen=True)
class PlannedClip:
    start_s: float
    end_s: float
    words: tuple[Word, ...]


def silences(
    frame_db: np.ndarray, hop_s: float, min_s: float, below_peak_db: float
) -> list[tuple[float, float]]:
    """Stretches at least `min_s` long whose frames are `below_peak_db` under the loud frames:
    pauses measured on the signal, relative to its level, so background noise does not hide
    them."""
    if frame_db.size == 0:
        return []
    quiet = frame_db < np.percentile(frame_db, 95) - below_peak_db
    edges = np.flatnonzero(np.diff(np.concatenate(([0], quiet.astype(np.int8), [0]))))
    return [
        (round(start * hop_s, 3), round(end * hop_s, 3))
        for start, end in zip(edges[::2], edges[1::2], strict=True)
        if (end - start) * hop_s >= min_s
    ]


def snap_to_silences(
    words: list[Word], quiet: list[tuple[float, float]], reach_s: float = 0.5
) -> list[Word]:
    """Make word edges agree with the pauses measured on the signal: first pull back every edge
    that drifted into a pause, then move out to an adjacent pause an edge that stops short of
    it (a soft onset whisper places late), by at most `reach_s`."""
    spans = [_trim(w.start_s, w.end_s, quiet) for w in words]
    for i, (start, end) in enumerate(spans):
        previous_end = spans[i - 1][1] if i else float("-inf")
        next_start = spans[i + 1][0] if i + 1 < len(spans) else float("inf")
        for q_start, q_end in quiet:
            if start - reach_s <= q_end <= start and q_start >= previous_end:
                start = q_end
            elif end <= q_start <= end + reach_s and q_end <= next_start:
                end = q_start
        spans[i] = (start, end)
    return [
        w.model_copy(update={"start_s": round(a, 3), "end_s": round(b, 3)}) if b > a else w
        for w, (a, b) in zip(words, spans, strict=True)
    ]


def _trim(start: float, end: float, quiet: list[tuple[float, float]]) -> tuple[float, float]:
    for q_start, q_end in quiet:
        if not (q_start < end and q_end > start):
            continue
        begins_before, ends_after = start < q_start, end > q_end
        if begins_before and (not ends_after or q_start - start >= end - q_end):
            end = q_start  # the tail ran on into the pause
        elif ends_after:
            start = q_end  # the head began early, inside the pause
    return start, end


def plan_utterances(
    words: list[Word], scene_cuts: list[float], duration_s: float, params: UtteranceParams
) -> tuple[list[PlannedClip], list[DroppedSpan]]:
    cuts = sorted(scene_cuts)
    words = [_inside_shot(w, cuts) for w in sorted(words, key=lambda w: w.start_s)]
    runs = _split_runs(words, cuts, params)
    pieces = [piece for run in runs for piece in _split_long(run, params)]
    kept, dropped = _merge_short(pieces, cuts, params)
    return _pad(kept, cuts, duration_s, params), dropped


def _inside_shot(word: Word, cuts: list[float]) -> Word:
    """A word straddling a cut belongs to the shot of its middle; trim the edge past the cut."""
    shot = _shot(_mid(word), cuts)
    start = max(word.start_s, cuts[shot - 1]) if shot else word.start_s
    end = min(word.end_s, cuts[shot]) if shot < len(cuts) else word.end_s
    return (
        word
        if (start, end) == (word.start_s, word.end_s)
        else word.model_copy(update={"start_s": start, "end_s": end})
    )


def _shot(time: float, cuts: list[float]) -> int:
    return bisect_right(cuts, time)


def _split_runs(words: list[Word], cuts: list[float], params: UtteranceParams) -> list[Span]:
    """Break at every long pause and every shot cut; a word belongs to the shot of its middle."""
    runs: list[list[Word]] = []
    for word in words:
        if runs:
            previous = runs[-1][-1]
            gap = word.start_s - previous.end_s
            same_shot = _shot(_mid(previous), cuts) == _shot(_mid(word), cuts)
            same_speaker = previous.speaker == word.speaker  # None == None without diarization
            if gap < params.pause_s and same_shot and same_speaker:
                runs[-1].append(word)
                continue
        runs.append([word])
    return [Span(tuple(run)) for run in runs]


def _mid(word: Word) -> float:
    return (word.start_s + word.end_s) / 2


def _split_long(span: Span, params: UtteranceParams) -> list[Span]:
    """Split at the best word boundary until every piece fits; prefer sentence ends and pauses."""
    if span.duration <= params.target_s:
        return [span]
    best, best_score = None, float("-inf")
    for i in range(1, len(span.words)):
        left, right = span.words[:i], span.words[i:]
        left_len, right_len = left[-1].end_s - left[0].start_s, right[-1].end_s - right[0].start_s
        if min(left_len, right_len) < params.min_s:
            continue
        gap = right[0].start_s - left[-1].end_s
        score = gap + (0.5 if left[-1].text.endswith(SENTENCE_END) else 0.0)
        score -= 0.02 * abs(left_len - right_len)  # between equals, prefer balanced halves
        if score > best_score:
            best, best_score = i, score
    if best is None or (span.duration <= params.max_s and best_score < 0.2):
        return [span]  # no boundary worth cutting at, and it fits
    if best is None:
        return [span]  # longer than max_s with no boundary leaving min_s each side
    return _split_long(Span(span.words[:best]), params) + _split_long(
        Span(span.words[best:]), params
    )


def _merge_short(
    spans: list[Span], cuts: list[float], params: UtteranceParams
) -> tuple[list[Span], list[DroppedSpan]]:
    """Join each piece shorter than `min_s` to its closer joinable neighbour, shortest first;
    what still does not fit is dropped with the reason."""
    pieces = list(spans)
    while True:
        short = [i for i, p in enumerate(pieces) if p.duration < params.min_s]
        options = [
            (pieces[j + 1].start - pieces[j].end, j)
            for i in sorted(short, key=lambda i: pieces[i].duration)
            for j in (i - 1, i)
            if 0 <= j < len(pieces) - 1 and _joinable(pieces[j], pieces[j + 1], cuts, params)
        ]
        if not options:
            break
        _, j = min(options)
        pieces[j : j + 2] = [Span(pieces[j].words + pieces[j + 1].words)]
    kept, dropped = [], []
    for span in pieces:
        if span.duration < params.min_s:
            dropped.append(_drop(span, f"shorter than {params.min_s:g} s"))
        elif span.duration > params.max_s:
            dropped.append(_drop(span, f"longer than {params.max_s:g} s with no pause to cut at"))
        else:
            kept.append(span)
    return kept, dropped


def _joinable(left: Span, right: Span, cuts: list[float], params: UtteranceParams) -> bool:
    return (
        left.words[-1].speaker == right.words[0].speaker
        and right.start - left.end <= params.merge_gap_s
        and _shot(left.end, cuts) == _shot(right.start, cuts)
        and right.end - left.start <= params.max_s
    )


def _drop(span: Span, reason: str) -> DroppedSpan:
    return DroppedSpan(start_s=span.start, end_s=span.end, text=span.text, reason=reason)


def _pad(
    spans: list[Span], cuts: list[float], duration_s: float, params: UtteranceParams
) -> list[PlannedClip]:
    """Pad each clip a little: never past the midpoint to a neighbour in the same shot, past a
    shot cut, or past the video. Speech that starts or ends close to a cut is cut there."""
    planned = []
    shots = [_shot(span.start, cuts) for span in spans]
    for i, span in enumerate(spans):
        shot = shots[i]
        shot_start = cuts[shot - 1] if shot else 0.0
        shot_end = cuts[shot] if shot < len(cuts) else duration_s
        same_shot_before = i > 0 and shots[i - 1] == shot
        same_shot_after = i + 1 < len(spans) and shots[i + 1] == shot
        low = (spans[i - 1].end + span.start) / 2 if same_shot_before else shot_start
        high = (span.end + spans[i + 1].start) / 2 if same_shot_after else shot_end
        start = max(low, span.start - params.padding_s)
        end = min(high, duration_s, span.end + params.padding_s)
        if shot and not same_shot_before and span.start - shot_start <= params.cut_reach_s:
            start = shot_start
        if shot < len(cuts) and not same_shot_after and shot_end - span.end <= params.cut_reach_s:
            end = shot_end
        planned.append(PlannedClip(start_s=round(start, 3), end_s=round(end, 3), words=span.words))
    return planned
