"""The commands `check`, `keys` and `collect`: instrumentation audit, write keys, collector."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cynosure.cli_support import (
    HostOption,
    JsonOption,
    ProjectOption,
    emit,
    err,
    fail,
    guarded,
    open_project,
    out,
    progress_bar,
)

if TYPE_CHECKING:
    from cynosure.collect.keys import KeyStore

keys_app = typer.Typer(help="Collector write keys: create, list, revoke.", no_args_is_help=True)


def _store(project: Path) -> KeyStore:
    from cynosure.collect import key_store
    from cynosure.collect.collector import state_dir_for

    return key_store(state_dir_for(project))


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="The source the key is for, e.g. ios-app.")],
    project: ProjectOption = Path("cynosure.yml"),
) -> None:
    """Create a write key and print it (it is shown once; only its hash is kept)."""
    with guarded():
        token = _store(project).create(name)
    out.print(token, highlight=False, soft_wrap=True)
    err.print(f"Created write key '{name}'. Store it now: it cannot be shown again.")


@keys_app.command("list")
def keys_list(project: ProjectOption = Path("cynosure.yml"), as_json: JsonOption = False) -> None:
    """List the write keys (names and dates, never the keys)."""
    import json

    with guarded():
        keys = _store(project).list()
    if as_json:
        rows = [{"name": k.name, "created": k.created, "revoked": k.revoked} for k in keys]
        out.print_json(json.dumps({"keys": rows}))
        return
    if not keys:
        out.print("No write keys yet: create one with `cynosure keys create NAME`.")
    for key in keys:
        status = f"revoked {key.revoked}" if key.revoked else "active"
        out.print(f"{key.name}\tcreated {key.created}\t{status}", highlight=False)


@keys_app.command("revoke")
def keys_revoke(
    name: Annotated[str, typer.Argument(help="The key's name.")],
    project: ProjectOption = Path("cynosure.yml"),
) -> None:
    """Revoke a write key: requests with it get 401 from now on."""
    with guarded():
        _store(project).revoke(name)
    err.print(f"Revoked write key '{name}'.")


def collect(
    project: ProjectOption = Path("cynosure.yml"),
    host: HostOption = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    load_interval: Annotated[
        float, typer.Option(help="Seconds between loads into the warehouse.")
    ] = 5.0,
    dedup_window: Annotated[
        str,
        typer.Option(
            help="How long messageIds are deduplicated (24h, 90m, 3600s, 7d): loaded log "
            "segments are deleted and their ids kept this long. 'forever' keeps everything."
        ),
    ] = "24h",
    segment_bytes: Annotated[
        int, typer.Option(min=4096, help="Size at which a log segment is sealed.")
    ] = 64 << 20,
    compact_files: Annotated[
        int,
        typer.Option(
            min=0,
            help="Compact the collected part files once this many small ones accumulate "
            "(0: only with --compact).",
        ),
    ] = 64,
    readmit: Annotated[
        bool,
        typer.Option(
            "--readmit",
            help="Do not serve: re-check quarantined events against the tracking plan as it "
            "is now, load those that pass, and exit.",
        ),
    ] = False,
    compact: Annotated[
        bool,
        typer.Option(
            "--compact",
            help="Do not serve: merge the collector's small Parquet part files now, and exit "
            "(safe while a collector runs).",
        ),
    ] = False,
) -> None:
    """Run the event collector alone (Segment HTTP Tracking API on /v1)."""
    from cynosure.collect.collector import collect_dir, state_dir_for
    from cynosure.collect.compact import compactor_for
    from cynosure.collect.facts import quarantine_counts
    from cynosure.collect.loader import Loader, make_sink
    from cynosure.collect.log import SegmentLog
    from cynosure.collect.retention import parse_window
    from cynosure.collect.state import state_path
    from cynosure.project.load import read_spec

    if readmit and compact:
        fail("give --readmit or --compact, not both")
    with guarded():
        window = parse_window(dedup_window)
        spec = read_spec(project)
        state_dir = state_dir_for(spec.file)
        directory = collect_dir(state_dir)
        if readmit:
            loader = Loader(
                spec, SegmentLog(directory / "log"), state_path(directory), make_sink(spec)
            )
            stats = loader.readmit()
            left = sum(quarantine_counts(state_dir).values())
            err.print(
                f"Re-admitted {stats.readmitted:,} events; {left:,} stay in quarantine.",
                highlight=False,
            )
            return
        if compact:
            done = compactor_for(spec, directory).run()
            err.print(
                f"Merged {done.inputs:,} part files into {done.outputs:,} ({done.rows:,} rows, "
                f"{done.seconds:.1f} s): {done.files_before:,} collected part files before, "
                f"{done.files_after:,} now.",
                highlight=False,
            )
            return
    import uvicorn

    from cynosure.collect import create_collector_app

    with guarded():
        app = create_collector_app(
            state_dir,
            spec=spec,
            load_interval=load_interval,
            dedup_window=window,
            segment_bytes=segment_bytes,
            compact_files=compact_files or None,
        )
    if not _store(spec.file).list():
        err.print("No write keys yet: create one with `cynosure keys create NAME`.")
    err.print(f"Collecting on http://{host}:{port}/v1 (state in {state_dir}).")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def check(
    project: ProjectOption = Path("cynosure.yml"),
    days: Annotated[int, typer.Option(help="Recent days examined for anomalies.")] = 28,
    as_json: JsonOption = False,
) -> None:
    """Is the instrumentation behind my metrics healthy? (exit code 1 when a check fails)"""
    with guarded(), progress_bar() as step:
        p = open_project(project)
        result = p.check(days=days, progress=step)
    if not emit(result, as_json):
        from cynosure.analysis.check import show_check

        show_check(result, out)
    if not result.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `cynosure` app."""
    app.command()(check)
    app.command()(collect)
    app.add_typer(keys_app, name="keys")


__all__ = ["fail", "register"]
