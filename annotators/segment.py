"""Segment: one video's transcript -> utterance clips with their media and quality signals.

Per video: find shot cuts (ffmpeg's scene score on a small decode), drop what whisper itself
calls non-speech, plan the clips (annotators/utterances.py), then cut each clip in one ffmpeg
pass that writes a frame-accurate H.264/AAC mp4 and a 16 kHz mono wav.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from annotators.base import Annotator, InputError
from annotators.probe import ffprobe_version
from annotators.subtitles import (
    SubtitleError,
    Subtitles,
    find_sidecar,
    read_subtitles,
    word_error_rate,
)
from annotators.utterances import (
    PlannedClip,
    UtteranceParams,
    plan_utterances,
    silences,
    snap_to_silences,
)
from mercap.ids import clip_id
from schemas.records import (
    Clip,
    DroppedSpan,
    Record,
    Segmentation,
    SpeechSegment,
    Transcript,
    VideoRecord,
    Word,
)

SAMPLE_RATE = 16_000
FRAME_S = 0.02


class SegmentInput(Record):
    video: VideoRecord
    transcript: Transcript
    transcript_version: str

    @property
    def item_id(self) -> str:
        # a new transcript (another ASR version) makes the video pending here again
        return f"{self.video.video_id}@{self.transcript_version}"


class SegmentParams(BaseModel):
    model_config = ConfigDict(frozen=True)
    utterances: UtteranceParams = UtteranceParams()
    scene_threshold: float = Field(0.35, gt=0, lt=1, description="ffmpeg scene score of a cut")
    no_speech_prob: float = Field(0.6, description="whisper's rule: above this and ...")
    min_avg_logprob: float = Field(-1.0, description="... below this, the text is not speech")
    pause_below_peak_db: float = Field(30.0, description="a pause is this far under the speech")
    silence_db: float = Field(-50.0, description="a clip quieter than this has no speech in it")
    crf: int = Field(20, ge=0, le=51)
    prefer_subtitles: bool = Field(
        True, description="a readable sidecar gives boundaries and text; ASR is compared to it"
    )


class UtteranceSegmenter(Annotator[SegmentInput, Segmentation]):
    name: ClassVar[str] = "utterance-segmenter"

    def __init__(self, params: SegmentParams | None = None, workspace: Path = Path(".")):
        super().__init__(params or SegmentParams())
        self.params: SegmentParams
        self.workspace = workspace  # where media go; not part of the version

    def environment(self) -> list[str]:
        return [ffprobe_version()]

    def annotate_one(self, item: SegmentInput) -> Segmentation:
        video, transcript = item.video, item.transcript
        source = Path(video.source_path)
        subs, subtitle_note = self._subtitles(source)
        speech = [s for s in transcript.segments if not self._not_speech(s)]
        asr_words = [w for s in speech for w in s.words]
        if not asr_words and subs is None:
            heard = " / ".join(s.text for s in transcript.segments) or "nothing"
            raise InputError("no_speech", f"no speech found (the recogniser heard: {heard[:200]})")
        cuts = scene_cuts(source, self.params.scene_threshold)
        quiet = silences(
            frame_levels_db(source, FRAME_S),
            FRAME_S,
            self.params.utterances.pause_s,
            self.params.pause_below_peak_db,
        )
        asr_words = snap_to_silences(asr_words, quiet)
        boundary_words = subs.words() if subs else asr_words
        planned, dropped = plan_utterances(
            boundary_words, cuts, video.duration_s, self.params.utterances
        )
        dropped += [
            DroppedSpan(
                start_s=s.start_s, end_s=s.end_s, text=s.text, reason="not speech (whisper)"
            )
            for s in transcript.segments
            if self._not_speech(s)
        ]
        keyframes = keyframe_times(source)
        clips = [
            self._extract(video, transcript, speech, plan, asr_words, subs, keyframes)
            for plan in planned
        ]
        return Segmentation(
            video_id=video.video_id,
            transcript_version=item.transcript_version,
            scene_cuts_s=cuts,
            subtitles=subtitle_note,
            clips=clips,
            dropped=dropped,
        )

    def _subtitles(self, video: Path) -> tuple[Subtitles | None, str | None]:
        """The sidecar to take boundaries and text from, and a note on what happened to it."""
        path = find_sidecar(video)
        if path is None:
            return None, None
        try:
            subs = read_subtitles(path)
        except SubtitleError as error:
            return None, f"{path.name} not used: {error}"
        if not self.params.prefer_subtitles:
            return None, f"{path.name} ({subs.encoding}) compared only: boundaries from ASR"
        return subs, f"{path.name} ({subs.encoding}): boundaries and text"

    def _not_speech(self, segment: SpeechSegment) -> bool:
        return (
            segment.no_speech_prob > self.params.no_speech_prob
            and segment.avg_logprob < self.params.min_avg_logprob
        )

    def _extract(
        self,
        video: VideoRecord,
        transcript: Transcript,
        speech: list[SpeechSegment],
        plan: PlannedClip,
        asr_words: list[Word],
        subs: Subtitles | None,
        keyframes: list[float],
    ) -> Clip:
        start_ms, end_ms = round(plan.start_s * 1000), round(plan.end_s * 1000)
        cid = clip_id(video.video_id, start_ms, end_ms)
        folder = Path("media") / "clips" / video.video_id
        video_rel, audio_rel = folder / f"{cid}.mp4", folder / f"{cid}.wav"
        (self.workspace / folder).mkdir(parents=True, exist_ok=True)
        copy = can_stream_copy(plan.start_s, plan.end_s, keyframes, video)
        cut_clip(
            Path(video.source_path),
            plan.start_s,
            plan.end_s,
            self.workspace / video_rel,
            self.workspace / audio_rel,
            self.params.crf,
            copy,
        )
        overlapping = [s for s in speech if s.start_s < plan.end_s and s.end_s > plan.start_s]
        heard = [w for w in asr_words if plan.start_s <= (w.start_s + w.end_s) / 2 <= plan.end_s]
        heard_text = " ".join(w.text for w in heard)
        text = subs.text_between(plan.start_s, plan.end_s) if subs else heard_text
        signals = {
            "avg_logprob": min((s.avg_logprob for s in overlapping), default=0.0),
            "no_speech_prob": max((s.no_speech_prob for s in overlapping), default=0.0),
            "compression_ratio": max((s.compression_ratio for s in overlapping), default=0.0),
        }
        rms_db = wav_rms_db(self.workspace / audio_rel)
        sidecar = subs or self._compared_subtitles(Path(video.source_path))
        return Clip(
            clip_id=cid,
            video_id=video.video_id,
            start_ms=start_ms,
            end_ms=end_ms,
            duration_s=round((end_ms - start_ms) / 1000, 3),
            text=text,
            text_source="subtitles" if subs else "asr",
            subtitle_wer=(
                word_error_rate(sidecar.text_between(plan.start_s, plan.end_s), heard_text)
                if sidecar
                else None
            ),
            words=heard,
            word_timing=transcript.word_timing,
            speech_rms_db=round(rms_db, 2),
            hallucination=hallucination(
                heard_text or text, rms_db, self.params.silence_db, **signals
            ),
            video_path=str(video_rel),
            audio_path=str(audio_rel),
            **{k: round(v, 4) for k, v in signals.items()},
        )

    def _compared_subtitles(self, video: Path) -> Subtitles | None:
        """With prefer_subtitles off, a readable sidecar is still the yardstick for ASR."""
        path = find_sidecar(video)
        try:
            return read_subtitles(path) if path else None
        except SubtitleError:
            return None


def hallucination(
    text: str,
    rms_db: float,
    silence_db: float,
    avg_logprob: float,
    no_speech_prob: float,
    compression_ratio: float,
) -> str | None:
    """Why this text is probably not what was said, or None."""
    tokens = re.findall(r"[\w']+", text.lower())
    trigrams = Counter(zip(tokens, tokens[1:], tokens[2:]))
    if trigrams and trigrams.most_common(1)[0][1] >= 3:
        return "repeated phrase (a decoding loop)"
    if compression_ratio > 2.4:
        return f"text compresses {compression_ratio:.1f}x (repetitive)"
    if rms_db < silence_db:
        return f"text over near silence ({rms_db:.0f} dBFS)"
    if no_speech_prob > 0.6 and avg_logprob < -0.7:
        return "the recogniser doubts there is speech"
    return None


def keyframe_times(path: Path) -> list[float]:
    """Times of the keyframes a clip may be stream-copied between: none when the video has
    B-frames, because a copy then runs past its end in presentation order (measured: the next
    keyframe and a reordered P-frame come along)."""
    args = ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries"]
    b_frames = subprocess.run(
        [*args, "stream=has_b_frames", "-of", "csv=p=0", str(path)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if b_frames != "0":
        return []
    listing = subprocess.run(
        [*args, "frame=pts_time", "-skip_frame", "nokey", "-of", "csv=p=0", str(path)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    fields = (line.split(",")[0].strip() for line in listing.splitlines())
    return [float(f) for f in fields if f.replace(".", "", 1).isdigit()]


def can_stream_copy(start: float, end: float, keyframes: list[float], video: VideoRecord) -> bool:
    """Both edges on keyframes (or the end at the end of the video), upright H.264."""
    if video.video_codec != "h264" or video.rotation or not keyframes:
        return False
    tolerance = 0.5 / video.fps

    def on_keyframe(t: float) -> bool:
        return any(abs(t - k) <= tolerance for k in keyframes)

    return on_keyframe(start) and (on_keyframe(end) or end >= video.duration_s - tolerance)


def scene_cuts(path: Path, threshold: float) -> list[float]:
    """Times of hard cuts, from ffmpeg's scene score on a 160-px-wide decode."""
    detect = f"scale=160:-2,select='gt(scene,{threshold})',metadata=print:file=-"
    args = ["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-an", "-sn", "-vf", detect]
    result = subprocess.run([*args, "-f", "null", "-"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        reason = f"ffmpeg cannot decode the video: {result.stderr[-300:]}"
        raise InputError("video_unreadable", reason)
    return [round(float(t), 3) for t in re.findall(r"pts_time:([\d.]+)", result.stdout)]


# H.264/AAC, frame times kept (a variable-frame-rate source gets no duplicated frames)
CLIP_VIDEO = "-c:v libx264 -preset veryfast -pix_fmt yuv420p -fps_mode vfr -c:a aac -b:a 128k"
CLIP_AUDIO = f"-ac 1 -ar {SAMPLE_RATE} -c:a pcm_s16le"


def cut_clip(
    source: Path,
    start: float,
    end: float,
    video_out: Path,
    audio_out: Path,
    crf: int,
    copy_video: bool = False,
) -> None:
    """One decode, two outputs: the clip's mp4 and its 16 kHz mono wav. The video is re-encoded
    from the seek point (frame-accurate; rotation applied to the pixels), or stream-copied
    when the caller knows both boundaries sit on keyframes of an upright H.264 source."""
    span = ["-t", f"{end - start:.3f}"]
    video = (
        ["-c:v", "copy", "-c:a", "aac"] if copy_video else [*CLIP_VIDEO.split(), "-crf", str(crf)]
    )
    args = ["ffmpeg", "-v", "error", "-nostdin", "-y", "-ss", f"{start:.3f}", "-i", str(source)]
    args += [*span, "-map", "0:v:0", "-map", "0:a:0", *video]
    args += ["-movflags", "+faststart", "-map_metadata", "-1", str(video_out)]
    args += [*span, "-map", "0:a:0", *CLIP_AUDIO.split(), str(audio_out)]
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        reason = f"ffmpeg could not cut {start:.2f}-{end:.2f} s: {result.stderr[-300:]}"
        raise InputError("cut_failed", reason)


def frame_levels_db(path: Path, frame_s: float) -> np.ndarray:
    """Level of each `frame_s` frame of the first audio stream, streamed at 16 kHz mono: memory
    holds one float per frame, not the samples."""
    hop = int(SAMPLE_RATE * frame_s)
    args = ["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-map", "0:a:0"]
    args += ["-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "s16le", "-"]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    levels: list[np.ndarray] = []
    while chunk := process.stdout.read(hop * 2 * 500):  # 10 s at a time
        samples = np.frombuffer(chunk, np.int16).astype(np.float32) / 32768
        frames = samples[: samples.size // hop * hop].reshape(-1, hop)
        levels.append(10 * np.log10(np.mean(frames**2, axis=1) + 1e-12))
    if process.wait() != 0:
        raise InputError("audio_unreadable", process.stderr.read().decode(errors="replace")[-300:])
    return np.concatenate(levels) if levels else np.zeros(0)


def wav_rms_db(path: Path) -> float:
    samples = np.frombuffer(path.read_bytes()[44:], dtype=np.int16).astype(np.float32) / 32768
    rms = float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0
    return 20 * np.log10(max(rms, 1e-9))
