import pytest

from mercap.ids import clip_id, content_hash, file_sha256, video_id_from_sha256


def test_video_id_depends_on_content_only(tmp_path):
    a, b, c = tmp_path / "a.mp4", tmp_path / "b.mkv", tmp_path / "c.mp4"
    a.write_bytes(b"same bytes")
    b.write_bytes(b"same bytes")
    c.write_bytes(b"other bytes")
    ids = [video_id_from_sha256(file_sha256(p)) for p in (a, b, c)]
    assert ids[0] == ids[1] != ids[2]
    assert ids[0].startswith("v") and len(ids[0]) == 17


def test_clip_id_is_deterministic_sortable_and_rejects_empty_spans():
    assert clip_id("vabc", 1500, 4250) == "vabc-000001500-000004250"
    assert clip_id("vabc", 900, 2000) < clip_id("vabc", 1500, 2000)
    with pytest.raises(ValueError):
        clip_id("vabc", 2000, 2000)


def test_content_hash_separates_parts():
    assert content_hash("ab", "c") != content_hash("a", "bc")
