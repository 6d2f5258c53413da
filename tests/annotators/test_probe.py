"""The ingest probe on real files: every bad input gets its own specific reason."""

import pytest

from annotators.probe import ProbeParams, VideoProbe
from schemas.records import SourceFile, Status
from tests.media import make_media, truncate, with_rotation


@pytest.fixture(scope="module")
def probe():
    annotator = VideoProbe(ProbeParams(min_duration_s=2.0))
    annotator.setup()
    return annotator


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _one(probe, path):
    [result] = probe.annotate([SourceFile.from_path(path)])
    return result


@pytest.mark.parametrize(
    ("name", "make", "code"),
    [
        ("empty.mp4", lambda p: _write(p, b""), "empty_file"),
        ("notes.mp4", lambda p: _write(p, b"not a video\n"), "not_media"),
        ("silent.mp4", lambda p: make_media(p, audio=False), "no_audio_stream"),
        ("voice.mp4", lambda p: make_media(p, video=False), "no_video_stream"),
        ("short.mp4", lambda p: make_media(p, seconds=1.0), "too_short"),
        ("cut.mp4", lambda p: truncate(make_media(p, seconds=4), 0.6), "truncated"),
        ("cut.mkv", lambda p: truncate(make_media(p, seconds=4), 0.5), "truncated"),
    ],
)
def test_bad_input_gets_a_specific_reason(probe, tmp_path, name, make, code):
    result = _one(probe, make(tmp_path / name))
    assert result.status is Status.FAILED
    assert result.reason_code == code, result.reason
    assert result.reason  # a sentence a person can act on
    assert result.output is None


def test_one_bad_file_does_not_stop_the_batch(probe, tmp_path):
    good = make_media(tmp_path / "good.mp4")
    bad = tmp_path / "bad.mp4"
    bad.write_text("nope")
    results = probe.annotate([SourceFile.from_path(p) for p in (bad, good)])
    assert [r.status for r in results] == [Status.FAILED, Status.OK]


def test_metadata_of_a_good_file(probe, tmp_path):
    path = make_media(tmp_path / "good.mp4", seconds=3.0)
    rotated = with_rotation(path, tmp_path / "rotated.mp4", 90)
    video = _one(probe, path).output
    assert (video.width, video.height, video.fps) == (160, 120, 25.0)
    assert video.duration_s == pytest.approx(3.0, abs=0.1)
    assert (video.audio_sample_rate, video.audio_channels, video.audio_streams) == (16000, 1, 1)
    assert video.video_codec == "h264" and video.audio_codec == "aac"
    assert video.rotation == 0
    assert _one(probe, rotated).output.rotation in (90, 270)


def test_the_same_bytes_get_the_same_video_id(probe, tmp_path):
    a = make_media(tmp_path / "a.mp4")
    b = tmp_path / "b.mp4"
    b.write_bytes(a.read_bytes())
    assert _one(probe, a).output.video_id == _one(probe, b).output.video_id


def test_version_changes_with_parameters():
    assert (
        VideoProbe(ProbeParams(min_duration_s=2)).version
        != VideoProbe(ProbeParams(min_duration_s=3)).version
    )
