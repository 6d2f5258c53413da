"""Ingest: content hash and ffprobe metadata of one source file, or the reason it is unusable."""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from typing import ClassVar

import ffmpeg
from pydantic import BaseModel, ConfigDict, Field

from annotators.base import Annotator, InputError
from mercap.ids import file_sha256, video_id_from_sha256
from schemas.records import SourceFile, VideoRecord


class ProbeParams(BaseModel):
    model_config = ConfigDict(frozen=True)
    min_duration_s: float = Field(2.0, gt=0)
    truncation_tolerance: float = Field(0.9, gt=0, le=1)


class VideoProbe(Annotator[SourceFile, VideoRecord]):
    name: ClassVar[str] = "ffprobe-ingest"

    def __init__(self, params: ProbeParams | None = None):
        super().__init__(params or ProbeParams())
        self.params: ProbeParams

    def environment(self) -> list[str]:
        return [ffprobe_version()]

    def setup(self) -> None:
        ffprobe_version()  # fails early, once, when ffprobe is missing

    def annotate_one(self, item: SourceFile) -> VideoRecord:
        if not item.path.is_file():
            raise InputError("not_found", f"{item.path} no longer exists")
        if item.size_bytes == 0:
            raise InputError("empty_file", "the file is empty (0 bytes)")
        info = _probe(item)
        video = _first_stream(info, "video")
        audio = _first_stream(info, "audio")
        if video is None:
            raise InputError("no_video_stream", "the file has no video stream")
        if audio is None:
            raise InputError("no_audio_stream", "the file has no audio stream (no speech to use)")
        duration = float(info["format"].get("duration") or video.get("duration") or 0.0)
        if duration < self.params.min_duration_s:
            raise InputError(
                "too_short",
                f"{duration:.2f} s is shorter than the {self.params.min_duration_s:g} s minimum",
            )
        fps = _fps(video)
        _check_complete(video, duration, fps, self.params.truncation_tolerance)
        sha256 = file_sha256(item.path)
        return VideoRecord(
            video_id=video_id_from_sha256(sha256),
            sha256=sha256,
            size_bytes=item.size_bytes,
            source_path=str(item.path),
            container=info["format"]["format_name"],
            duration_s=round(duration, 3),
            width=int(video["width"]),
            height=int(video["height"]),
            fps=round(fps, 3),
            rotation=_rotation(video),
            video_codec=video["codec_name"],
            audio_codec=audio["codec_name"],
            audio_streams=sum(1 for s in info["streams"] if s["codec_type"] == "audio"),
            audio_sample_rate=int(audio.get("sample_rate", 0)),
            audio_channels=int(audio.get("channels", 0)),
        )


def ffprobe_version() -> str:
    try:
        out = subprocess.run(["ffprobe", "-version"], capture_output=True, text=True, check=True)
    except FileNotFoundError as error:
        raise RuntimeError("ffprobe is not installed: run the bootstrap (apt ffmpeg)") from error
    return out.stdout.splitlines()[0]


def _probe(item: SourceFile) -> dict:
    try:
        # -count_packets demuxes the whole file (no decoding): cheap, and it exposes truncation
        return ffmpeg.probe(str(item.path), count_packets=None)
    except ffmpeg.Error as error:
        message = _last_line(error.stderr)
        container = _container_signature(item.path)
        if container or "moov atom not found" in message:
            raise InputError(
                "truncated",
                f"it starts like {container or 'a media file'} but cannot be read, so it is cut"
                f" short or corrupt: {message}",
            ) from error
        raise InputError("not_media", f"ffprobe cannot read it as media: {message}") from error
    except json.JSONDecodeError as error:
        raise InputError("not_media", "ffprobe returned no readable description") from error


# how each container's bytes begin: (offset, signature, name)
_SIGNATURES = [
    (4, b"ftyp", "an MP4/QuickTime file"),
    (0, b"\x1a\x45\xdf\xa3", "a Matroska/WebM file"),
    (0, b"RIFF", "an AVI file"),
    (0, b"FLV", "an FLV file"),
]


def _container_signature(path) -> str | None:
    with path.open("rb") as handle:
        head = handle.read(12)
    return next((name for at, sig, name in _SIGNATURES if head[at : at + len(sig)] == sig), None)


def _last_line(stderr: bytes | None) -> str:
    lines = [line for line in (stderr or b"").decode(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no error message"


def _first_stream(info: dict, kind: str) -> dict | None:
    # attached pictures (cover art) are video streams that are not video
    return next(
        (
            s
            for s in info.get("streams", [])
            if s.get("codec_type") == kind and not s.get("disposition", {}).get("attached_pic")
        ),
        None,
    )


def _fps(video: dict) -> float:
    for key in ("avg_frame_rate", "r_frame_rate"):
        rate = video.get(key, "0/0")
        if rate not in ("0/0", "0/1"):
            return float(Fraction(rate))
    raise InputError("no_frame_rate", "the video stream declares no frame rate")


def _rotation(video: dict) -> int:
    for side_data in video.get("side_data_list", []):
        if "rotation" in side_data:
            return int(side_data["rotation"]) % 360
    return int(video.get("tags", {}).get("rotate", 0)) % 360


def _check_complete(video: dict, duration: float, fps: float, tolerance: float) -> None:
    declared = int(video.get("nb_frames") or 0) or round(duration * fps)
    read = int(video.get("nb_read_packets") or 0)
    if declared and read < tolerance * declared:
        raise InputError(
            "truncated",
            f"only {read} of {declared} video frames could be read: the file is cut short",
        )
