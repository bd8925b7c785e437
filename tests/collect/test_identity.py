"""A later identify or alias moves the events already loaded to the person, exactly once and
crash-safe; chains follow, conflicting merges are refused and recorded."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest

from cynosure.api import Project
from cynosure.collect.loader import Loader, LoadStats, SimulatedCrash, make_sink
from cynosure.collect.log import Position, SegmentLog, frame
from cynosure.collect.state import State
from cynosure.project.load import read_spec

from .conftest import PROJECT, collected
from .conftest import make_project as make_collect_project

PAYERS = """  payers:
    users: true
    where: "event = 'payment_succeeded'"
"""


def make_project(root: Path, extra: str = "") -> Path:
    """The collector tests' project, less the metric on an event these tests never send."""
    path = make_collect_project(root)
    path.write_text(PROJECT.replace(PAYERS, "") + extra)
    return path


WEEK = date(2026, 11, 2)  # the Monday of the week the tests' events fall in


def micros(day: int, hour: int = 12) -> int:
    return int(datetime(2026, 11, day, hour, tzinfo=UTC).timestamp() * 1_000_000)


def track(mid: str, day: int, *, user: str | None = None, anon: str | None = None) -> dict:
    m: dict[str, Any] = {"type": "track", "event": "song_played", "messageId": mid}
    m["properties"] = {"duration_s": 30}
    return _ids(_times(m, day), user, anon)


def identify(mid: str, day: int, user: str, anon: str, **traits: Any) -> dict:
    return _ids(_times({"type": "identify", "messageId": mid, "traits": traits}, day), user, anon)


def alias(mid: str, day: int, previous: str, user: str) -> dict:
    m = {"type": "alias", "messageId": mid, "previousId": previous}
    return _ids(_times(m, day), user, None)


def _times(m: dict[str, Any], day: int) -> dict[str, Any]:
    return {**m, "t": micros(day), "receivedAt": micros(day), "source": "tests", "skew_ms": 0}


def _ids(m: dict[str, Any], user: str | None, anon: str | None) -> dict[str, Any]:
    if user:
        m["userId"] = user
    if anon:
        m["anonymousId"] = anon
    return m


def land(project: Path, messages: list[dict[str, Any]]) -> None:
    """Append messages to the collector's log, durably, as the intake would."""
    log = SegmentLog(project.parent / ".cynosure" / "collect" / "log")
    _, payloads = log.recover()
    list(payloads)
    log.write_durable(b"".join(frame(orjson.dumps(m)) for m in messages))
    log.close()


def load(project: Path, fault: str | None = None) -> LoadStats:
    """One run of the loader over everything landed (a fresh Loader, as after a restart)."""
    spec = read_spec(project)
    directory = project.parent / ".cynosure" / "collect"
    log = SegmentLog(directory / "log")
    loader = Loader(spec, log, directory / "state.sqlite", make_sink(spec))
    loader.fault = fault
    last = log.segments()[-1]
    return loader.run(Position(last, log.path(last).stat().st_size))


def state_of(project: Path) -> State:
    return State(project.parent / ".cynosure" / "collect" / "state.sqlite")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_later_identify_counts_the_person_once(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    seed = project.parent / "data" / "events" / "seed.parquet"
    seed_before = (digest(seed), seed.stat().st_mtime_ns)
    land(project, [track("e1", 3, anon="anon-1"), track("e2", 4, anon="anon-1")])
    load(project)
    with Project.load(project) as live:
        before = live.series("week")["listeners"]
        assert before.loc[WEEK] == 1  # the anonymous visitor
        land(project, [identify("i1", 5, "user-1", "anon-1"), track("e3", 5, user="user-1")])
        stats = load(project)
        assert stats.reattributed == 2 and stats.events == 1
        live.refresh()  # incremental: finds the rewritten part file
        after = live.series("week")["listeners"]
        assert after.loc[WEEK] == 1, "counted twice"
        live.refresh(full=True)
        pd.testing.assert_series_equal(after, live.series("week")["listeners"])
    rows = collected(project).sort_values("message_id")
    assert rows.user_id.tolist() == ["user-1"] * 3
    assert rows.anonymous_id.fillna("-").tolist() == ["anon-1", "anon-1", "-"]
    assert (digest(seed), seed.stat().st_mtime_ns) == seed_before, "the user's file changed"
    state = state_of(project)
    assert state.count("merges_pending") == 0
    state.close()


def test_chains_follow_and_conflicts_are_refused(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    land(project, [track("e1", 3, anon="a1"), identify("i1", 3, "u1", "a1")])
    load(project)
    land(project, [track("e2", 4, user="u1"), track("e3", 4, anon="a2")])
    load(project)
    # u1 renamed to u2; a2 identified as u2; a second person signs in on a1's browser; an
    # alias back from u2 to u1 would make a cycle.
    land(
        project,
        [
            alias("al1", 5, "u1", "u2"),
            identify("i2", 5, "u2", "a2"),
            identify("i3", 6, "u3", "a1"),
            alias("al2", 6, "u2", "u1"),
            track("e4", 6, anon="a1"),
            track("e5", 6, user="u3"),
        ],
    )
    stats = load(project)
    assert stats.conflicts == 1
    rows = collected(project).set_index("message_id").user_id.to_dict()
    assert rows == {"e1": "u2", "e2": "u2", "e3": "u2", "e4": "u2", "e5": "u3"}
    state = state_of(project)
    conflicts = state.db.execute("SELECT message_id, id, kept, refused FROM identity_conflicts")
    assert conflicts.fetchall() == [("i3", "a1", "u1", "u3")]
    state.close()
    assert load(project).conflicts == 0  # nothing new: nothing counted again
    with Project.load(project) as live:
        found = [f for f in live.check().source if f.check == "identities"]
    assert [f.status for f in found] == ["warn"]
    assert "1 merge(s) refused" in found[0].message and "'a1' stays with 'u1'" in found[0].message


@pytest.mark.parametrize("fault", ["after-state", "after-insert", "mid-rewrite", "after-warehouse"])
def test_a_crash_anywhere_reattributes_exactly_once(tmp_path: Path, fault: str) -> None:
    project = make_project(tmp_path)
    land(project, [track("e1", 3, anon="a1"), track("x1", 3, anon="b1")])
    load(project)
    land(project, [track("e2", 4, anon="a1")])
    load(project)  # a second part file holding a1
    land(project, [identify("i1", 5, "u1", "a1"), track("e3", 5, anon="a1")])
    with pytest.raises(SimulatedCrash):
        load(project, fault)
    load(project)
    rows = collected(project)
    assert sorted(rows.message_id) == ["e1", "e2", "e3", "x1"]
    assert rows.set_index("message_id").user_id.to_dict() == {
        "e1": "u1",
        "e2": "u1",
        "e3": "u1",
        "x1": "b1",
    }
    state = state_of(project)
    assert state.count("merges_pending") == 0
    state.close()
