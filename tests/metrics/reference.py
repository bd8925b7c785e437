"""An independent, plain-pandas implementation of docs/metrics.md.

It is written from the document, not from Cynosure's source, and computes every metric from the
raw event rows, with no rollup. Tests compare Cynosure's series against it.

Row-level `where` filters and `sum`/`mean` expressions are SQL by definition ("SQL semantics");
they are evaluated here by running the hand-written expression directly on the raw rows in
DuckDB (`SELECT ... FROM rows WHERE <filter>`), which shares nothing with Cynosure's parsing and
compilation of filters. Everything else (local days, periods, the spine, cohorts, lifecycle,
cumulative totals, formulas) is pandas.

Where the document leaves room, this reading is taken (and the engine agrees):
- rows with no entity or no time are dropped first, so they neither extend the series nor move
  "the last day of data";
- "the last day of data" is the last local day holding a counted event (entities' created
  days do not extend it);
- cohorts whose start day falls outside the series' periods are not reported.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import duckdb
import numpy as np
import pandas as pd

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DIVIDING = ("mean", "ratio", "conversion", "retention")


# -- periods -------------------------------------------------------------------------------


def local_days(values: pd.Series, timezone: str) -> pd.Series:
    """The calendar date of each timestamp in `timezone`; naive timestamps are UTC."""
    stamps = pd.to_datetime(values, utc=True)
    local = stamps.dt.tz_convert(timezone)
    return pd.Series(
        [None if pd.isna(x) else date(x.year, x.month, x.day) for x in local],
        index=values.index,
        dtype=object,
    )


def period_start(day: date, grain: str, week_start: str = "monday") -> date:
    if grain == "day":
        return day
    if grain == "week":
        offset = (day.weekday() - WEEKDAYS.index(week_start)) % 7
        return day - timedelta(days=offset)
    if grain == "month":
        return day.replace(day=1)
    raise ValueError(grain)


def next_period(start: date, grain: str) -> date:
    if grain == "day":
        return start + timedelta(days=1)
    if grain == "week":
        return start + timedelta(days=7)
    if start.month == 12:
        return date(start.year + 1, 1, 1)
    return date(start.year, start.month + 1, 1)


def spine(first: date, last: date, grain: str, week_start: str) -> list[date]:
    out = []
    current = period_start(first, grain, week_start)
    stop = period_start(last, grain, week_start)
    while current <= stop:
        out.append(current)
        current = next_period(current, grain)
    return out


# -- SQL row filters -----------------------------------------------------------------------


class RowSQL:
    """Evaluates SQL conditions and expressions on each raw event row, in DuckDB."""

    def __init__(self, rows: pd.DataFrame):
        self.index = rows.index
        self.con = duckdb.connect()
        self.con.register("rows_", rows.assign(_row=np.arange(len(rows))))
        self._masks: dict[str | None, pd.Series] = {}
        self._values: dict[str, pd.Series] = {}

    def mask(self, condition: str | None) -> pd.Series:
        """True where `condition` is TRUE for the row (NULL and FALSE do not qualify)."""
        if condition not in self._masks:
            hit = np.zeros(len(self.index), dtype=bool)
            if condition:
                found = self.con.execute(f"SELECT _row FROM rows_ WHERE ({condition})").fetchall()
                hit[[row for (row,) in found]] = True
            else:
                hit[:] = True
            self._masks[condition] = pd.Series(hit, index=self.index)
        return self._masks[condition].copy()

    def values(self, expression: str) -> pd.Series:
        """The value of a numeric SQL expression on each row (NaN for NULL)."""
        if expression not in self._values:
            got = self.con.execute(
                f"SELECT CAST(({expression}) AS DOUBLE) FROM rows_ ORDER BY _row"
            ).fetchall()
            self._values[expression] = pd.Series(
                [np.nan if v is None else v for (v,) in got], index=self.index, dtype=float
            )
        return self._values[expression]


# -- formulas ------------------------------------------------------------------------------


def evaluate_formula(text: str, values: Mapping[str, pd.Series]) -> pd.Series:
    """`+ - * /`, numbers and parentheses over series; a division by 0 gives NaN."""

    def ev(node: ast.expr) -> Any:
        if isinstance(node, ast.Name):
            return values[node.id].astype(float)
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.UnaryOp):
            inner = ev(node.operand)
            return -inner if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BinOp):
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            if isinstance(node.op, ast.Mult):
                return left * right
            if isinstance(node.op, ast.Div):
                if isinstance(right, pd.Series):
                    return left / right.where(right != 0)
                return left / right if right != 0 else left * np.nan
        raise ValueError(f"not a formula: {ast.dump(node)}")

    result = ev(ast.parse(text, mode="eval").body)
    index = next(iter(values.values())).index
    if not isinstance(result, pd.Series):
        result = pd.Series(result, index=index)
    return result.astype(float)


# -- the reference -------------------------------------------------------------------------


class Reference:
    """Every metric of a project (the cynosure.yml dict) computed from the raw event rows."""

    def __init__(
        self,
        config: Mapping[str, Any],
        events: pd.DataFrame,
        entities: pd.DataFrame | None = None,
    ):
        self.config = config
        self.timezone = config.get("timezone", "UTC")
        self.week_start = config.get("week_start", "monday")
        spec = config["events"]
        self.entity = spec.get("entity", "user_id")
        self.time = spec.get("time", "timestamp")
        self.name = spec.get("name", "event")
        columns = [
            self.entity,
            self.time,
            self.name,
            *spec.get("dimensions", []),
            *spec.get("properties", []),
        ]
        rows = events[columns].reset_index(drop=True)
        rows = rows[rows[self.entity].notna() & rows[self.time].notna()].reset_index(drop=True)
        self.rows = rows
        self.sql = RowSQL(rows)
        self.day = local_days(rows[self.time], self.timezone)
        self.first_day: date = min(self.day)
        self.last_day: date = max(self.day)
        self.starts = self._start_days(entities)

    def _start_days(self, entities: pd.DataFrame | None) -> dict[Any, date]:
        starts: dict[Any, date] = {}
        by_entity = pd.DataFrame({"e": self.rows[self.entity], "d": self.day})
        for entity, days in by_entity.groupby("e")["d"]:
            starts[entity] = min(days)
        spec = self.config.get("entities")
        if spec and spec.get("created") and entities is not None:
            created = local_days(entities[spec["created"]], self.timezone)
            for key, day in zip(entities[spec["key"]], created, strict=True):
                if day is not None and not pd.isna(key):
                    starts[key] = day
        return starts

    # -- series ----------------------------------------------------------------------------

    def series(self, grain: str) -> pd.DataFrame:
        """One float column per metric, index = period start (datetime.date)."""
        self.grain = grain
        self.periods = spine(self.first_day, self.last_day, grain, self.week_start)
        self.period = self.day.map(lambda d: period_start(d, grain, self.week_start))
        self._memo: dict[str, pd.Series] = {}
        frame = pd.DataFrame(
            {name: self.metric(name) for name in self.config["metrics"]}, index=self.periods
        )
        frame.index.name = "period"
        return frame.astype(float)

    def metric(self, name: str) -> pd.Series:
        if name not in self._memo:
            self._memo[name] = self._compute(self.config["metrics"][name]).astype(float)
        return self._memo[name]

    def _qualifying(self, where: str | None) -> pd.Index:
        return self.rows.index[self.sql.mask(where)]

    def _compute(self, m: Mapping[str, Any]) -> pd.Series:
        where = m.get("where")
        if m.get("lifecycle"):
            return self._lifecycle(m["lifecycle"], where)
        if m.get("count"):
            picked = self._qualifying(where)
            values = self.period[picked].value_counts().reindex(self.periods, fill_value=0)
            return values.cumsum() if m.get("cumulative") else values
        if m.get("users"):
            picked = self._qualifying(where)
            if m.get("cumulative"):
                return self._cumulative_users(picked)
            frame = pd.DataFrame({"p": self.period[picked], "e": self.rows[self.entity][picked]})
            values = frame.groupby("p")["e"].nunique() if len(frame) else pd.Series(dtype=float)
            return values.reindex(self.periods, fill_value=0)
        if "sum" in m:
            picked = self._qualifying(where)
            frame = pd.DataFrame({"p": self.period, "x": self.sql.values(m["sum"])}).loc[picked]
            values = frame.groupby("p")["x"].sum() if len(frame) else pd.Series(dtype=float)
            values = values.reindex(self.periods, fill_value=0.0).fillna(0.0)
            return values.cumsum() if m.get("cumulative") else values
        if "mean" in m:
            picked = self._qualifying(where)
            frame = pd.DataFrame({"p": self.period, "x": self.sql.values(m["mean"])})
            frame = frame.loc[picked].dropna()
            values = frame.groupby("p")["x"].mean() if len(frame) else pd.Series(dtype=float)
            return values.reindex(self.periods)
        if "ratio" in m:
            top, bottom = (self.metric(x) for x in m["ratio"])
            return top / bottom.where(bottom != 0)
        if "formula" in m:
            text = m["formula"]
            names = [
                n.id for n in ast.walk(ast.parse(text, mode="eval")) if isinstance(n, ast.Name)
            ]
            return evaluate_formula(text, {n: self.metric(n) for n in names})
        if "threshold" in m:
            return self._threshold(m["threshold"], where)
        if "conversion" in m:
            return self._conversion(m["conversion"], where)
        if "retention" in m:
            return self._retention(m["retention"], where)
        raise ValueError(f"unknown metric kind: {m}")

    def _cumulative_users(self, picked: pd.Index) -> pd.Series:
        first = pd.DataFrame({"p": self.period[picked], "e": self.rows[self.entity][picked]})
        first_period = first.groupby("e")["p"].min()
        out = []
        for p in self.periods:
            out.append(int((first_period <= p).sum()))
        return pd.Series(out, index=self.periods, dtype=float)

    def _threshold(self, spec: Mapping[str, Any], outer_where: str | None) -> pd.Series:
        where = " AND ".join(f"({w})" for w in (spec.get("where"), outer_where) if w) or None
        picked = self._qualifying(where)
        frame = pd.DataFrame(
            {
                "p": self.period[picked],
                "e": self.rows[self.entity][picked],
                "d": self.day[picked],
            }
        )
        if spec.get("unit", "events") == "days":
            per = frame.groupby(["p", "e"])["d"].nunique()
        else:
            per = frame.groupby(["p", "e"]).size()
        hits = per[per >= spec["at_least"]]
        values = hits.groupby(level="p").size() if len(hits) else pd.Series(dtype=float)
        return values.reindex(self.periods, fill_value=0)

    def _active_days(self, where: str | None, event: str | None = None) -> dict[Any, set[date]]:
        mask = self.sql.mask(where)
        if event is not None:
            mask = mask & (self.rows[self.name] == event)
        out: dict[Any, set[date]] = {}
        for e, d in zip(self.rows[self.entity][mask], self.day[mask], strict=True):
            out.setdefault(e, set()).add(d)
        return out

    def _cohort_share(self, hit_days: dict[Any, set[date]], lo: int, hi: int) -> pd.Series:
        """Per period: among entities starting in it whose window [start+lo, start+hi) has
        ended by the last day of data, the share with a hit day inside the window."""
        size = dict.fromkeys(self.periods, 0)
        hits = dict.fromkeys(self.periods, 0)
        for entity, start in self.starts.items():
            p = period_start(start, self.grain, self.week_start)
            if p not in size:
                continue
            if start + timedelta(days=hi - 1) > self.last_day:
                continue
            size[p] += 1
            window = {start + timedelta(days=k) for k in range(lo, hi)}
            if hit_days.get(entity, set()) & window:
                hits[p] += 1
        return pd.Series(
            [hits[p] / size[p] if size[p] else np.nan for p in self.periods], index=self.periods
        )

    def _conversion(self, spec: Mapping[str, Any], where: str | None) -> pd.Series:
        within = window_days(spec["within"])
        return self._cohort_share(self._active_days(where, spec["event"]), 0, within)

    def _retention(self, spec: Mapping[str, Any], where: str | None) -> pd.Series:
        after = window_days(spec["after"])
        within = window_days(spec.get("within", "7d"))
        return self._cohort_share(self._active_days(where), after, after + within)

    def _lifecycle(self, state: str, where: str | None) -> pd.Series:
        picked = self._qualifying(where)
        frame = pd.DataFrame({"p": self.period[picked], "e": self.rows[self.entity][picked]})
        groups = frame.groupby("p")["e"].agg(set).to_dict() if len(frame) else {}
        active = {p: groups.get(p, set()) for p in self.periods}
        first = frame.groupby("e")["p"].min().to_dict() if len(frame) else {}
        out = []
        for i, p in enumerate(self.periods):
            now = active[p]
            before = active[self.periods[i - 1]] if i > 0 else set()
            if state == "new":
                out.append(sum(1 for e in now if first[e] == p))
            elif state == "retained":
                out.append(len(now & before))
            elif state == "resurrected":
                out.append(sum(1 for e in now - before if first[e] != p))
            elif state == "churned":
                out.append(len(before - now))
            else:
                raise ValueError(state)
        return pd.Series(out, index=self.periods, dtype=float)


def window_days(value: Any) -> int:
    """`7d` -> 7, `2w` -> 14, a bare integer -> days."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text[:-1]) * (7 if text.endswith("w") else 1)


def reference_series(
    config: Mapping[str, Any],
    events: pd.DataFrame,
    grain: str,
    entities: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every metric of `config` at `grain`, computed from the raw rows per docs/metrics.md."""
    return Reference(config, events, entities).series(grain)
