"""Rich rendering of results for the terminal (no logic: it only draws Results)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree as RichTree

from cynosure.analysis.aha import AhaResult
from cynosure.analysis.candidates import CandidatesResult
from cynosure.analysis.explain import ExplainResult, segment_name
from cynosure.analysis.impact import ImpactRanking, ImpactResult, segment_words
from cynosure.analysis.leadlag import LeadLagPair, LeadLagResult
from cynosure.results import MetricsResult, Result, fmt, pct
from cynosure.tree.compute import TreeNode, TreeResult

BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float | None], width: int = 16) -> str:
    """A small bar chart of the last `width` values; gaps for missing values."""
    shown = values[-width:]
    known = [v for v in shown if v is not None]
    if not known:
        return ""
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    return "".join(
        " " if v is None else BARS[min(len(BARS) - 1, int((v - low) / span * (len(BARS) - 1)))]
        for v in shown
    )


def _change_text(change: float | None) -> Text:
    if change is None:
        return Text("n/a", style="dim")
    style = "green" if change > 0 else "red" if change < 0 else ""
    return Text(pct(change), style=style)


def show_metrics(
    result: MetricsResult, console: Console, owners: dict[str, str | None], last: int = 4
) -> None:
    """A table: one row per metric, the last `last` periods as columns, change and trend."""
    wide = console.width >= 120
    room = console.width - (24 + 10 + 15 + (22 if wide else 0) + 4)
    last = max(1, min(last, room // 11))
    first = next(iter(result.metrics.values()), [])
    shown = first[-last:]
    table = Table(title=f"Metrics by {result.grain}", title_justify="left")
    table.add_column("metric", no_wrap=True, overflow="ellipsis", max_width=24)
    for point in shown:
        header = point.period + ("" if point.complete else "*")
        table.add_column(header, justify="right", no_wrap=True, min_width=len(header))
    table.add_column("change", justify="right", no_wrap=True)
    table.add_column("trend", no_wrap=True)
    if wide:
        table.add_column("owner", style="dim", no_wrap=True)
    for name, points in result.metrics.items():
        complete = [p for p in points if p.complete and p.value is not None]
        change = None
        if len(complete) > 1 and complete[-2].value:
            change = (complete[-1].value - complete[-2].value) / abs(complete[-2].value)  # type: ignore[operator]
        label = result.labels.get(name, name)
        if name == result.north_star:
            label = f"★ {label}"
        values = [fmt(p.value) for p in points[-last:]]
        cells: list[str | Text] = [
            label,
            *values,
            _change_text(change),
            sparkline([p.value for p in points], 12),
        ]
        table.add_row(*cells, *([owners.get(name) or ""] if wide else []))
    console.print(table)
    if any(not p.complete for p in shown):
        console.print("* partial period: the data does not cover all of it", style="dim")


def show_tree(result: TreeResult, console: Console) -> None:
    title = f"{result.period} vs {result.baseline} (by {result.grain})"
    if not result.period_complete:
        title += " [partial period]"
    console.print(Text(title, style="bold"))
    console.print(Text("→★: the node's share of the North Star's change", style="dim"))
    if not result.nodes:
        console.print("No tree declared.")
        return
    branches: dict[str, RichTree] = {}
    root = RichTree(_node_line(result.nodes[0], star=True))
    branches[result.nodes[0].metric] = root
    for node in result.nodes[1:]:
        parent = branches.get(node.parent or "", root)
        branches[node.metric] = parent.add(_node_line(node))
    console.print(root)


def _node_line(node: TreeNode, *, star: bool = False) -> Text:
    line = Text()
    line.append(("★ " if star else "") + node.label, style="bold" if star else "")
    line.append(f"  {fmt(node.value)}")
    line.append("  ")
    line.append_text(_change_text(node.change_relative))
    if node.contribution_to_north_star is not None and not star:
        line.append(f"  →★ {fmt(node.contribution_to_north_star)}", style="cyan")
    elif node.edge == "driver":
        line.append("  driver", style="dim")
    line.append(f"  {sparkline(node.history, 12)}", style="magenta")
    if node.owner:
        line.append(f"  {node.owner}", style="dim")
    return line


def show_explain(result: ExplainResult, console: Console) -> None:
    """The change through the tree (a tree of contributions), then the segments (a table)."""
    title = f"{result.label}: {result.period} vs {result.baseline} (by {result.grain})"
    if not result.period_complete:
        title += " [partial period]"
    console.print(Text(title, style="bold"))
    console.print(
        Text("each node: its change, then its part of the change explained (~ estimated)", "dim")
    )
    branches: dict[str, RichTree] = {}
    root: RichTree | None = None
    for node in result.tree:
        line = Text(node.label, style="bold" if node.metric in result.path else "")
        line.append(f"  {fmt(node.value)}  ")
        line.append_text(_change_text(_relative(node.change, node.baseline_value)))
        if node.parent is not None and node.contribution is not None:
            mark = "~" if node.estimated else ""
            line.append(f"  {mark}{fmt(node.contribution)}", style="cyan")
            if node.share_of_change is not None:
                line.append(f" ({node.share_of_change * 100:.0f}%)", style="cyan")
            if node.interval:
                low, high = node.interval
                line.append(f" [{fmt(low)}, {fmt(high)}]", style="dim")
        elif node.edge == "driver":
            line.append("  driver: too little history to estimate", style="dim")
        if root is None:
            root = RichTree(line)
            branches[node.metric] = root
        else:
            branches[node.metric] = branches.get(node.parent or "", root).add(line)
    if root is not None:
        console.print(root)
    if result.segments:
        other = result.segments_metric != result.metric
        title = "Segments that account for the change"
        if other:
            title += f" in {result.segments_label}"
        table = Table(title=title, title_justify="left")
        table.add_column("segment", ratio=1, overflow="fold")
        table.add_column("before → now", justify="right", no_wrap=True)
        table.add_column("part of change", justify="right", no_wrap=True)
        table.add_column("share", justify="right", no_wrap=True)
        if other:
            table.add_column(f"≈ of {result.label}", justify="right", no_wrap=True)
        table.add_column("effect", no_wrap=True)
        for cause in result.segments:
            table.add_row(
                segment_name(cause.segment),
                f"{fmt(cause.expected)} → {fmt(cause.actual)}",
                fmt(cause.change),
                f"{(cause.share_of_change or 0) * 100:.0f}%",
                *([fmt(cause.contribution)] if other else []),
                cause.effect,
            )
        console.print(table)
    if result.segments_note:
        console.print(Text(f"Note: {result.segments_note}.", style="dim"))


def _relative(change: float | None, base: float | None) -> float | None:
    return change / abs(base) if change is not None and base else None


def show_leadlag(result: LeadLagResult, console: Console, labels: dict[str, str]) -> None:
    """A table: one row per pair, strongest correlation first; clear leads in bold."""
    table = Table(title=f"Lead-lag by {result.grain} (lag > 0: leader first)", title_justify="left")
    table.add_column("leader → follower", ratio=1, overflow="fold")
    table.add_column("lag", justify="right", no_wrap=True)
    table.add_column("r", justify="right", no_wrap=True)
    table.add_column("Granger p", justify="right", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    for pair in result.pairs:
        lag, r = "n/a", "n/a"
        if pair.lag is not None and pair.lag_interval is not None:
            lag = f"{pair.lag} [{pair.lag_interval[0]}, {pair.lag_interval[1]}]"
        if pair.correlation is not None and pair.correlation_interval is not None:
            low, high = pair.correlation_interval
            r = f"{pair.correlation:.2f} [{low:.2f}, {high:.2f}]"
        p = (
            ""
            if pair.granger_p is None
            else "<0.001"
            if pair.granger_p < 0.001
            else f"{pair.granger_p:.3f}"
        )
        table.add_row(
            f"{labels.get(pair.leader, pair.leader)} → {labels.get(pair.follower, pair.follower)}",
            lag,
            r,
            p,
            _lead_text(pair, result.grain),
        )
    console.print(table)


def _lead_text(pair: LeadLagPair, grain: str) -> Text:
    lag, interval = pair.lag, pair.correlation_interval
    if pair.lag == 0 and interval is not None and (interval[0] > 0 or interval[1] < 0):
        return Text("moves together", style="dim")
    if not pair.clear or lag is None:
        return Text("no clear lead", style="dim")
    unit = grain + ("" if abs(lag) == 1 else "s")
    if lag > 0:
        return Text(f"leads by {lag} {unit}", style="bold green")
    return Text(f"follows by {-lag} {unit}", style="bold yellow")


def show_aha(result: AhaResult, console: Console, *, top: int = 10) -> None:
    """A table of the best moments: did vs did not, lift, reach, phi, and the two checks."""
    table = Table(
        title=f"Aha moments (retained: {result.outcome})", title_justify="left", expand=False
    )
    for name, justify in (
        ("behaviour", "left"),
        ("at least", "right"),
        ("within", "right"),
        ("retained: did / not", "right"),
        ("lift", "right"),
        ("reach", "right"),
        ("phi", "right"),
        ("q", "right"),
        ("equally active: OR", "right"),
        ("checks", "left"),
    ):
        table.add_column(name, justify=justify, no_wrap=name != "behaviour")  # type: ignore[arg-type]
    for moment in result.moments[:top]:
        low, high = moment.adjusted_interval or (None, None)
        adjusted = (
            f"{moment.adjusted_odds_ratio:.2f} [{low:.2f}, {high:.2f}]"
            if moment.adjusted_odds_ratio is not None and low is not None and high is not None
            else "n/a"
        )
        checks = Text()
        if moment.proxy:
            checks.append("proxy for activity", style="yellow")
        if moment.stable is False:
            checks.append((" · " if checks else "") + "unstable across cohorts", style="yellow")
        if not checks:
            checks.append("ok", style="green")
        table.add_row(
            moment.event + (" (declared)" if moment.declared else ""),
            f"{moment.at_least}",
            f"{moment.within_days} d",
            f"{fmt(moment.retention_did, '%')} / {fmt(moment.retention_did_not, '%')}",
            "n/a" if moment.lift is None else f"{moment.lift:.2f}x",
            fmt(moment.reach, "%"),
            f"{moment.phi:.2f}",
            "<0.001" if moment.q_value < 0.001 else f"{moment.q_value:.3f}",
            adjusted,
            checks,
        )
    if result.moments:
        console.print(table)


def show_candidates(result: CandidatesResult, console: Console) -> None:
    """A scorecard: one row per candidate, best first, one column per criterion (0 to 1)."""
    table = Table(title="North Star candidates (scores from 0 to 1)", title_justify="left")
    table.add_column("rank", justify="right", no_wrap=True)
    table.add_column("metric", ratio=1, overflow="fold")
    table.add_column("score", justify="right", no_wrap=True)
    names = list(result.candidates[0].criteria) if result.candidates else []
    for name in names:
        table.add_column(name.replace("_", " "), justify="right", no_wrap=True)
    table.add_column("vanity", no_wrap=True)
    for candidate in result.candidates:
        cells = [
            "n/a" if c.score is None else f"{c.score:.2f}"
            for c in (candidate.criteria[n] for n in names)
        ]
        table.add_row(
            str(candidate.rank),
            candidate.label,
            Text(f"{candidate.score:.2f}", style="bold" if candidate.rank == 1 else ""),
            *cells,
            Text("vanity", style="yellow") if candidate.vanity else Text("no", style="dim"),
        )
    if result.candidates:
        console.print(table)


def _interval(bounds: list[float | None], percent: bool = False) -> str:
    show = pct if percent else fmt
    return f"[{show(bounds[0])}, {show(bounds[1])}]"


def show_impact(result: Result, console: Console) -> None:
    """An effect table (average and total), or the ranking of every intervention."""
    if isinstance(result, ImpactRanking):
        table = Table(title=f"{result.project}: interventions by effect", title_justify="left")
        for column in ("intervention", "date", "segment", "metric", "effect", "95% interval", "p"):
            table.add_column(column, justify="right" if column in ("effect", "p") else "left")
        for row in result.rows:
            table.add_row(
                row.intervention,
                row.date,
                segment_words(row.segment) or "all",
                row.label,
                _change_text(row.relative),
                _interval(row.relative_interval, percent=True),
                Text(f"{row.p_value:.3f}", style="bold" if row.significant else "dim"),
            )
        console.print(table)
        for line in result.skipped:
            console.print(Text(f"skipped: {line}", style="dim"))
        return
    if not isinstance(result, ImpactResult):
        return
    where = f" ({segment_words(result.segment)})" if result.segment else ""
    title = f"{result.label}{where}: {result.start} to {result.end} (by {result.grain})"
    table = Table(title=title, title_justify="left")
    for column in ("", "actual", "predicted", "95% interval", "effect", "95% interval", "relative"):
        table.add_column(column, justify="left" if not column else "right")
    for name, e in (("average", result.average), ("total", result.cumulative)):
        table.add_row(
            name,
            fmt(e.actual),
            fmt(e.predicted),
            _interval(e.predicted_interval),
            fmt(e.effect),
            _interval(e.interval),
            _change_text(e.relative),
        )
    console.print(table)
