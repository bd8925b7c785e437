"""Cynosure: the North Star Metric platform.

Declare the North Star Metric and its inputs in `cynosure.yml`, then:

    >>> from cynosure import Project
    >>> project = Project.load("cynosure.yml")
    >>> project.tree().summary()
"""

from cynosure.analysis.aha import AhaResult
from cynosure.analysis.candidates import CandidatesResult
from cynosure.analysis.explain import ExplainResult
from cynosure.analysis.impact import ImpactRanking, ImpactResult
from cynosure.analysis.leadlag import LeadLagResult
from cynosure.analysis.localize import Localization, localize
from cynosure.analysis.targets import TargetsResult
from cynosure.analysis.watch import WatchResult
from cynosure.api import Project
from cynosure.errors import (
    CynosureError,
    DataError,
    NoEventsError,
    PeriodError,
    Problem,
    ProjectError,
    UnknownMetricError,
)
from cynosure.results import MetricsResult, RefreshResult, Result
from cynosure.tree.compute import TreeResult

__all__ = [
    "AhaResult",
    "CandidatesResult",
    "CynosureError",
    "DataError",
    "ExplainResult",
    "ImpactRanking",
    "ImpactResult",
    "LeadLagResult",
    "Localization",
    "MetricsResult",
    "NoEventsError",
    "PeriodError",
    "Problem",
    "Project",
    "ProjectError",
    "RefreshResult",
    "Result",
    "TargetsResult",
    "TreeResult",
    "UnknownMetricError",
    "WatchResult",
    "localize",
]
__version__ = "0.1.0"
