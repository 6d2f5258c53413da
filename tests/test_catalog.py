import subprocess
import sys
import threading

import pytest

from mercap.catalog import Catalog, StageOutput
from schemas.records import StageResult, VideoRecord

VIDEOS = [StageOutput(table="videos", id_field="video_id")]


def _video(video_id: str) -> VideoRecord:
    return VideoRecord(
        video_id=video_id,
        sha256="0" * 64,
        size_bytes=10,
        source_path=f"/x/{video_id}.mp4",
        container="mp4",
        duration_s=3.0,
        width=2,
        height=2,
        fps=25.0,
        rotation=0,
        video_codec="h264",
        audio_codec="aac",
        audio_streams=1,
        audio_sample_rate=16000,
        audio_channels=1,
    )


def test_pending_is_what_has_no_ledger_row_for_this_version(tmp_path):
    catalog = Catalog.create(tmp_path)
    results = [StageResult.ok("a", _video("v1")), StageResult.failed("b", "not_media", "bad")]
    assert catalog.record_batch("ingest", "probe@1", "run1", results, VIDEOS) == 1
    assert catalog.pending("ingest", "probe@1", ["a", "b", "c"]) == ["c"]
    assert catalog.pending("ingest", "probe@2", ["a", "b", "c"]) == ["a", "b", "c"]


def test_identical_content_collapses_to_one_row_with_its_first_provenance(tmp_path):
    catalog = Catalog.create(tmp_path)
    assert (
        catalog.record_batch("ingest", "p@1", "run1", [StageResult.ok("a", _video("v1"))], VIDEOS)
        == 1
    )
    dup = [StageResult.ok("b", _video("v1").model_copy(update={"source_path": "/y.mp4"}))]
    assert catalog.record_batch("ingest", "p@1", "run2", dup, VIDEOS) == 0
    videos = catalog.table("videos")
    assert videos.height == 1
    assert videos["source_path"][0] == "/x/v1.mp4" and videos["run_id"][0] == "run1"
    ledger = catalog.table("stage_log")
    assert sorted(ledger["output_id"].to_list()) == ["v1", "v1"]


def test_a_batch_is_written_whole_or_not_at_all(tmp_path):
    catalog = Catalog.create(tmp_path)
    broken = [StageOutput(table="no_such_table", id_field="video_id")]
    with pytest.raises(Exception, match="no_such_table"):
        catalog.record_batch("ingest", "p@1", "run1", [StageResult.ok("a", _video("v1"))], broken)
    assert catalog.table("stage_log").height == 0
    assert catalog.pending("ingest", "p@1", ["a"]) == ["a"]


HOLD_THE_FILE = (
    "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True);"
    " time.sleep(1.5); c.close()"
)


def test_a_reader_waits_for_another_process_holding_the_file(tmp_path):
    catalog = Catalog.create(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_FILE, str(catalog.path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    counts = []
    reader = threading.Thread(target=lambda: counts.append(catalog.stage_counts().height))
    reader.start()
    reader.join(timeout=30)
    holder.wait(timeout=10)
    assert counts == [0]
