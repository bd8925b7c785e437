"""Facts about collected and source data that `cynosure check` reports: file schemas and the
quarantine. Metadata only: no events are read."""

from __future__ import annotations

from pathlib import Path

from cynosure.collect.state import State
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
    path = state_dir / "collect" / "state.sqlite"
    if not path.exists():
        return {}
    state = State(path)
    try:
        return state.quarantine_counts()
    finally:
        state.close()
