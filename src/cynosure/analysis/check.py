"""Is the instrumentation behind each metric healthy? The audit behind `cynosure check`.

Every measurement runs as SQL in the engine and comes back as a compact aggregate (counts by
day and event name, duplicate counts by day, a few rates); raw events never leave the
warehouse. Per metric, the events its filters name are checked for presence and recency
(an event that stopped while another started that day is reported as a likely rename),
daily volume anomalies, and gaps; source-wide checks cover missing days, duplicates (by
messageId when the events were collected, else identical entity/time/name rows), null and
anonymous entities, late arrivals, clock skew, property types drifting between files, and
the collector's quarantine.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from cynosure.engine.localtime import as_timestamp
from cynosure.results import Result, fmt

Status = Literal["ok", "warn", "fail"]
STALE_DAYS = 2  # an event unseen for longer than this before the data's last day has stopped
DUPLICATE_DAY_FAIL = 0.05
DUPLICATE_FAIL = 0.01
NULL_ENTITY_WARN, NULL_ENTITY_FAIL = 0.01, 0.10
LATE_HOURS = 24
SKEW_SECONDS = 60
ANOMALY_MADS = 6.0  # robust z of a day's log volume against the 4 same weekdays before
MIN_ANOMALY_RATIO = 0.5


class Finding(BaseModel):
    """One check's outcome."""

    model_config = ConfigDict(frozen=True)

    check: str
    status: Status
    message: str
    event: str | None = None
    value: float | None = None
    days: list[str] = Field(default_factory=list)


class MetricHealth(BaseModel):
    """The checks of one metric's events."""

    model_config = ConfigDict(frozen=True)

    metric: str
    label: str
    events: list[str]
    status: Status
    findings: list[Finding]


class CheckResult(Result):
    """The instrumentation audit: per metric, and for the events source as a whole."""

    project: str
    first_day: str | None
    last_day: str | None
    events: int
    metrics: list[MetricHealth]
    source: list[Finding]
    quarantine: dict[str, int]
    ok: bool

    def summary(self) -> list[str]:
        failed = [m for m in self.metrics if m.status == "fail"]
        bad = [f for f in self.source if f.status == "fail"]
        span = f", {self.first_day} to {self.last_day}" if self.first_day else ""
        head = (
            f"{self.project}: instrumentation healthy ({len(self.metrics)} metrics, "
            f"{fmt(self.events)} events{span})."
            if self.ok
            else f"{self.project}: {len(failed)} metric(s) and {len(bad)} source check(s) "
            f"failed ({fmt(self.events)} events{span})."
        )
        lines = [head]
        for finding in self.source:
            if finding.status != "ok":
                lines.append(f"[{finding.status}] {finding.message}")
        for metric in self.metrics:
            for finding in metric.findings:
                if finding.status != "ok":
                    lines.append(f"[{finding.status}] {metric.metric}: {finding.message}")
        return lines


def _worst(findings: list[Finding]) -> Status:
    statuses = {f.status for f in findings}
    return "fail" if "fail" in statuses else "warn" if "warn" in statuses else "ok"


DayOf = Callable[[ir.Value], ir.DateValue]


def utc_day(column: ir.Value) -> ir.DateValue:
    """The UTC calendar day of a time column."""
    return as_timestamp(column).cast("timestamp").date()


def daily_counts(events: ir.Table, time: str, name: str, day_of: DayOf = utc_day) -> pd.DataFrame:
    """Rows by local day and event name (SQL): columns day, name, n."""
    day = day_of(events[time]).name("day")
    frame = (
        events.group_by([day, events[name].cast("string").name("name")])
        .agg(n=ibis._.count())
        .execute()
    )
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return frame


def duplicates_by_day(
    events: ir.Table, key: list[str], time: str, day_of: DayOf = utc_day
) -> pd.DataFrame:
    """Extra copies by local day (SQL): rows beyond the first with the same `key`."""
    grouped = events.group_by([events[c] for c in key]).agg(n=ibis._.count(), at=events[time].min())
    extra = grouped.filter(grouped.n > 1)
    frame = extra.group_by(day_of(extra.at).name("day")).agg(extra=(extra.n - 1).sum()).execute()
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return frame


