"""The whole local stack: servers up, the process work pool, deployments from prefect.yaml."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import yaml

from mercap import services
from mercap.paths import REPO, venv_bin
from mercap.settings import ServiceSettings, Settings

FLOW_NAME = "build-mer-caption"


def workspace_path(settings: Settings) -> Path:
    path = settings.workspace
    return path if path.is_absolute() else (REPO / path).resolve()


def up(settings: Settings, report: Callable[[str, str], None]) -> None:
    """Start what is not running, in dependency order; the work pool exists before the worker."""
    cfg = settings.services
    for service in services.services(cfg, workspace_path(settings)):
        if service.name == "prefect-worker":
            ensure_work_pool(cfg)
        report(service.name, services.start(service, cfg.host))


def down(settings: Settings, report: Callable[[str, str], None]) -> None:
    # the worker first, so no flow run starts while the server goes away
    for name in ("prefect-worker", "llm", "label-studio", "prefect-server"):
        report(name, services.stop(name))


def ensure_work_pool(cfg: ServiceSettings) -> None:
    response = httpx.post(
        f"{services.prefect_api_url(cfg)}/work_pools/",
        json={"name": cfg.work_pool, "type": "process"},
        timeout=10,
    )
    if response.status_code not in (201, 409):  # 409: it exists already
        raise services.ServiceError(f"cannot create work pool: {response.text}")


def prefect_cli(
    cfg: ServiceSettings, *args: str, check: bool = True
) -> subprocess.CompletedProcess:
    """The prefect CLI against our server, from the checkout (where prefect.yaml lives)."""
    return subprocess.run(
        [venv_bin("prefect"), "--no-prompt", *args],
        env=os.environ | services.prefect_env(cfg),
        cwd=REPO,
        check=check,
    )


def deployment_names() -> list[str]:
    return [d["name"] for d in yaml.safe_load((REPO / "prefect.yaml").read_text())["deployments"]]


def deploy(cfg: ServiceSettings) -> None:
    """Apply prefect.yaml, on the configured work pool (prefect.yaml names the default one;
    `prefect deploy --all` ignores `--pool`, so each deployment is applied by name)."""
    for name in deployment_names():
        prefect_cli(cfg, "deploy", "--name", name, "--pool", cfg.work_pool)


def run_deployment(cfg: ServiceSettings, deployment: str, params: dict[str, str]) -> int:
    """`prefect deployment run <flow>/<deployment> --watch`; returns its exit code."""
    args = ["deployment", "run", f"{FLOW_NAME}/{deployment}", "--watch"]
    for key, value in params.items():
        args += ["--param", f"{key}={value}"]
    return prefect_cli(cfg, *args, check=False).returncode
