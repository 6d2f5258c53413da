"""Tiny media files made with ffmpeg for the tests that need odd input."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path


def make_media(
    path: Path,
    *,
    video: bool = True,
    audio: bool = True,
    seconds: float = 3.0,
    extra: tuple[str, ...] = (),
) -> Path:
    args = ["ffmpeg", "-v", "error", "-y"]
    if video:
        args += ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=25"]
    if audio:
        args += ["-f", "lavfi", "-i", "sine=frequency=300:sample_rate=16000"]
    args += ["-t", str(seconds)]
    if video:
        args += ["-c:v", "libx264", "-pix_fmt", "yuv420p"]
    if audio:
        args += ["-c:a", "aac"]
    subprocess.run([*args, *extra, str(path)], check=True)
    return path


def truncate(path: Path, keep: float) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def still_video_with_audio(audio: Path, out: Path) -> Path:
    """A grey still video carrying a real recording: lets audio-only fixtures go through the
    video pipeline."""
    args = ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=gray:s=320x240:r=25"]
    args += ["-i", str(audio), "-shortest", "-c:v", "libx264", "-c:a", "aac", str(out)]
    subprocess.run(args, check=True)
    return out


def with_rotation(source: Path, out: Path, degrees: int) -> Path:
    """The same streams, tagged to display rotated (as phones record)."""
    args = ["ffmpeg", "-v", "error", "-i", str(source), "-c", "copy"]
    subprocess.run([*args, "-metadata:s:v:0", f"rotate={degrees}", str(out)], check=True)
    return out


def ffprobe_json(path: Path, count_frames: bool = False) -> dict:
    """ffprobe's streams and format of a file, as a user would inspect it."""
    args = ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json"]
    args += ["-count_frames"] if count_frames else []
    return json.loads(subprocess.run([*args, str(path)], capture_output=True, check=True).stdout)
