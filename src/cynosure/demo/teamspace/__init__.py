"""Teamspace: a synthetic B2B team-chat product with planted, documented truths.

A second demo, shaped unlike Tunewave (members, not users; a local time zone and Sunday weeks;
other effects, sizes and lags), for checking that analyses are not tuned to one dataset.
``generate`` writes a ready-to-use Cynosure project; ``truths`` holds the effects hidden in it.
"""

from cynosure.demo.teamspace import truths
from cynosure.demo.teamspace.generator import generate

__all__ = ["generate", "truths"]
