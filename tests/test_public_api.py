"""The public API is small and pinned: changing it is a decision, not an accident."""

import cynosure


def test_exported_names_are_pinned() -> None:
    assert sorted(cynosure.__all__) == [
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
    for name in cynosure.__all__:
        assert getattr(cynosure, name) is not None


def test_errors_are_also_builtin_errors() -> None:
    assert issubclass(cynosure.ProjectError, ValueError)
    assert issubclass(cynosure.DataError, ValueError)
    assert issubclass(cynosure.PeriodError, ValueError)
    assert issubclass(cynosure.NoEventsError, cynosure.PeriodError)
    assert issubclass(cynosure.UnknownMetricError, KeyError)
    for error in (cynosure.ProjectError, cynosure.DataError, cynosure.UnknownMetricError):
        assert issubclass(error, cynosure.CynosureError)
