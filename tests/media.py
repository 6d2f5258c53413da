"""Tiny media files made with ffmpeg for the tests that need odd input."""

from __future__ import annotations

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
