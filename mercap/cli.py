"""`mercap`: thin commands over the library. Run `mercap --help`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from mercap import services, stack
from mercap.catalog import Catalog
from mercap.paths import REPO
from mercap.settings import load_settings

app = typer.Typer(no_args_is_help=True, help=__doc__)
services_app = typer.Typer(no_args_is_help=True, help="Start, check and stop the local servers.")
app.add_typer(services_app, name="services")
console = Console()

Profile = Annotated[str, typer.Option(help="settings profile (mercap/profiles/*.yaml)")]
WorkspaceOpt = Annotated[Path | None, typer.Option(help="workspace folder (default: profile's)")]


def _report(name: str, outcome: str) -> None:
    console.print(f"  {name:<15} {outcome}")


@app.command()
def sample(out: Path = REPO / "sample_input") -> None:
    """Generate the deterministic sample input videos."""
    from mercap.sample import generate_sample

    with console.status("generating sample videos"):
        manifest = generate_sample(out)
    console.print(f"{len(manifest.videos)} sample files in {out}")


@services_app.command("up")
def services_up(profile: Profile = "offline") -> None:
    """Start every service that is not running (Prefect server and worker, Label Studio, LLM)."""
    stack.up(load_settings(profile), _report)


@services_app.command("down")
def services_down(profile: Profile = "offline") -> None:
    """Stop the services this checkout started (by their recorded PIDs)."""
    stack.down(load_settings(profile), _report)


@services_app.command("status")
def services_status(profile: Profile = "offline") -> None:
    settings = load_settings(profile)
    for service in services.services(settings.services, stack.workspace_path(settings)):
        state = "healthy" if service.health() else "not answering"
        _report(service.name, f"{state} (log: {services.log_path(service.name)})")


@app.command()
def deploy(profile: Profile = "offline") -> None:
    """Apply prefect.yaml to the running Prefect server."""
    stack.deploy(load_settings(profile).services)


@app.command()
def demo(
    inputs: Annotated[list[str] | None, typer.Argument(help="folders, globs or list files")] = None,
    profile: Profile = "offline",
    workspace: WorkspaceOpt = None,
) -> None:
    """The main job: start the stack, deploy, run build-mer-caption, print the summary."""
    settings = load_settings(profile, {"workspace": str(workspace)} if workspace else None)
    console.rule("services")
    stack.up(settings, _report)
    console.rule("deployments")
    stack.deploy(settings.services)
    if not inputs:
        sample_dir = REPO / "sample_input"
        if not (sample_dir / "manifest.json").exists():
            sample(sample_dir)
        inputs = [str(sample_dir)]
    ws = stack.workspace_path(settings)
    console.rule(f"build-mer-caption/{profile}")
    code = stack.run_deployment(
        settings.services, profile, {"inputs": ",".join(inputs), "workspace": str(ws)}
    )
    console.rule("summary")
    _print_summary(ws, None)
    cfg = settings.services
    console.print(
        f"Prefect UI: http://{cfg.host}:{cfg.prefect_port}   "
        f"Label Studio: http://{cfg.host}:{cfg.label_studio_port}   "
        f"stop everything: ./run stop"
    )
    raise typer.Exit(code)


@app.command()
def status(profile: Profile = "offline", workspace: WorkspaceOpt = None) -> None:
    """Counts per stage and failure reasons, from the catalog."""
    ws = workspace or stack.workspace_path(load_settings(profile))
    catalog = Catalog(ws)
    counts = catalog.stage_counts()
    table = Table("stage", "status", "items", title=f"catalog {catalog.path}")
    for row in counts.iter_rows(named=True):
        table.add_row(row["stage"], row["status"], str(row["items"]))
    console.print(table)
    console.print(
        f"videos: {catalog.table('videos').height}   clips: {catalog.table('clips').height}"
    )
    failures = catalog.failures()
    if failures.height:
        reasons = Table("stage", "item", "reason code", "reason", title="failures")
        for row in failures.iter_rows(named=True):
            reasons.add_row(row["stage"], row["item_id"], row["reason_code"], row["reason"])
        console.print(reasons)


@app.command()
def summary(
    run_id: Annotated[str | None, typer.Option(help="default: the latest run")] = None,
    profile: Profile = "offline",
    workspace: WorkspaceOpt = None,
) -> None:
    """Print a run's summary (the same markdown the Prefect artifact shows)."""
    _print_summary(workspace or stack.workspace_path(load_settings(profile)), run_id)


def _print_summary(workspace: Path, run_id: str | None) -> None:
    from mercap.summary import RunSummary

    data = Catalog(workspace).run_summary(run_id)
    if data is None:
        console.print(f"[red]no finished run in {workspace}[/red]")
        raise typer.Exit(1)
    run = RunSummary.model_validate(data)
    seconds = (run.finished_at - run.started_at).total_seconds()
    stages = Table(
        "stage",
        "state",
        "offered",
        "done before",
        "ok",
        "failed",
        "new",
        "s",
        title=f"run {run.run_id} ({run.profile}, {seconds:.1f} s)",
    )
    for s in run.stages:
        if s.built:
            stages.add_row(
                s.stage,
                "built",
                *(str(n) for n in (s.offered, s.already_done, s.ok, s.failed, s.new_outputs)),
                f"{s.seconds:.1f}",
            )
        else:
            stages.add_row(s.stage, "[yellow]not built yet[/yellow]")
    console.print(stages)
    if run.ignored_files:
        console.print(f"{run.ignored_files} file(s) without a video extension were ignored.")
    if run.failures:
        failures = Table("stage", "item", "reason code", "reason", title="failures")
        for f in run.failures:
            failures.add_row(f.stage, f.item, f.reason_code, f.reason)
        console.print(failures)
    console.print(f"catalog: {run.workspace}/catalog.duckdb")
    console.print(
        f"Label Studio project: {run.label_studio_project or 'none (review stage not built yet)'}"
    )
    console.print(f"release: {run.release or 'none (publish stage not built yet)'}")
