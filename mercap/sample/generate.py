"""Generate the sample input: talking-face videos plus the bad and odd files a real folder holds.

Deterministic: same packages, same bytes of script, same output. The faces are scikit-image's
public-domain astronaut photo (mirrored and tinted to make other "speakers"), animated with a
slow pan and a mouth that opens with the speech energy; speech is espeak-ng.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from collections.abc import Iterator
from pathlib import Path

import ffmpeg
import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict
from skimage import data as skdata
from skimage.transform import resize

SCRIPT = Path(__file__).with_name("script.yaml")
FPS = 25
FRAME_W, FRAME_H = 480, 360
PAN_MARGIN = 16
ESPEAK_RATE = 22050
LEAD_IN_S = 0.8  # silence before the first and after the last utterance


class Utterance(BaseModel):
    model_config = ConfigDict(frozen=True)
    emotion: str
    text: str
    start_s: float
    end_s: float


class SampleVideo(BaseModel):
    model_config = ConfigDict(frozen=True)
    file: str
    has_face: bool
    has_speech: bool
    utterances: list[Utterance]
    scene_cuts_s: list[float]
    duration_s: float
    sample_rate: int
    expected_ingest: str  # "ok", "duplicate", or the failure reason_code ingest must record


class SampleManifest(BaseModel):
    model_config = ConfigDict(frozen=True)
    videos: list[SampleVideo]

    def by_file(self, name: str) -> SampleVideo:
        return next(v for v in self.videos if v.file == name)


def generate_sample(out_dir: Path) -> SampleManifest:
    """Write the sample into out_dir (replacing what is there) and return its manifest."""
    script = yaml.safe_load(SCRIPT.read_text())
    out_dir.mkdir(parents=True, exist_ok=True)
    videos = [_render_video(spec, script["voices"], out_dir) for spec in script["videos"]]
    videos += _write_odd_files(out_dir, source=videos[0])
    manifest = SampleManifest(videos=videos)
    (out_dir / "manifest.json").write_text(manifest.model_dump_json(indent=2))
    return manifest


def _render_video(spec: dict, voices: dict, out_dir: Path) -> SampleVideo:
    audio, utterances = _speech_track(spec, voices)
    n_frames = int(np.ceil(len(audio) / ESPEAK_RATE * FPS))
    audio = np.pad(audio, (0, n_frames * ESPEAK_RATE // FPS + ESPEAK_RATE - len(audio)))
    cuts = []
    if "cut_after_utterance" in spec:
        index = spec["cut_after_utterance"]
        before, after = utterances[index - 1], utterances[index]
        cut_frame = int((before.end_s + after.start_s) / 2 * FPS)
        cuts.append(round(cut_frame / FPS, 3))  # when the first frame of the new shot shows
    mouth = _mouth_opening(audio, n_frames)
    frames = _frames(spec, n_frames, mouth, cut_frame=round(cuts[0] * FPS) if cuts else None)
    path = out_dir / spec["file"]
    _encode(frames, audio, path, spec)
    return SampleVideo(
        file=spec["file"],
        has_face=spec["speaker"] != "coffee",
        has_speech=bool(utterances),
        utterances=utterances,
        scene_cuts_s=cuts,
        duration_s=round(n_frames / FPS, 3),
        sample_rate=spec["sample_rate"],
        expected_ingest="ok",
    )


def _speech_track(spec: dict, voices: dict) -> tuple[np.ndarray, list[Utterance]]:
    rng = np.random.default_rng(7)
    pieces = [np.zeros(int(LEAD_IN_S * ESPEAK_RATE), np.float32)]
    utterances, cursor = [], LEAD_IN_S
    for i, emotion in enumerate(spec["utterances"]):
        if i:
            pieces.append(np.zeros(int(spec["pause_s"] * ESPEAK_RATE), np.float32))
            cursor += spec["pause_s"]
        speech = _espeak(voices[emotion])
        utterances.append(
            Utterance(
                emotion=emotion,
                text=voices[emotion]["text"],
                start_s=round(cursor, 3),
                end_s=round(cursor + len(speech) / ESPEAK_RATE, 3),
            )
        )
        pieces.append(speech)
        cursor += len(speech) / ESPEAK_RATE
    if not utterances:  # ambience: soft noise and a slow two-note hum, no speech
        t = np.arange(int(spec["ambience_s"] * ESPEAK_RATE)) / ESPEAK_RATE
        hum = 0.04 * np.sin(2 * np.pi * np.where((t // 1.5) % 2, 220.0, 165.0) * t)
        pieces.append((hum + 0.01 * rng.standard_normal(len(t))).astype(np.float32))
    pieces.append(np.zeros(int(LEAD_IN_S * ESPEAK_RATE), np.float32))
    return np.concatenate(pieces), utterances


def _espeak(voice: dict) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        wav_path = Path(tmp) / "u.wav"
        prosody = [
            "-s",
            str(voice["speed"]),
            "-p",
            str(voice["pitch"]),
            "-a",
            str(voice["amplitude"]),
        ]
        args = ["espeak-ng", "-v", "en-us", *prosody, "-w", str(wav_path), voice["text"]]
        subprocess.run(args, check=True, capture_output=True)
        with wave.open(str(wav_path)) as w:
            if w.getframerate() != ESPEAK_RATE:
                raise RuntimeError(f"espeak-ng wrote {w.getframerate()} Hz, expected {ESPEAK_RATE}")
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    speech = pcm.astype(np.float32) / 32768.0
    voiced = np.flatnonzero(np.abs(speech) > 0.01)  # trim espeak's own leading/trailing silence
    return speech[voiced[0] : voiced[-1] + 1]


def _mouth_opening(audio: np.ndarray, n_frames: int) -> np.ndarray:
    """Per-frame speech energy in 0..1: how far the mouth opens."""
    hop = ESPEAK_RATE // FPS
    rms = np.sqrt(np.mean(audio[: n_frames * hop].reshape(n_frames, hop) ** 2, axis=1))
    return np.clip(rms / (np.percentile(rms, 95) + 1e-6), 0, 1)


def _speaker_image(name: str) -> tuple[np.ndarray, tuple[int, int, int, int] | None]:
    """A canvas slightly larger than the frame, and the mouth box on it (None: no face)."""
    if name == "coffee":
        image, mouth = skdata.coffee(), None
    else:
        image = skdata.astronaut()[0:240, 80:400]  # head and shoulders, 4:3
        mouth = (128, 166, 110, 180)  # rows, cols of lips and chin in the crop
        if name == "astronaut_mirrored":
            image = image[:, ::-1]
            mouth = (128, 166, 320 - 180, 320 - 110)
        elif name == "astronaut_closeup":  # another shot: mirrored, tighter, colour-shifted
            image = skdata.astronaut()[20:200, 140:380][:, ::-1][..., [2, 0, 1]]
            mouth = (108, 146, 240 - 120, 240 - 50)
    canvas_w, canvas_h = FRAME_W + 2 * PAN_MARGIN, FRAME_H + 2 * PAN_MARGIN
    scale_y, scale_x = canvas_h / image.shape[0], canvas_w / image.shape[1]
    canvas = (resize(image, (canvas_h, canvas_w), anti_aliasing=True) * 255).astype(np.uint8)
    if mouth is not None:
        mouth = (
            int(mouth[0] * scale_y),
            int(mouth[1] * scale_y),
            int(mouth[2] * scale_x),
            int(mouth[3] * scale_x),
        )
    return canvas, mouth


def _frames(spec: dict, n_frames: int, mouth: np.ndarray, cut_frame: int | None) -> Iterator[bytes]:
    first = _speaker_image(spec["speaker"])
    second = _speaker_image(spec["second_speaker"]) if "second_speaker" in spec else first
    for i in range(n_frames):
        canvas, box = second if cut_frame is not None and i >= cut_frame else first
        frame = canvas.copy()
        if box is not None:
            _open_mouth(frame, box, mouth[i])
        dx = int(PAN_MARGIN * (1 + np.sin(2 * np.pi * i / (FPS * 6))))
        dy = int(PAN_MARGIN * (1 + 0.5 * np.sin(2 * np.pi * i / (FPS * 9))))
        yield frame[dy : dy + FRAME_H, dx : dx + FRAME_W].tobytes()


def _open_mouth(frame: np.ndarray, box: tuple[int, int, int, int], opening: float) -> None:
    """Stretch the lips-and-chin box downwards, anchored at its top: the jaw drops."""
    top, bottom, left, right = box
    rows = np.arange(top, bottom)
    source_rows = top + ((rows - top) / (1.0 + 0.45 * opening)).astype(int)
    frame[top:bottom, left:right] = frame[source_rows, left:right]


def _encode(frames: Iterator[bytes], audio: np.ndarray, path: Path, spec: dict) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        wav_path = Path(tmp) / "track.wav"
        with wave.open(str(wav_path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(ESPEAK_RATE)
            w.writeframes((np.clip(audio, -1, 1) * 32767).astype(np.int16).tobytes())
        video_in = ffmpeg.input(
            "pipe:", format="rawvideo", pix_fmt="rgb24", s=f"{FRAME_W}x{FRAME_H}", framerate=FPS
        )
        audio_in = ffmpeg.input(str(wav_path))
        codec_args = {
            "vcodec": spec["video_codec"],
            "acodec": spec["audio_codec"],
            "ar": spec["sample_rate"],
            "pix_fmt": "yuv420p",
            "shortest": None,
            "fflags": "+bitexact",
            "map_metadata": -1,
            "threads": 1,
        }
        if spec["video_codec"] == "libvpx":
            codec_args |= {"deadline": "realtime", "cpu-used": 8, "b:v": "600k"}
        else:
            codec_args |= {"preset": "veryfast", "crf": 26, "g": FPS * 2}
        process = (
            ffmpeg.output(video_in, audio_in, str(path), **codec_args)
            .overwrite_output()
            .global_args("-loglevel", "error")
            .run_async(pipe_stdin=True, pipe_stderr=True)
        )
        for frame in frames:
            process.stdin.write(frame)
        process.stdin.close()
        stderr = process.stderr.read().decode(errors="replace")
        if process.wait() != 0:
            raise RuntimeError(f"ffmpeg failed to encode {path.name}: {stderr.strip()}")


def _write_odd_files(out_dir: Path, source: SampleVideo) -> list[SampleVideo]:
    """Files a real input folder holds too: an empty file, a mislabelled one, a duplicate."""
    (out_dir / "empty.mp4").write_bytes(b"")
    (out_dir / "notes.mp4").write_text(
        "Shot list for Tuesday: interviews 1-3, b-roll of the lab.\n"
    )
    shutil.copyfile(out_dir / source.file, out_dir / f"copy_of_{source.file}")
    odd = {
        "empty.mp4": "empty_file",
        "notes.mp4": "not_media",
        f"copy_of_{source.file}": "duplicate",
    }
    return [
        SampleVideo(
            file=name,
            has_face=False,
            has_speech=False,
            utterances=[],
            scene_cuts_s=[],
            duration_s=0.0,
            sample_rate=0,
            expected_ingest=outcome,
        )
        for name, outcome in odd.items()
    ]
