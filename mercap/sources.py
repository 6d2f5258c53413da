"""Turn what the user gave (a folder, a glob, a list file, or several of those) into files."""

from __future__ import annotations

import glob
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from schemas.records import SourceFile

LIST_SUFFIXES = (".txt", ".lst", ".list")


@dataclass(frozen=True)
class ResolvedInputs:
    files: list[SourceFile]
    missing: list[str] = field(default_factory=list)  # named explicitly but not found
    ignored: int = 0  # files in a folder without a video extension


def resolve_inputs(specs: Iterable[str], extensions: Iterable[str]) -> ResolvedInputs:
    """Each spec is a folder (walked recursively), a glob, a list file (one path per line,
    `#` comments, relative to the list), or a path. Order is stable and duplicates collapse."""
    wanted = tuple(e.lower() for e in extensions)
    paths: dict[Path, None] = {}
    missing: list[str] = []
    ignored = 0
    for spec in specs:
        path = Path(spec).expanduser()
        if path.is_dir():
            for candidate in sorted(p for p in path.rglob("*") if p.is_file()):
                if candidate.suffix.lower() in wanted:
                    paths[candidate.resolve()] = None
                else:
                    ignored += 1
        elif path.is_file() and path.suffix.lower() in LIST_SUFFIXES:
            listed = [line.strip() for line in path.read_text().splitlines()]
            for entry in (e for e in listed if e and not e.startswith("#")):
                target = (path.parent / entry).expanduser()
                if target.is_file():
                    paths[target.resolve()] = None
                else:
                    missing.append(str(target))
        elif path.is_file():
            paths[path.resolve()] = None
        elif glob.has_magic(spec):
            matches = sorted(Path(m) for m in glob.glob(str(path), recursive=True))
            paths.update((m.resolve(), None) for m in matches if m.is_file())
        else:
            missing.append(spec)
    return ResolvedInputs(
        files=[SourceFile.from_path(p) for p in paths], missing=missing, ignored=ignored
    )


def split_specs(inputs: str | list[str]) -> list[str]:
    """A flow parameter may be one string with comma-separated specs, or a list."""
    if isinstance(inputs, str):
        return [part.strip() for part in inputs.split(",") if part.strip()]
    return list(inputs)
