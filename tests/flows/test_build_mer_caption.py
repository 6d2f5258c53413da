"""build-mer-caption through a real Prefect server: deployed from prefect.yaml, picked up by a
process worker, run on the generated sample; then checked in the catalog as a user would."""

import pytest

from flows.build_mer_caption import SLOTS, build_mer_caption
from mercap import stack
from mercap.catalog import Catalog
from mercap.summary import RunSummary

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _expected(manifest, outcome):
    return sorted(v.file for v in manifest.videos if v.expected_ingest == outcome)


def _ledger_by_file(catalog):
    rows = catalog.table("stage_log").filter(stage="ingest").iter_rows(named=True)
    return {row["item_id"].rsplit("@", 1)[0].rsplit("/", 1)[-1]: row for row in rows}


@pytest.fixture(scope="module")
def first_and_second_run(prefect_stack, sample, tmp_path_factory):
    sample_dir, _ = sample
    workspace = tmp_path_factory.mktemp("workspace")
    params = {"inputs": str(sample_dir), "workspace": str(workspace)}
    codes, summaries = [], []
    for _ in range(2):
        codes.append(stack.run_deployment(prefect_stack, "offline", params))
        summaries.append(RunSummary.model_validate(Catalog(workspace).run_summary()))
    return workspace, codes, summaries


def test_the_deployment_ingests_the_sample_into_the_catalog(first_and_second_run, sample):
    workspace, codes, (first, _) = first_and_second_run
    _, manifest = sample
    assert codes[0] == 0
    catalog = Catalog(workspace)
    videos = {row["video_id"]: row for row in catalog.table("videos").iter_rows(named=True)}
    ledger = _ledger_by_file(catalog)
    ok_files = _expected(manifest, "ok")
    assert len(videos) == len(ok_files)
    for name in ok_files:
        row = videos[ledger[name]["output_id"]]
        truth = manifest.by_file(name)
        assert row["source_path"].endswith(name)
        assert row["duration_s"] == pytest.approx(truth.duration_s, abs=0.1)
        assert row["audio_sample_rate"] == truth.sample_rate
        assert row["run_id"] == first.run_id and row["stage"] == "ingest"

    assert ledger["empty.mp4"]["reason_code"] == "empty_file"
    assert ledger["notes.mp4"]["reason_code"] == "not_media"
    [duplicate] = _expected(manifest, "duplicate")
    original = duplicate.removeprefix("copy_of_")
    assert ledger[duplicate]["status"] == "ok"
    assert ledger[duplicate]["output_id"] == ledger[original]["output_id"]


def test_the_run_summary_is_truthful(first_and_second_run, sample):
    _, _, (first, _) = first_and_second_run
    _, manifest = sample
    ingest = first.stages[0]
    assert (ingest.offered, ingest.ok, ingest.failed) == (9, 7, 2)
    assert ingest.new_outputs == len(_expected(manifest, "ok"))
    assert first.ignored_files == 1  # manifest.json
    assert {f.reason_code for f in first.failures} == {"empty_file", "not_media", "no_speech"}
    stages = {s.stage: s for s in first.stages}
    assert (stages["asr"].ok, stages["asr"].failed) == (6, 0)
    assert (stages["segment"].ok, stages["segment"].failed) == (5, 1)  # no_speech.mp4
    assert first.not_built == [s.stage for s in SLOTS[3:]]


def test_clips_with_transcripts_and_media_are_in_the_workspace(first_and_second_run, sample):
    workspace, _, _ = first_and_second_run
    _, manifest = sample
    clips = Catalog(workspace).table("clips")
    spoken = [v for v in manifest.videos if v.expected_ingest == "ok" and v.has_speech]
    assert clips.height == sum(len(v.utterances) for v in spoken)
    for row in clips.iter_rows(named=True):
        assert 2.0 <= row["duration_s"] <= 10.0 and row["text"].strip()
        assert (workspace / row["video_path"]).stat().st_size > 0
        assert (workspace / row["audio_path"]).stat().st_size > 0


def test_a_rerun_adds_nothing_and_is_fast(first_and_second_run):
    workspace, codes, (first, second) = first_and_second_run
    assert codes[1] == 0
    for stage, again in zip(first.stages[:3], second.stages[:3], strict=True):
        assert again.already_done == again.offered == stage.offered, stage.stage
        assert (again.ok, again.failed, again.new_outputs) == (0, 0, 0), stage.stage
        assert again.seconds < stage.seconds, stage.stage
    # the known failures are still reported, though no work was redone
    assert {f.reason_code for f in second.failures} == {"empty_file", "not_media", "no_speech"}
    assert Catalog(workspace).table("videos").height == first.stages[0].new_outputs


def test_the_flow_runs_on_a_local_two_worker_dask_cluster(
    prefect_stack, sample, tmp_path, monkeypatch
):
    sample_dir, manifest = sample
    monkeypatch.setenv("MERCAP_RUNNER__KIND", "dask")
    monkeypatch.setenv("MERCAP_RUNNER__WORKERS", "2")
    monkeypatch.setenv("MERCAP_RUNNER__BATCH_SIZE", "2")  # several batches over both workers
    result = RunSummary.model_validate(
        build_mer_caption(inputs=str(sample_dir), workspace=str(tmp_path))
    )
    ingest, asr, segment = result.stages[:3]
    assert (ingest.ok, ingest.failed, asr.ok, segment.ok, segment.failed) == (7, 2, 6, 5, 1)
    ledger = _ledger_by_file(Catalog(tmp_path))
    video_ids = set(Catalog(tmp_path).table("videos")["video_id"])
    assert video_ids == {ledger[name]["output_id"] for name in _expected(manifest, "ok")}
