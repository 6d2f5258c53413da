"""Where the project keeps its local state: environments, server data, PIDs and logs."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def state_dir() -> Path:
    """`MERCAP_HOME`, else `.mercap/` in the checkout (git-ignored)."""
    return Path(os.environ.get("MERCAP_HOME") or REPO / ".mercap").resolve()


def envs_dir() -> Path:
    """The side environments (Label Studio, the LLM server): `MERCAP_ENVS`, else `.mercap/envs/`.

    Kept apart from the runtime state so tests can run servers with their own state and ports
    while using the environments the bootstrap installed."""
    return Path(os.environ.get("MERCAP_ENVS") or REPO / ".mercap" / "envs").resolve()


def venv_bin(tool: str) -> str:
    """A console script of the project's own environment (the one running this code)."""
    return str(Path(os.sys.executable).parent / tool)
