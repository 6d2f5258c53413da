"""The sample generator: what the manifest promises is what the files hold."""

import itertools
import subprocess

import pytest

from tests.media import ffprobe_json


def test_sample_holds_the_promised_variety(sample):
    sample_dir, manifest = sample
    names = {v.file for v in manifest.videos}
    assert {".mp4", ".mkv", ".webm"} <= {n[n.rindex(".") :] for n in names}
    assert (sample_dir / "empty.mp4").stat().st_size == 0
    assert any(v.scene_cuts_s for v in manifest.videos)
    assert any(not v.has_speech and v.expected_ingest == "ok" for v in manifest.videos)
    assert any(not v.has_face and v.expected_ingest == "ok" for v in manifest.videos)
    rates = {v.sample_rate for v in manifest.videos if v.expected_ingest == "ok"}
    assert len(rates) >= 3
    emotions = {u.emotion for v in manifest.videos for u in v.utterances}
    assert len(emotions) >= 6


@pytest.mark.parametrize("name", ["monologue.mp4", "argument.mkv", "confession.webm"])
def test_utterances_are_separated_by_pauses_inside_the_video(sample, name):
    sample_dir, manifest = sample
    video = manifest.by_file(name)
    info = ffprobe_json(sample_dir / name)
    assert float(info["format"]["duration"]) == pytest.approx(video.duration_s, abs=0.1)
    assert {s["codec_type"] for s in info["streams"]} == {"video", "audio"}
    spans = [(u.start_s, u.end_s) for u in video.utterances]
    assert len(spans) >= 2
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start - end >= 1.0  # a pause a segmenter can cut at
    for start, end in spans:
        assert 2.0 <= end - start <= 6.0  # MER-style utterance lengths


def test_speech_energy_is_where_the_manifest_says(sample):
    """Silence in the planted pauses, speech inside utterances: measured on the decoded audio."""
    import numpy as np

    sample_dir, manifest = sample
    video = manifest.by_file("monologue.mp4")
    args = ["ffmpeg", "-v", "error", "-i", str(sample_dir / video.file)]
    args += ["-ac", "1", "-ar", "16000", "-f", "s16le", "-"]
    pcm = subprocess.run(args, capture_output=True, check=True).stdout
    audio = np.frombuffer(pcm, np.int16).astype(np.float32) / 32768

    def rms(a, b):
        return float(np.sqrt(np.mean(audio[int(a * 16000) : int(b * 16000)] ** 2)))

    first, second = video.utterances[:2]
    assert rms(first.start_s, first.end_s) > 20 * rms(first.end_s + 0.2, second.start_s - 0.2)


def test_generation_is_deterministic(sample, tmp_path):
    from mercap.sample import generate_sample

    sample_dir, manifest = sample
    again = generate_sample(tmp_path)
    assert again == manifest
    for video in manifest.videos:
        assert (tmp_path / video.file).read_bytes() == (sample_dir / video.file).read_bytes(), (
            video.file
        )
