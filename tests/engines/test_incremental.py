"""An incremental refresh gives, on every engine, what DuckDB and a full rebuild give, and
recomputes only the days whose events changed.

Each engine's project is built from the demo, then its events change three ways: a new day
of events arrives (a new Parquet file in the events glob; rows inserted into a table), a late
event lands on a day long rolled up (in that same new file), and one value of an existing day
is corrected (the file rewritten; the row updated). The refresh must recompute exactly those
three days; the rollup (every measure of every entity and day) and every metric by day must
then equal DuckDB's full build over the changed events, and the engine's rollup its own full
rebuild (every metric at every grain is a function of the rollup, and the parity suite checks
that function on each engine). On Spark the project shares its session with another one of
the same name, and its full rebuild finds the rollup's old directory in the way.
"""

from __future__ import annotations

import glob
import shutil
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlparse

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cynosure.api import Project
from cynosure.demo import generate

from .conftest import project_on, rollup_rows
from .test_parity import assert_frames_equal


def _events(demo: Path) -> pa.Table:
    return pq.read_table(sorted(glob.glob(str(demo / "data" / "events" / "*.parquet"))))


def changes(events: pa.Table) -> tuple[pa.Table, pa.Table]:
    """(the rows to append: a new day and a late event; every row with one value corrected)."""
    frame = events.to_pandas()
    plays = frame[frame.event == "song_played"]
    days = sorted(set(plays.timestamp.dt.date))
    last = plays[plays.timestamp.dt.date == days[-1]].head(25).copy()
    last["timestamp"] += pd.Timedelta(days=1)  # a new day
    late = plays.head(1).copy()
    late["timestamp"] = pd.Timestamp(f"{days[9]} 12:30:00", tz="UTC")
    late["duration_s"] = 100.0
    appended = pd.concat([last, late], ignore_index=True)
    corrected = frame.copy()
    target = corrected.index[
        (corrected.event == "song_played") & (corrected.timestamp.dt.date == days[30])
    ][0]
    corrected.loc[target, "duration_s"] += 60.0
    schema = events.schema
    return (
        pa.Table.from_pandas(appended, schema=schema, preserve_index=False),
        pa.Table.from_pandas(corrected, schema=schema, preserve_index=False),
    )


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A smaller demo (fewer days: fewer partitions for Spark to write)."""
    directory = tmp_path_factory.mktemp("inc") / "demo"
    generate(directory, users=200, months=2, seed=11)
    return directory


@pytest.fixture(scope="module")
def changed(small: Path) -> tuple[pa.Table, pa.Table]:
    return changes(_events(small))


def change_files(root: Path, appended: pa.Table, corrected: pa.Table) -> None:
    folder = root / "data" / "events"
    (original,) = sorted(folder.glob("*.parquet"))
    pq.write_table(corrected, original)
    pq.write_table(appended, folder / "part-99999.parquet")


@pytest.fixture(scope="module")
def expected(
    small: Path, changed: tuple[pa.Table, pa.Table], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, pd.DataFrame]:
    """DuckDB's full build over the changed events: its rollup and every metric by day."""
    path = project_on(small, tmp_path_factory.mktemp("inc-ref") / "p", "duckdb:///w.duckdb")
    change_files(path.parent, *changed)
    with Project.load(path) as project:
        return {"day": project.series("day"), "rollup": rollup_rows(project)}


def _on_files(warehouse: str) -> Callable[..., Project]:
    def make(demo: Path, target: Path, changed: tuple[pa.Table, pa.Table], **_: object) -> Project:
        path = project_on(demo, target, warehouse)
        project = Project.load(path)
        project.refresh()

        def change() -> None:
            change_files(target, *changed)

        project.change = change  # type: ignore[attr-defined]
        return project

    return make


