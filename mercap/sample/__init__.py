"""Deterministic sample input: real photos shipped by packages, animated, with espeak-ng speech."""

from mercap.sample.generate import SampleManifest, generate_sample

__all__ = ["SampleManifest", "generate_sample"]
