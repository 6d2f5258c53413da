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