def _on_postgres(
    demo: Path, target: Path, changed: tuple[pa.Table, pa.Table], *, postgres_url: str
) -> Project:
    import ibis

    con = ibis.postgres.connect(
        host="127.0.0.1", port=urlparse(postgres_url).port, user="postgres", database="postgres"
    )
    con.create_table("events_inc", _events(demo), overwrite=True)
    con.create_table("users_inc", pq.read_table(demo / "data" / "users.parquet"), overwrite=True)
    path = project_on(demo, target, postgres_url, tables=True)
    text = path.read_text().replace("source: events", "source: events_inc")
    path.write_text(text.replace("source: users", "source: users_inc"))
    project = Project.load(path)
    project.refresh()
    appended, corrected = changed
    before = _events(demo).column("duration_s").to_pylist()
    after = corrected.column("duration_s").to_pylist()
    (index,) = [i for i, value in enumerate(after) if value != before[i]]
    fixed = corrected.slice(index, 1).to_pylist()[0]

    def change() -> None:
        con.insert("events_inc", appended)
        con.raw_sql(
            f"UPDATE events_inc SET duration_s = {float(fixed['duration_s'])!r} "
            f"WHERE user_id = '{fixed['user_id']}' AND event = 'song_played' "
            f"AND timestamp = '{fixed['timestamp'].isoformat()}'"
        )
        con.disconnect()

    project.change = change  # type: ignore[attr-defined]
    return project


ENGINES = [
    pytest.param(_on_files("duckdb:///.cynosure/w.duckdb"), id="duckdb"),
    pytest.param(_on_postgres, marks=pytest.mark.xdist_group("postgres"), id="postgres"),
]


def refresh_incrementally(project: Project, expected: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Change the events, refresh, check against DuckDB; the rollup's rows."""
    project.change()  # type: ignore[attr-defined]
    stats = project.refresh()
    assert not stats.full
    assert stats.days_recomputed == 3  # the new day, the late event's, the corrected one
    incremental = rollup_rows(project)
    pd.testing.assert_frame_equal(expected["rollup"], incremental, check_dtype=False)
    assert_frames_equal(expected["day"], project.series("day"))
    return incremental


@pytest.mark.parametrize("make", ENGINES)
def test_incremental_refresh_matches_duckdb_and_a_full_rebuild(
    make: Callable[..., Project],
    request: pytest.FixtureRequest,
    small: Path,
    changed: tuple[pa.Table, pa.Table],
    expected: dict[str, pd.DataFrame],
    tmp_path: Path,
) -> None:
    extra = {}
    if "postgres" in request.node.callspec.id:
        extra["postgres_url"] = request.getfixturevalue("postgres_url")
    with make(small, tmp_path / "p", changed, **extra) as project:
        incremental = refresh_incrementally(project, expected)
        assert project.refresh(full=True).full
        pd.testing.assert_frame_equal(incremental, rollup_rows(project), check_dtype=False)


@pytest.mark.xdist_group("spark")
def test_spark_incremental_refresh_beside_another_project_and_over_a_leftover_directory(
    spark_project: Project,
    duckdb_project: Project,
    small: Path,
    changed: tuple[pa.Table, pa.Table],
    expected: dict[str, pd.DataFrame],
    tmp_path: Path,
) -> None:
    """On Spark, in the session of the parity suite's project: the same project file (the
    same table names) over other events, so the two must keep their tables apart; its full
    rebuild then meets the rollup's directory left behind without its catalog entry."""
    with _on_files("spark://local[2]")(small, tmp_path / "p", changed) as project:
        incremental = refresh_incrementally(project, expected)
        assert project._rollup.name == spark_project._rollup.name
        session = project.con._session
        assert session.catalog.currentDatabase() != (
            spark_project.con._session.catalog.currentDatabase()
        )
        spark_project.refresh()
        duckdb_project.refresh()
        assert rollup_rows(spark_project).equals(rollup_rows(duckdb_project))

        name = project._rollup.name
        session.catalog.uncacheTable(name)
        (location,) = [
            row.data_type
            for row in session.sql(f"DESCRIBE TABLE EXTENDED `{name}`").collect()
            if row.col_name == "Location"
        ]
        directory = Path(unquote(urlparse(location).path))
        shutil.copytree(directory, tmp_path / "kept")
        session.sql(f"DROP TABLE `{name}`")
        shutil.copytree(tmp_path / "kept", directory)  # LOCATION_ALREADY_EXISTS, unless...
        assert project.refresh(full=True).full
        pd.testing.assert_frame_equal(incremental, rollup_rows(project), check_dtype=False)
