"""Record types of the data contract. Records are immutable: change them with `model_copy`."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SourceFile(Record):
    """A file offered to ingest. Its key changes when the file changes, so edits are re-ingested."""

    path: Path
    size_bytes: int
    mtime_ns: int

    @classmethod
    def from_path(cls, path: Path) -> SourceFile:
        stat = path.stat()
        return cls(path=path.resolve(), size_bytes=stat.st_size, mtime_ns=stat.st_mtime_ns)

    @property
    def item_id(self) -> str:
        return f"{self.path}@{self.size_bytes}:{self.mtime_ns}"


class VideoRecord(Record):
    video_id: str
    sha256: str
    size_bytes: int
    source_path: str
    container: str
    duration_s: float
    width: int
    height: int
    fps: float
    rotation: int = Field(0, description="degrees clockwise from the display matrix")
    video_codec: str
    audio_codec: str
    audio_streams: int
    audio_sample_rate: int
    audio_channels: int

    @property
    def item_id(self) -> str:
        return self.video_id


class Status(StrEnum):
    OK = "ok"
    FAILED = "failed"


Out = TypeVar("Out", bound=Record)


class StageResult(Record, Generic[Out]):
    """One result per input item: an output, or a failure with a specific reason (never both)."""

    item_id: str
    status: Status
    output: Out | None = None
    reason_code: str | None = None
    reason: str | None = None

    @classmethod
    def ok(cls, item_id: str, output: Out) -> StageResult[Out]:
        return cls(item_id=item_id, status=Status.OK, output=output)

    @classmethod
    def failed(cls, item_id: str, reason_code: str, reason: str) -> StageResult[Out]:
        return cls(item_id=item_id, status=Status.FAILED, reason_code=reason_code, reason=reason)


class Word(Record):
    text: str
    start_s: float
    end_s: float
    probability: float
    speaker: str | None = None  # set when diarization ran


class SpeechSegment(Record):
    """A stretch of speech as the recogniser returned it (VAD chunks of up to 30 s)."""

    start_s: float
    end_s: float
    text: str
    words: list[Word]
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    speaker: str | None = None


class Transcript(Record):
    """The recogniser's output for one video's full audio."""

    video_id: str
    language: str
    word_timing: str = Field(description="alignment (wav2vec2) or whisper (cross-attention DTW)")
    model: str
    segments: list[SpeechSegment]

    @property
    def words(self) -> list[Word]:
        return [word for segment in self.segments for word in segment.words]


class Clip(Record):
    """One utterance of one video: the MER-Caption sample unit."""

    clip_id: str
    video_id: str
    start_ms: int
    end_ms: int
    duration_s: float
    text: str
    text_source: str = Field("asr", description="asr, or subtitles from a sidecar file")
    subtitle_wer: float | None = Field(None, description="ASR against the sidecar's text")
    words: list[Word]
    word_timing: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    speech_rms_db: float
    hallucination: str | None = Field(
        None, description="why the text may not be speech; None: fine"
    )
    video_path: str = Field(description="H.264/AAC mp4, relative to the workspace")
    audio_path: str = Field(description="16 kHz mono wav, relative to the workspace")


class DroppedSpan(Record):
    start_s: float
    end_s: float
    text: str
    reason: str


class Segmentation(Record):
    """What the segment stage made of one video: its clips, its shot cuts, what it left out."""

    video_id: str
    transcript_version: str
    scene_cuts_s: list[float]
    subtitles: str | None = Field(None, description="which sidecar was used, or why not")
    clips: list[Clip]
    dropped: list[DroppedSpan]
