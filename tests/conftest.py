"""Shared fixtures. The test session runs its own private stack: its own state folder and free
ports, set here before Prefect is imported, so tests never touch a running demo."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

import pytest

SHARED_MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_STATE = Path(tempfile.mkdtemp(prefix="mercap-test-state-"))
_PORTS = {name: _free_port() for name in ("prefect", "label_studio", "llm")}
os.environ.update(
    {
        "MERCAP_HOME": str(_STATE),
        "MERCAP_SERVICES__PREFECT_PORT": str(_PORTS["prefect"]),
        "MERCAP_SERVICES__LABEL_STUDIO_PORT": str(_PORTS["label_studio"]),
        "MERCAP_SERVICES__LLM_PORT": str(_PORTS["llm"]),
        "MERCAP_SERVICES__WORK_POOL": "mercap-test-process",
        "PREFECT_HOME": str(_STATE / "prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{_PORTS['prefect']}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        # tests never download models: whatever a test needs comes from packages
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
)

# imported after the environment above is set
from mercap import services, stack
from mercap.sample import SampleManifest, generate_sample
from mercap.settings import Settings, load_settings


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings("offline")


@pytest.fixture(scope="session")
def sample(tmp_path_factory) -> tuple[Path, SampleManifest]:
    """The generated sample, made once per session."""
    out = tmp_path_factory.mktemp("sample")
    return out, generate_sample(out)


@pytest.fixture(scope="session")
def prefect_stack(settings):
    """A real Prefect server, the process work pool, our deployments and a worker."""
    cfg = settings.services
    server = next(s for s in services.services(cfg, _STATE) if s.name == "prefect-server")
    worker = next(s for s in services.services(cfg, _STATE) if s.name == "prefect-worker")
    try:
        services.start(server)
        stack.ensure_work_pool(cfg)
        services.start(worker)
        stack.deploy(cfg)
        yield cfg
    finally:
        services.stop("prefect-worker")
        services.stop("prefect-server")


@pytest.fixture
def shared_media() -> Path:
    if not SHARED_MEDIA.is_dir():
        pytest.skip("../shared/media is not present")
    return SHARED_MEDIA
