"""Ingest throughput on the sample scaled to 200 files, beside the floor measured in the same run.

The floor is the same work done by plain tools: `sha256sum` and `ffprobe` per file, with the
same number of workers. Ours is the `ingest` stage inside `build-mer-caption` (Prefect tasks,
catalog writes and all), and the probe annotator alone, to show where the time goes.

    uv run python bench/ingest.py [--files 200] [--workers 2]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from annotators.probe import VideoProbe
from mercap.sample import generate_sample
from mercap.sources import resolve_inputs
from mercap.summary import RunSummary


def scaled_sample(out: Path, files: int) -> list[Path]:
    """Distinct files (a stream-copy remux with a different tag each): no hash collapses."""
    source_dir = out / "source"
    manifest = generate_sample(source_dir)
    videos = [source_dir / v.file for v in manifest.videos if v.expected_ingest == "ok"]
    scaled = out / "scaled"
    scaled.mkdir()

    def remux(i: int) -> Path:
        src = videos[i % len(videos)]
        dst = scaled / f"{i:04d}_{src.name}"
        args = ["ffmpeg", "-v", "error", "-i", str(src), "-map", "0", "-c", "copy"]
        subprocess.run([*args, "-metadata", f"comment=bench {i}", str(dst)], check=True)
        return dst

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(remux, range(files)))


def floor(paths: list[Path], workers: int) -> float:
    def plain(path: Path) -> None:
        subprocess.run(["sha256sum", str(path)], check=True, capture_output=True)
        subprocess.run(
            ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
            check=True,
            capture_output=True,
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(plain, paths))
    return time.perf_counter() - started


def annotator_only(folder: Path, workers: int) -> float:
    files = resolve_inputs([str(folder)], (".mp4", ".mkv", ".webm")).files
    probe = VideoProbe()
    probe.setup()
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda f: probe.annotate([f]), files))
    return time.perf_counter() - started


def pipeline(folder: Path, workspace: Path, workers: int) -> tuple[RunSummary, float]:
    import os

    from flows.build_mer_caption import build_mer_caption

    os.environ["MERCAP_RUNNER__WORKERS"] = str(workers)
    started = time.perf_counter()
    summary = RunSummary.model_validate(
        build_mer_caption(inputs=str(folder), workspace=str(workspace))
    )
    return summary, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mercap-bench-") as tmp:
        out = Path(tmp)
        paths = scaled_sample(out, args.files)
        megabytes = sum(p.stat().st_size for p in paths) / 1e6
        floor_s = floor(paths, args.workers)
        probe_s = annotator_only(out / "scaled", args.workers)
        summary, flow_s = pipeline(out / "scaled", out / "workspace", args.workers)
        ingest = summary.stages[0]
        rerun, rerun_flow_s = pipeline(out / "scaled", out / "workspace", args.workers)

    def row(name: str, seconds: float) -> str:
        return (
            f"{name:<34} {seconds:8.2f} s {args.files / seconds:9.1f} files/s "
            f"{megabytes / seconds:8.1f} MB/s   x{seconds / floor_s:.2f} floor"
        )

    print(f"ingest benchmark: {args.files} files, {megabytes:.1f} MB, {args.workers} workers")
    print(row("floor: sha256sum + ffprobe", floor_s))
    print(row("probe annotator alone", probe_s))
    print(row("ingest stage in build-mer-caption", ingest.seconds))
    print(row("flow incl. temporary Prefect server", flow_s))
    print(
        f"{'re-run, nothing new':<34} {rerun.stages[0].seconds:8.2f} s (stage), "
        f"{rerun_flow_s:.2f} s (flow); already done: {rerun.stages[0].already_done}"
    )
    print(f"ingest ok {ingest.ok}, failed {ingest.failed}, new videos {ingest.new_outputs}")


if __name__ == "__main__":
    main()