def presence(daily: pd.DataFrame, event: str, last: date, started: dict[str, date]) -> Finding:
    """Is `event` present and still arriving? (A stop matched by a start is a rename.)"""
    rows = daily[daily["name"] == event]
    if rows.empty:
        return Finding(
            check="present",
            status="fail",
            event=event,
            message=f"'{event}' never occurs in the events",
        )
    seen = max(rows["day"])
    if (last - seen).days > STALE_DAYS:
        stopped = seen + timedelta(days=1)
        renamed = sorted(
            n for n, d in started.items() if abs((d - stopped).days) <= 1 and n != event
        )
        hint = f"; '{renamed[0]}' started that day: renamed?" if renamed else ""
        return Finding(
            check="recent",
            status="fail",
            event=event,
            message=f"'{event}' stopped arriving after {seen} ({(last - seen).days} days before "
            f"the data's last day){hint}",
            days=[str(seen)],
        )
    return Finding(
        check="recent",
        status="ok",
        event=event,
        message=f"'{event}' last seen {seen}",
        value=float(rows["n"].sum()),
    )


def anomalies(counts: pd.Series, event: str, window: int) -> Finding:
    """Days of the last `window` whose volume is far from the same weekdays before."""
    values = np.log1p(counts.to_numpy(dtype=float))
    flagged: list[str] = []
    for position in range(max(28, len(values) - window), len(values)):
        before = values[[position - 7 * k for k in range(1, 5)]]
        centre = float(np.median(before))
        spread = max(float(np.median(np.abs(before - centre))) * 1.4826, 0.1)
        z = (values[position] - centre) / spread
        ratio = abs(np.expm1(values[position]) / max(np.expm1(centre), 1.0) - 1)
        if abs(z) > ANOMALY_MADS and ratio > MIN_ANOMALY_RATIO:
            flagged.append(str(counts.index[position]))
    if flagged:
        shown = ", ".join(flagged[:5]) + (" ..." if len(flagged) > 5 else "")
        return Finding(
            check="volume",
            status="warn",
            event=event,
            message=f"'{event}' had abnormal daily volume on {shown}",
            days=flagged,
        )
    return Finding(check="volume", status="ok", event=event, message=f"'{event}' volume normal")


def rate_finding(
    check: str, rate: float | None, warn: float, fail: float, what: str, event: str | None = None
) -> Finding:
    if rate is None:
        return Finding(check=check, status="ok", message=f"{what}: not measurable", event=event)
    status: Status = "fail" if rate > fail else "warn" if rate > warn else "ok"
    return Finding(
        check=check, status=status, message=f"{what}: {rate * 100:.2f}%", value=rate, event=event
    )


def type_drift(types_by_file: dict[str, dict[str, str]], columns: list[str]) -> list[Finding]:
    """Columns whose type differs between files of the events source."""
    found = []
    for column in columns:
        kinds: dict[str, list[str]] = {}
        for file, types in types_by_file.items():
            if column in types:
                kinds.setdefault(types[column], []).append(file)
        if len(kinds) > 1:
            parts = sorted(kinds.items(), key=lambda kv: -len(kv[1]))
            text = "; ".join(
                f"{kind} in {len(files)} file(s)" + (f" (e.g. {files[0]})" if i else "")
                for i, (kind, files) in enumerate(parts)
            )
            found.append(
                Finding(
                    check="types",
                    status="fail",
                    message=f"property '{column}' changes type between files: {text}",
                    event=None,
                )
            )
    return found


