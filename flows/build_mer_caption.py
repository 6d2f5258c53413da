"""`build-mer-caption`: raw videos in, a reviewed and published emotion-description dataset out.

Orchestration only: which stage runs, on what, with which runner. The work is in annotators/,
the contract in schemas/. Every stage of the design's data flow has a slot here; a slot that is
not built yet is reported as such in the run summary and produces nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

from annotators.asr import WhisperxTranscriber
from annotators.probe import ProbeParams, VideoProbe
from annotators.segment import SegmentInput, UtteranceSegmenter
from flows.runners import task_runner_for
from flows.stage import run_stage
from mercap.catalog import Catalog, StageOutput
from mercap.settings import Settings, load_settings
from mercap.sources import resolve_inputs, split_specs
from mercap.summary import Failure, RunSummary, StageReport
from schemas.records import StageResult

FLOW_NAME = "build-mer-caption"


@dataclass(frozen=True)
class Slot:
    stage: str
    purpose: str


# The design's data flow, in order. Built: ingest, asr, segment; the others report "not built yet".
SLOTS = [
    Slot("ingest", "hash, probe and register source videos"),
    Slot("asr", "whisperx transcription of each video's full audio"),
    Slot("segment", "utterance clips of 2-10 s with transcripts and media"),
    Slot("faces", "face detection, main face track, crops, visible-speaker check"),
    Slot("prosody", "acoustic features of each clip"),
    Slot("describe", "acoustic and visual clues merged into descriptions, per describer"),
    Slot("extract", "open-vocabulary emotion labels and sentiment from descriptions"),
    Slot("filter", "low-level filters and crowd agreement on emotion wheels"),
    Slot("route", "Label Studio review tasks for disagreements and an audit share"),
    Slot("validate", "Great Expectations checks of the release tables"),
    Slot("publish", "versioned, leakage-free splits and a dataset card"),
]


@flow(name=FLOW_NAME, log_prints=False)
def build_mer_caption(
    inputs: str | list[str] = "sample_input",
    workspace: str | None = None,
    profile: str = "offline",
) -> dict:
    """Build (or resume building) the dataset from `inputs`: folders, globs or list files."""
    settings = load_settings(profile, {"workspace": workspace} if workspace else None)
    pipeline = mer_caption_pipeline.with_options(task_runner=task_runner_for(settings.runner))
    return pipeline(specs=split_specs(inputs), settings=settings, run_id=str(flow_run.id))


@flow(name="mer-caption-pipeline")
def mer_caption_pipeline(specs: list[str], settings: Settings, run_id: str) -> dict:
    logger = get_run_logger()
    started = datetime.now(UTC)
    workspace = settings.workspace.resolve()
    catalog = Catalog.create(workspace)
    catalog.start_run(run_id, FLOW_NAME, settings.profile, ",".join(specs))

    resolved = resolve_inputs(specs, settings.ingest.extensions)
    logger.info(
        "%d input files (%d missing, %d ignored)",
        len(resolved.files),
        len(resolved.missing),
        resolved.ignored,
    )
    probe = VideoProbe(
        ProbeParams(
            min_duration_s=settings.ingest.min_duration_s,
            truncation_tolerance=settings.ingest.truncation_tolerance,
        )
    )
    _record_missing(catalog, probe.version, run_id, resolved.missing)
    batch = settings.runner.batch_size
    ingest, failures = run_stage(
        "ingest",
        SLOTS[0].purpose,
        probe,
        resolved.files,
        catalog,
        run_id,
        [StageOutput(table="videos", id_field="video_id")],
        batch,
    )
    failures = [_missing_failure(path) for path in resolved.missing] + failures

    asr, asr_failures = run_stage(
        "asr",
        SLOTS[1].purpose,
        WhisperxTranscriber(settings.asr),
        catalog.videos(),
        catalog,
        run_id,
        [StageOutput(table="transcripts", id_field="video_id", replace_by="video_id")],
        batch,
    )
    segmenter = UtteranceSegmenter(settings.segment, workspace=workspace)
    videos_by_id = {video.video_id: video for video in catalog.videos()}
    segment_inputs = [
        SegmentInput(video=videos_by_id[t.video_id], transcript=t, transcript_version=version)
        for t, version in catalog.transcripts()
    ]
    segment, segment_failures = run_stage(
        "segment",
        SLOTS[2].purpose,
        segmenter,
        segment_inputs,
        catalog,
        run_id,
        [
            StageOutput(
                table="segmentations",
                id_field="video_id",
                exclude=("clips",),
                replace_by="video_id",
            ),
            StageOutput(table="clips", id_field="clip_id", explode="clips", replace_by="video_id"),
        ],
        batch,
    )
    failures += asr_failures + segment_failures
    built = [ingest, asr, segment]
    reports = built + [
        StageReport(stage=s.stage, built=False, purpose=s.purpose) for s in SLOTS[len(built) :]
    ]
    summary = RunSummary(
        run_id=run_id,
        profile=settings.profile,
        workspace=str(workspace),
        inputs=specs,
        started_at=started,
        finished_at=datetime.now(UTC),
        stages=reports,
        failures=failures,
        ignored_files=resolved.ignored,
    )
    catalog.finish_run(run_id, "completed", summary.model_dump(mode="json"))
    create_markdown_artifact(
        key="build-summary", markdown=summary.to_markdown(), description="counts per stage"
    )
    logger.info("stages not built yet: %s", ", ".join(summary.not_built))
    return summary.model_dump(mode="json")


def _record_missing(catalog: Catalog, version: str, run_id: str, missing: list[str]) -> None:
    if missing:
        results = [
            StageResult.failed(f"{path}@missing", "not_found", "no such file") for path in missing
        ]
        catalog.record_batch("ingest", version, run_id, results)


def _missing_failure(path: str) -> Failure:
    return Failure(
        stage="ingest",
        item=str(Path(path)),
        reason_code="not_found",
        reason="named in the inputs but no such file",
    )
