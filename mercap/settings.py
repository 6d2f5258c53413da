"""Settings: a YAML profile, then `MERCAP_*` environment overrides, then explicit overrides.

`MERCAP_INGEST__MIN_DURATION_S=3` overrides `ingest.min_duration_s`; values are parsed as YAML
scalars so numbers and booleans keep their types. Secrets never live here: they come from the
environment or Prefect Secret blocks where they are used.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from annotators.asr import AsrParams
from annotators.segment import SegmentParams

PROFILES_DIR = Path(__file__).parent / "profiles"
ENV_PREFIX = "MERCAP_"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IngestSettings(_Section):
    """What counts as usable input video."""

    extensions: tuple[str, ...] = (".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v")
    min_duration_s: float = Field(2.0, gt=0, description="shorter videos cannot hold one clip")
    truncation_tolerance: float = Field(
        0.9, gt=0, le=1, description="read/declared packet ratio under which a file is truncated"
    )


class RunnerSettings(_Section):
    """How tasks run: threads on one machine, or a Dask / Ray cluster when work outgrows it."""

    kind: Literal["threads", "dask", "ray"] = "threads"
    workers: int = Field(2, ge=1)
    address: str | None = Field(None, description="an existing cluster; None starts a local one")
    batch_size: int = Field(8, ge=1, description="items per task")


class ServiceSettings(_Section):
    """The local servers the services command manages, all bound to loopback by default."""

    host: str = "127.0.0.1"
    prefect_port: int = 4200
    label_studio_port: int = 8080
    llm_port: int = 8081
    work_pool: str = "mercap-process"
    start_label_studio: bool = True
    start_llm: bool = True


class Settings(_Section):
    profile: str = "offline"
    workspace: Path = Path("workspace")
    runner: RunnerSettings = RunnerSettings()
    ingest: IngestSettings = IngestSettings()
    asr: AsrParams = AsrParams()
    segment: SegmentParams = SegmentParams()
    services: ServiceSettings = ServiceSettings()


def available_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))


def load_settings(
    profile: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    environ = os.environ if environ is None else environ
    name = profile or environ.get(f"{ENV_PREFIX}PROFILE") or "offline"
    path = PROFILES_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ValueError(f"unknown profile {name!r}; available: {', '.join(available_profiles())}")
    data = yaml.safe_load(path.read_text()) or {}
    data = _deep_merge(data, env_overrides(environ))
    data = _deep_merge(data, dict(overrides or {}))
    data["profile"] = name
    return Settings.model_validate(data)


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """`MERCAP_A__B=v` -> {"a": {"b": v}}; MERCAP_PROFILE selects the profile, not a value."""
    nested: dict[str, Any] = {}
    for key, raw in environ.items():
        if not key.startswith(ENV_PREFIX) or key == f"{ENV_PREFIX}PROFILE":
            continue
        path = key[len(ENV_PREFIX) :].lower().split("__")
        if path[0] not in Settings.model_fields:
            continue  # other MERCAP_* variables (MERCAP_HOME...) are not settings
        node = nested
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = yaml.safe_load(raw) if raw else raw
    return nested


def _deep_merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged
