from typer.testing import CliRunner

from mercap.catalog import Catalog
from mercap.cli import app
from schemas.records import StageResult


def test_status_prints_counts_and_failure_reasons(tmp_path):
    catalog = Catalog.create(tmp_path)
    failed = [StageResult.failed("/in/notes.mp4@5:1", "not_media", "ffprobe cannot read it")]
    catalog.record_batch("ingest", "probe@1", "run1", failed)
    result = CliRunner().invoke(app, ["status", "--workspace", str(tmp_path)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "ingest" in result.output and "failed" in result.output
    assert "not_media" in result.output and "ffprobe cannot read it" in result.output


def test_status_without_a_catalog_says_so(tmp_path):
    result = CliRunner().invoke(app, ["status", "--workspace", str(tmp_path / "none")])
    assert result.exit_code != 0
    assert "no catalog" in str(result.exception) or "no catalog" in result.output
