"""Rich rendering of results for the terminal (no logic: it only draws Results)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree as RichTree

from cynosure.results import MetricsResult, fmt, pct
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


def show_metrics(result: MetricsResult, console: Console, owners: dict[str, str | None]) -> None:
    table = Table(title=f"Metrics by {result.grain}", title_justify="left")
    table.add_column("metric")
    table.add_column("period")
    table.add_column("value", justify="right")
    table.add_column("change", justify="right")
    table.add_column("trend")
    table.add_column("owner", style="dim")
    for name, points in result.metrics.items():
        complete = [p for p in points if p.complete] or points
        if not complete:
            continue
        last = complete[-1]
        previous = complete[-2].value if len(complete) > 1 else None
        change = (
            (last.value - previous) / abs(previous) if last.value is not None and previous else None
        )
        label = result.labels.get(name, name)
        if name == result.north_star:
            label = f"★ {label}"
        table.add_row(
            label,
            last.period,
            fmt(last.value),
            _change_text(change),
            sparkline([p.value for p in complete]),
            owners.get(name) or "",
        )
    console.print(table)


def show_tree(result: TreeResult, console: Console) -> None:
    title = f"{result.period} vs {result.baseline} (by {result.grain})"
    if not result.period_complete:
        title += " [partial period]"
    console.print(Text(title, style="bold"))
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
    if node.contribution is not None:
        line.append(f"  contributes {fmt(node.contribution)}", style="cyan")
    elif node.edge == "driver":
        line.append("  driver", style="dim")
    line.append(f"  {sparkline(node.history, 12)}", style="magenta")
    if node.owner:
        line.append(f"  {node.owner}", style="dim")
    return line
