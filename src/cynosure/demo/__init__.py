"""Tunewave: a synthetic music-streaming product with planted, documented truths.

``generate`` writes a ready-to-use Cynosure project (events, users and ``cynosure.yml``);
``truths`` holds the effects hidden in its data, for checking analyses against.
"""

from cynosure.demo import truths
from cynosure.demo.generator import DemoSummary, generate

__all__ = ["DemoSummary", "generate", "truths"]