def run_check(
    project: str,
    events: ir.Table,
    *,
    entity: str,
    time: str,
    name: str,
    metric_events: dict[str, list[str]],
    labels: dict[str, str],
    types_by_file: dict[str, dict[str, str]],
    typed_columns: list[str],
    quarantine: dict[str, int],
    identity: list[str] | None = None,
    window: int = 28,
    day_of: DayOf = utc_day,
    progress: Callable[[str], None] | None = None,
) -> CheckResult:
    """Every check, on the events table `events` (an Ibis table; the work runs in SQL), with
    days cut by `day_of` (the project's time zone)."""
    say = progress or (lambda _: None)
    identity = identity or []
    say("Counting events by day and name")
    daily = daily_counts(events, time, name, day_of)
    if daily.empty:
        empty = [
            Finding(
                check="present",
                status="fail",
                message="no events yet: send some to the collector, or check events.source",
            )
        ]
        return CheckResult(
            project=project,
            first_day=None,
            last_day=None,
            events=0,
            metrics=[],
            source=empty,
            quarantine=quarantine,
            ok=False,
        )
    first, last = min(daily["day"]), max(daily["day"])
    total = int(daily["n"].sum())
    days = pd.date_range(first, last, freq="D").date
    by_day = daily.groupby("day")["n"].sum().reindex(days, fill_value=0)
    source: list[Finding] = []
    missing = [str(d) for d, n in by_day.items() if n == 0]
    source.append(
        Finding(
            check="gaps",
            status="fail" if missing else "ok",
            message=f"no events at all on {len(missing)} day(s): {', '.join(missing[:5])}"
            if missing
            else "no day without events",
            days=missing,
        )
    )
    say("Counting duplicates")
    columns = set(events.columns)
    by_id = "message_id" in columns
    key = ["message_id"] if by_id else [entity, time, name]
    dup_source = events.filter(events.message_id.notnull()) if by_id else events
    dups = duplicates_by_day(dup_source, key, time, day_of)
    extra = int(dups["extra"].sum()) if not dups.empty else 0
    burst = []
    for _, row in dups.iterrows():
        if row["extra"] / max(by_day.get(row["day"], 1), 1) > DUPLICATE_DAY_FAIL:
            burst.append(str(row["day"]))
    what = "messageId" if by_id else "identical entity, time and event"
    rate = extra / total
    status: Status = "fail" if burst or rate > DUPLICATE_FAIL else "warn" if extra else "ok"
    message = f"{fmt(extra)} duplicate rows ({rate * 100:.2f}%, same {what})"
    if burst:
        message += f"; bursts on {', '.join(sorted(burst)[:5])}"
    source.append(
        Finding(check="duplicates", status=status, message=message, value=rate, days=sorted(burst))
    )
    say("Measuring entities, lateness and clock skew")
    rates: dict[str, Any] = {"nulls": events[entity].isnull().sum()}
    if "anonymous_id" in columns:
        rates["anonymous"] = (events[entity] == events.anonymous_id).sum()
    if "received_at" in columns:
        lateness = events.received_at.cast("timestamp").epoch_seconds().cast("float64") - events[
            time
        ].cast("timestamp").epoch_seconds().cast("float64")
        rates["late"] = (lateness > LATE_HOURS * 3600).sum()
    if "clock_skew_ms" in columns:
        rates["skewed"] = (events.clock_skew_ms.abs() > SKEW_SECONDS * 1000).sum()
    measured = events.aggregate(**{k: v for k, v in rates.items()}).execute().iloc[0]
    count = lambda key: float(measured[key] or 0) / total if key in measured else None  # noqa: E731
    source.append(
        rate_finding(
            "entities",
            count("nulls"),
            NULL_ENTITY_WARN,
            NULL_ENTITY_FAIL,
            f"events without an entity ({entity})",
        )
    )
    source.append(
        rate_finding(
            "anonymous",
            count("anonymous"),
            0.2,
            1.0,
            "events from anonymous (never identified) entities",
        )
    )
    source.append(
        rate_finding(
            "late", count("late"), 0.01, 1.0, f"events arriving more than {LATE_HOURS} h late"
        )
    )
    source.append(
        rate_finding(
            "clock_skew",
            count("skewed"),
            0.01,
            1.0,
            f"events sent from clocks off by more than {SKEW_SECONDS} s",
        )
    )
    source.extend(type_drift(types_by_file, typed_columns))
    if quarantine:
        total_q = sum(quarantine.values())
        top = ", ".join(f"{r} ({n})" for r, n in list(quarantine.items())[:3])
        source.append(
            Finding(
                check="quarantine",
                status="warn",
                value=float(total_q),
                message=f"{fmt(total_q)} collected events quarantined: {top}",
            )
        )
    for problem in identity:
        source.append(Finding(check="identities", status="warn", message=problem))
    started = {str(n): min(g["day"]) for n, g in daily.groupby("name")}
    metrics = []
    for metric, names in metric_events.items():
        findings: list[Finding] = []
        for event in names:
            findings.append(presence(daily, event, last, started))
            counts = daily[daily["name"] == event].groupby("day")["n"].sum()
            if len(counts):
                series = counts.reindex(days, fill_value=0)
                if len(series) > 28:
                    findings.append(anomalies(series, event, window))
        metrics.append(
            MetricHealth(
                metric=metric,
                label=labels.get(metric, metric),
                events=names,
                status=_worst(findings),
                findings=findings,
            )
        )
    ok = all(m.status != "fail" for m in metrics) and all(f.status != "fail" for f in source)
    return CheckResult(
        project=project,
        first_day=str(first),
        last_day=str(last),
        events=total,
        metrics=metrics,
        source=source,
        quarantine=quarantine,
        ok=ok,
    )


def show_check(result: CheckResult, console: Any) -> None:
    """Print the audit as a table (for the terminal)."""
    from rich.table import Table

    colour = {"ok": "green", "warn": "yellow", "fail": "red"}
    table = Table(title="Instrumentation check", show_lines=False)
    table.add_column("scope")
    table.add_column("check")
    table.add_column("status")
    table.add_column("finding")
    for f in result.source:
        table.add_row("events", f.check, f"[{colour[f.status]}]{f.status}[/]", f.message)
    for m in result.metrics:
        for f in m.findings:
            table.add_row(m.metric, f.check, f"[{colour[f.status]}]{f.status}[/]", f.message)
    console.print(table)
    for line in result.summary():
        console.print(line, highlight=False)
