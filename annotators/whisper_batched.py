"""Two pieces plugged into whisperx through its own hooks (`load_model(model=, vad_model=)`).

`WhisperWithTimings`: whisperx's batched Whisper that also returns what the same encoder pass
gives — word timings (the cross-attention alignment behind whisper's word timestamps) and the
no-speech probability — so they cost no second encoding. `SileroOnnxVad`: whisperx's VAD
interface over the Silero ONNX model that faster-whisper ships (whisperx's own Silero loader
downloads through torch.hub; its pyannote VAD is slow on CPU).
"""

from __future__ import annotations

import numpy as np
from faster_whisper.transcribe import merge_punctuations
from faster_whisper.vad import VadOptions, get_speech_timestamps
from whisperx.asr import WhisperModel
from whisperx.diarize import Segment
from whisperx.vads.vad import Vad

SAMPLE_RATE = 16_000
PREPEND_PUNCTUATION = "\"'“¿([{-"
APPEND_PUNCTUATION = "\"'.。,，!！?？:：”)]}、"


class WhisperWithTimings(WhisperModel):
    """Per decoded item, in call order, `extras` gets {"no_speech_prob", "words"} with word
    times relative to the item's chunk. whisperx's pipeline decodes batches one after another,
    so `extras` lines up with its segments."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.extras: list[dict] = []

    def generate_segment_batched(self, features, tokenizer, options, encoder_output=None):
        batch_size = features.shape[0]
        previous = []
        if options.initial_prompt is not None:
            previous = tokenizer.encode(" " + options.initial_prompt.strip())
        prompt = self.get_prompt(
            tokenizer,
            previous,
            without_timestamps=options.without_timestamps,
            prefix=options.prefix,
            hotwords=options.hotwords,
        )
        encoder_output = self.encode(features)
        results = self.model.generate(
            encoder_output,
            [prompt] * batch_size,
            beam_size=options.beam_size,
            patience=options.patience,
            length_penalty=options.length_penalty,
            max_length=self.max_length,
            suppress_blank=options.suppress_blank,
            suppress_tokens=options.suppress_tokens,
            no_repeat_ngram_size=options.no_repeat_ngram_size,
            repetition_penalty=options.repetition_penalty,
            return_scores=True,
            return_no_speech_prob=True,
        )
        tokens = [[t for t in r.sequences_ids[0] if t < tokenizer.eot] for r in results]
        avg_logprobs = [
            r.scores[0]
            * len(r.sequences_ids[0]) ** options.length_penalty
            / (len(r.sequences_ids[0]) + 1)
            for r in results
        ]
        words = self._word_timings(tokenizer, tokens, encoder_output, content_frames(features))
        self.extras += [
            {"no_speech_prob": float(r.no_speech_prob), "words": w}
            for r, w in zip(results, words, strict=True)
        ]
        return {"text": tokenizer.tokenizer.decode_batch(tokens), "avg_logprob": avg_logprobs}

    def _word_timings(self, tokenizer, tokens, encoder_output, frames) -> list[list[dict]]:
        if not any(tokens):
            return [[] for _ in tokens]
        # an empty item gets one token so the batch aligns whole; its words are dropped below
        padded = [t or [tokenizer.eot] for t in tokens]
        alignments = self.find_alignment(tokenizer, padded, encoder_output, frames)
        timings = []
        for item_tokens, alignment in zip(tokens, alignments, strict=True):
            if not item_tokens:
                timings.append([])
                continue
            merge_punctuations(alignment, PREPEND_PUNCTUATION, APPEND_PUNCTUATION)
            timings.append([w for w in alignment if w["word"].strip()])
        return timings


def content_frames(features: np.ndarray) -> list[int]:
    """Frames of real audio per item: whisperx pads each chunk with zeros to 30 s, and padded
    log-mel frames are flat (every bin at the floor), so trailing flat frames are padding."""
    mel = np.asarray(features)  # whisperx's data loader hands over a torch tensor
    flat = mel.max(axis=1) == mel.min(axis=1)  # (batch, frames)
    trailing = np.argmin(flat[:, ::-1], axis=1)  # first non-flat frame from the end
    trailing[flat.all(axis=1)] = flat.shape[1]
    return [max(1, int(flat.shape[1] - n)) for n in trailing]


class SileroOnnxVad(Vad):
    def __init__(self, vad_onset: float = 0.5, chunk_size: int = 30, **_: object):
        super().__init__(vad_onset)
        self.options = VadOptions(threshold=vad_onset, max_speech_duration_s=chunk_size)

    def __call__(self, audio: dict, **_: object) -> list[Segment]:
        if audio["sample_rate"] != SAMPLE_RATE:
            raise ValueError("the VAD takes 16 kHz audio")
        spans = get_speech_timestamps(audio["waveform"], self.options)
        return [Segment(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE, "UNKNOWN") for s in spans]

    @staticmethod
    def preprocess_audio(audio: np.ndarray) -> np.ndarray:
        return audio

    @staticmethod
    def merge_chunks(segments, chunk_size, onset=0.5, offset=None):
        return Vad.merge_chunks(segments, chunk_size, onset, offset) if segments else []
