"""A tree formula that does not hold on the data is flagged where the tree is shown."""

from pathlib import Path

import pandas as pd
import pytest

from cynosure import ProjectError
from tests.metrics.helpers import build

EVENTS = pd.DataFrame(
    {
        "user_id": ["a", "a", "b", "a", "b", "c"],
        "timestamp": pd.to_datetime(
            [
                "2026-03-02 10:00",
                "2026-03-03 10:00",
                "2026-03-03 11:00",
                "2026-03-09 09:00",
                "2026-03-10 09:00",
                "2026-03-11 09:00",
            ]
        ).tz_localize("UTC"),
        "event": ["play"] * 6,
        "country": ["DE"] * 6,
        "amount": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    }
)
METRICS = {
    "plays": {"count": True},
    "players": {"users": True},
    "plays_per_player": {"ratio": ["plays", "players"]},
}


@pytest.mark.parametrize(
    ("formula", "holds"),
    [("players * plays_per_player", True), ("players + plays_per_player", False)],
)
def test_tree_warns_when_its_formula_does_not_hold(
    tmp_path: Path, formula: str, holds: bool
) -> None:
    project, _ = build(
        tmp_path, EVENTS, METRICS, timezone="UTC", week_start="monday", tree={"plays": formula}
    )
    tree = project.tree(period="2026-W11")
    root = tree.nodes[0]
    total = sum(node.contribution or 0.0 for node in tree.nodes[1:])
    assert (abs(total - (root.change or 0.0)) < 1e-9) is holds
    assert (tree.warnings == []) is holds
    if not holds:
        assert "plays does not equal players + plays_per_player" in tree.warnings[0]
        assert any(line.startswith("Warning:") for line in tree.summary())
        with pytest.raises(ProjectError, match="does not equal"):
            project.validate()
