"""Speech stages on generated speech, beside floors measured in the same run.

- ASR real-time factor of the asr stage's annotator (whisperx VAD + batched decoding + word
  timings + no-speech step) beside plain faster-whisper doing the same job (its batched
  pipeline with word timestamps) on the same audio, same model, same threads.
- Clip extraction (the segment annotator: scene cuts, pause levels, one ffmpeg pass per clip)
  beside one ffmpeg transcode of the whole source to the same formats.
- Peak RSS of a child process running ASR and segmentation on a long input.

    uv run python bench/asr.py [--minutes 10] [--rss-minutes 60]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def long_input(sample_dir: Path, minutes: float, out: Path) -> Path:
    """The sample's monologue looped to `minutes` (stream copy: no re-encode)."""
    source = sample_dir / "monologue.mp4"
    loops = int(minutes * 60 / 16.7) + 1
    args = ["ffmpeg", "-v", "error", "-y", "-stream_loop", str(loops - 1), "-i", str(source)]
    subprocess.run([*args, "-c", "copy", "-t", str(minutes * 60), str(out)], check=True)
    return out


def probe(path: Path):
    from annotators.probe import VideoProbe
    from schemas.records import SourceFile

    [result] = VideoProbe().annotate([SourceFile.from_path(path)])
    return result.output


def asr_figures(video) -> dict:
    import whisperx
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    from annotators.asr import AsrParams, WhisperxTranscriber, resolve_model

    params = AsrParams()
    audio = whisperx.load_audio(video.source_path)
    model_path, _ = resolve_model(params.model)
    plain = BatchedInferencePipeline(
        WhisperModel(
            model_path, device="cpu", compute_type=params.compute_type, cpu_threads=params.threads
        )
    )
    started = time.perf_counter()
    segments, _ = plain.transcribe(
        audio,
        batch_size=params.batch_size,
        beam_size=params.beam_size,
        language="en",
        word_timestamps=True,
    )
    words = sum(len(s.words) for s in segments)  # the generator does the work
    floor_s = time.perf_counter() - started

    transcriber = WhisperxTranscriber(params)
    transcriber.setup()
    started = time.perf_counter()
    [result] = transcriber.annotate([video])
    ours_s = time.perf_counter() - started
    return {
        "floor_s": floor_s,
        "ours_s": ours_s,
        "floor_words": words,
        "our_words": len(result.output.words),
        "transcript": result.output,
        "version": transcriber.version,
    }


def extraction_figures(video, transcript, version: str, workspace: Path) -> dict:
    from annotators.segment import SegmentInput, UtteranceSegmenter

    started = time.perf_counter()
    args = ["ffmpeg", "-v", "error", "-y", "-i", video.source_path, "-c:v", "libx264"]
    args += ["-preset", "veryfast", "-crf", "20", "-c:a", "aac", str(workspace / "one.mp4")]
    subprocess.run([*args, "-ac", "1", "-ar", "16000", str(workspace / "one.wav")], check=True)
    floor_s = time.perf_counter() - started
    segmenter = UtteranceSegmenter(workspace=workspace)
    started = time.perf_counter()
    [result] = segmenter.annotate(
        [SegmentInput(video=video, transcript=transcript, transcript_version=version)]
    )
    return {
        "floor_s": floor_s,
        "ours_s": time.perf_counter() - started,
        "clips": len(result.output.clips),
    }


def rss_child(path: Path, workspace: Path) -> None:
    """Runs in a child process: ASR + segmentation of one long video; prints its result."""
    from annotators.asr import WhisperxTranscriber
    from annotators.segment import SegmentInput, UtteranceSegmenter

    video = probe(path)
    transcriber = WhisperxTranscriber()
    transcriber.setup()
    [heard] = transcriber.annotate([video])
    [cut] = UtteranceSegmenter(workspace=workspace).annotate(
        [SegmentInput(video=video, transcript=heard.output, transcript_version="bench")]
    )
    print(json.dumps({"clips": len(cut.output.clips) if cut.output else 0}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rss-minutes", type=float, default=60)
    parser.add_argument("--rss-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child, args.rss_child.parent)
        return

    from mercap.sample import generate_sample

    with tempfile.TemporaryDirectory(prefix="mercap-bench-asr-") as tmp:
        out = Path(tmp)
        generate_sample(out / "sample")
        video = probe(long_input(out / "sample", args.minutes, out / "long.mp4"))
        asr = asr_figures(video)
        (out / "ws").mkdir()
        cut = extraction_figures(video, asr["transcript"], asr["version"], out / "ws")
        (out / "rss").mkdir()
        rss_input = long_input(out / "sample", args.rss_minutes, out / "rss" / "long.mp4")
        child = subprocess.run(
            [sys.executable, __file__, "--rss-child", str(rss_input)],
            capture_output=True,
            text=True,
            check=True,
        )
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    audio_s = args.minutes * 60
    print(
        f"asr benchmark: {args.minutes:g} min of generated speech, whisper tiny.en int8, "
        f"{os.cpu_count()} cores"
    )
    print(
        f"  floor: plain faster-whisper    {asr['floor_s']:7.1f} s   RTF {asr['floor_s'] / audio_s:.3f}"
        f"   ({asr['floor_words']} words)"
    )
    print(
        f"  asr stage annotator            {asr['ours_s']:7.1f} s   RTF {asr['ours_s'] / audio_s:.3f}"
        f"   ({asr['our_words']} words)   overhead {asr['ours_s'] / asr['floor_s'] - 1:+.0%}"
    )
    print(f"  floor: one ffmpeg transcode    {cut['floor_s']:7.1f} s")
    print(
        f"  clip extraction (segment)      {cut['ours_s']:7.1f} s   ({cut['clips']} clips)"
        f"   x{cut['ours_s'] / cut['floor_s']:.2f} floor"
    )
    print(
        f"  peak RSS, {args.rss_minutes:g}-min input (asr + segment in a child): {peak_mb:,.0f} MB"
        f"   {child.stdout.strip()}"
    )


if __name__ == "__main__":
    main()
