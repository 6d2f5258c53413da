from datetime import UTC, datetime

from mercap.summary import Failure, RunSummary, StageReport


def test_markdown_names_unbuilt_stages_and_every_failure_reason():
    now = datetime.now(UTC)
    summary = RunSummary(
        run_id="r1",
        profile="offline",
        workspace="/ws",
        inputs=["in"],
        started_at=now,
        finished_at=now,
        stages=[
            StageReport(
                stage="ingest", built=True, purpose="p", offered=3, ok=2, failed=1, new_outputs=2
            ),
            StageReport(stage="asr", built=False, purpose="transcribe"),
        ],
        failures=[
            Failure(
                stage="ingest",
                item="/in/x.mp4",
                reason_code="empty_file",
                reason="the file is empty (0 bytes)",
            )
        ],
    )
    text = summary.to_markdown()
    assert "| ingest | built | 3 | 0 | 2 | 1 | 2 |" in text
    assert "| asr | **not built yet**: transcribe |" in text
    assert "the file is empty (0 bytes)" in text and "empty_file" in text
    assert summary.not_built == ["asr"]
