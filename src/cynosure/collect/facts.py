"""Facts about collected and source data that `cynosure check` reports: file schemas and the
quarantine. Metadata only: no events are read."""

from __future__ import annotations

from pathlib import Path

from cynosure.collect.state import State, state_path
from cynosure.engine.sources import Source


def file_types(source: Source) -> dict[str, dict[str, str]]:
    """Each Parquet file's column types (from its footer); empty for other sources."""
    if source.is_table or source.format != "parquet":
        return {}
    import pyarrow.parquet as pq

    found: dict[str, dict[str, str]] = {}
    for name in source.files():
        try:
            schema = pq.read_schema(name)
        except OSError:
            continue  # vanished or unreadable: the engine reports it
        found[Path(name).name] = {f.name: _family(str(f.type)) for f in schema}
    return found


def _family(kind: str) -> str:
    """Types that read the same way count as one (float and double, string and large_string)."""
    if kind in ("float", "double", "halffloat") or kind.startswith(("int", "uint", "decimal")):
        return "number"
    if kind in ("string", "large_string", "string_view"):
        return "string"
    if kind.startswith("timestamp") or kind.startswith("date"):
        return "time"
    return kind


def quarantine_counts(state_dir: Path) -> dict[str, int]:
    """Quarantined collected events by reason (empty when nothing was collected)."""
    return collector_facts(state_dir)[0]


def collector_facts(state_dir: Path) -> tuple[dict[str, int], list[str]]:
    """What `cynosure check` reports from the collector's state, read in one visit:
    quarantined events by reason, and what the loader could not apply to identities (merges
    refused because the id already belongs to someone else, and traits whose value does not
    fit the entities column). Empty when nothing was collected."""
    path = state_path(state_dir / "collect")
    if not path.exists():
        return {}, []
    state = State(path)
    try:
        reasons = state.quarantine_counts()
        db = state.db
        conflicts = db.execute(
            "SELECT count(*), min(id), min(kept), min(refused) FROM identity_conflicts"
        ).fetchone()
        traits = db.execute(
            "SELECT count(*), min(trait), min(expected) FROM trait_problems"
        ).fetchone()
    finally:
        state.close()
    found = []
    if conflicts[0]:
        found.append(
            f"{conflicts[0]} merge(s) refused: the id already belongs to another user "
            f"(e.g. '{conflicts[1]}' stays with '{conflicts[2]}', not '{conflicts[3]}')"
        )
    if traits[0]:
        found.append(
            f"{traits[0]} trait value(s) of the wrong type left out of the entities "
            f"(e.g. '{traits[1]}' should be {traits[2]})"
        )
    return reasons, found
