"""Deterministic ids: the same bytes and the same span always get the same id."""

from __future__ import annotations

import hashlib
from pathlib import Path

VIDEO_ID_HEX = 16


def file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def video_id_from_sha256(sha256: str) -> str:
    return f"v{sha256[:VIDEO_ID_HEX]}"


def clip_id(video_id: str, start_ms: int, end_ms: int) -> str:
    if not 0 <= start_ms < end_ms:
        raise ValueError(f"clip span must satisfy 0 <= start < end, got {start_ms}..{end_ms}")
    return f"{video_id}-{start_ms:09d}-{end_ms:09d}"


def content_hash(*parts: str) -> str:
    """Short stable hash of text parts (annotator parameters, prompts)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return digest[:12]
