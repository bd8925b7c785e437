"""Collector throughput and latency: /v1/batch with 100 events per batch, durable 200s.

    .venv/bin/python benchmarks/bench_collector.py [--seconds 20] [--connections 8]

Starts `cynosure collect` (a real server process, uvicorn with httptools/uvloop when
installed, the background loader on at the CLI's default interval) on a throwaway project and
drives it with `wrk` (Debian package `wrk`: a C load generator; a Lua script builds each
100-event body with messageIds unique per request). The generator runs on the same 2-core
machine, so it competes with the server for CPU. Four runs, one after another:

* reference: the same requests, but every batch repeats the ids of the first one, so the
  server does the same HTTP, JSON parsing, validation and dedup work and writes nothing (no
  fsync, nothing for the loader): "durable / reference" is the cost of the disk and loader;
* durable, paced: `--paced-connections` connections each pausing between a response and
  the next request so that together they aim at `--rate` events/s (the target's question:
  the latency at 20,000+ events/s; pauses make the rate land a little below `--rate`);
* durable, as fast as it goes: unique messageIds, so every request appends 100 records and
  waits for the fsync covering them (group commit) before its 200;
* durable again, to see drift from other load on the machine (and the loader's backlog).

Prints the machine, load average during each run, events/s, p50/p99 latency (wrk's, of
every response) and checks that the log (its segments, and the id indexes of segments already
loaded and deleted) holds every acknowledged event exactly once.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

LUA = r"""
local unique = UNIQUE
local run = "RUN"
local counter = 0
local next_thread = 0

function setup(thread)
  thread:set("tid", tostring(next_thread))
  next_thread = next_thread + 1
end

local head = '{"type":"track","event":"song_played","userId":"u'
local mid = '","messageId":"'
local stamp = '","timestamp":"2026-11-22T10:'
local tail = 'Z","properties":{"duration_s":30.5,'
  .. '"genre":"jazz"},"context":{"library":{"name":"bench"},"os":{"name":"ios"}}}'
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "AUTH"}
local fixed = nil

local function body_for(n)
  local parts = {}
  local base = run .. "-" .. (tid or "0") .. "-" .. n .. "-"
  for i = 1, 100 do
    local time = string.format("%02d:%02d.%03d", n % 60, i % 60, (n * 7 + i) % 1000)
    parts[i] = head .. i .. mid .. base .. i .. stamp .. time .. tail
  end
  return '{"sentAt":"2026-11-22T10:00:00Z","batch":[' .. table.concat(parts, ",") .. ']}'
end

function request()
  local body
  if unique then
    counter = counter + 1
    body = body_for(counter)
  else
    fixed = fixed or body_for(0)
    body = fixed
  end
  return wrk.format("POST", "/v1/batch", headers, body)
end

local think = THINK_MS
if think > 0 then
  function delay()
    return think
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":%d,'
    .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


class LoadSampler(threading.Thread):
    """The 1-minute load average, sampled every second while a run lasts."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[float] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            self.samples.append(os.getloadavg()[0])

    def summary(self) -> str:
        if not self.samples:
            return f"{os.getloadavg()[0]:.1f}"
        return f"{sum(self.samples) / len(self.samples):.1f} (max {max(self.samples):.1f})"


def run_wrk(
    url: str,
    key: str,
    *,
    unique: bool,
    seconds: float,
    connections: int,
    threads: int,
    rate: float = 0,
) -> dict[str, Any]:
    """One wrk run; `rate` > 0 paces each connection (a pause of connections * 100 / rate
    seconds between a response and its next request), so the rate is a little below it."""
    import base64

    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    script = LUA.replace("UNIQUE", "true" if unique else "false")
    script = script.replace("RUN", os.urandom(6).hex()).replace("AUTH", auth)
    think = round(1000 * connections * 100 / rate) if rate > 0 else 0
    script = script.replace("THINK_MS", str(think))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    sampler = LoadSampler()
    sampler.start()
    try:
        output = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds:.0f}s",
                "--timeout",
                "10s",
                "-s",
                handle.name,
                url + "/v1/batch",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        sampler.stopped.set()
        sampler.join()
        os.unlink(handle.name)
    line = next(x for x in output.splitlines() if x.startswith("WRKJSON "))
    result: dict[str, Any] = json.loads(line[len("WRKJSON ") :])
    ok = result["requests"] - result["non2xx"] - result["socket_errors"]
    result["ok"] = ok
    result["events_per_s"] = ok * 100 / (result["duration_us"] / 1e6)
    result["load"] = sampler.summary()
    return result


def count_log(state_dir: Path) -> tuple[int, int]:
    """(records, distinct messageIds) in the log after the server stopped: the segments on
    disk, plus the id indexes of the segments retention deleted once they were loaded."""
    import orjson

    from cynosure.collect.log import SegmentLog

    log = SegmentLog(state_dir / "collect" / "log")
    _, payloads = log.recover()
    ids = [orjson.loads(p)["messageId"] for p in payloads]
    on_disk = set(log.segments())
    for number in log.indexes():
        index = log.read_index(number)
        if number not in on_disk and index is not None:
            ids += index.ids
    log.close()
    return len(ids), len(set(ids))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument(
        "--load-interval", type=float, default=5.0, help="loader interval (CLI default 5 s)"
    )
    parser.add_argument(
        "--rate", type=float, default=36_000, help="events/s aimed at by the paced run"
    )
    parser.add_argument("--paced-connections", type=int, default=16)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("needs wrk: apt-get install wrk")
    from collect.conftest import free_port, make_project, start_subprocess
    from cynosure.collect import key_store

    root = Path(tempfile.mkdtemp(prefix="bench-collector-"))
    project = make_project(root)
    key = key_store(root / ".cynosure").create("bench")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    print(
        f"machine: {os.cpu_count()} cores, {memory_gb:.0f} GB, {platform.machine()}, "
        f"Python {platform.python_version()}; {datetime.date.today().isoformat()}; "
        f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    print(
        f"wrk {args.threads} thread(s) x {args.connections} keep-alive connections, "
        f"{args.seconds:.0f} s per run, 100 events (~26 KB JSON) per batch, loader every "
        f"{args.load_interval:g} s"
    )
    server = start_subprocess(project, port, options=("--load-interval", str(args.load_interval)))
    runs: list[tuple[str, dict[str, Any]]] = []
    try:
        options = {
            "seconds": args.seconds,
            "connections": args.connections,
            "threads": args.threads,
        }
        runs.append(
            ("reference (duplicates, no write)", run_wrk(url, key, unique=False, **options))
        )
        paced = {**options, "connections": args.paced_connections, "rate": args.rate}
        runs.append(
            (
                f"durable, paced, {args.paced_connections} conn.",
                run_wrk(url, key, unique=True, **paced),
            )
        )
        runs.append(("durable", run_wrk(url, key, unique=True, **options)))
        runs.append(("durable again", run_wrk(url, key, unique=True, **options)))
        health = httpx.get(url + "/health", timeout=30).json()
    finally:
        server.terminate()
        server.wait(timeout=120)
    print(f"{'run':34} {'events/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  load avg")
    for name, r in runs:
        print(
            f"{name:34} {r['events_per_s']:>10,.0f} {r['p50_us'] / 1000:>8.1f} "
            f"{r['p99_us'] / 1000:>8.1f} {r['max_us'] / 1000:>8.1f}  {r['load']}"
            + (
                f"  errors: {r['non2xx']} non-2xx, {r['socket_errors']} socket"
                if r["ok"] != r["requests"]
                else ""
            )
        )
    durable = (runs[2][1]["events_per_s"] + runs[3][1]["events_per_s"]) / 2
    print(f"durable / reference throughput: {durable / runs[0][1]['events_per_s']:.2f}")
    records, distinct = count_log(root / ".cynosure")
    acked = (runs[1][1]["ok"] + runs[2][1]["ok"] + runs[3][1]["ok"] + args.threads) * 100
    print(
        f"log: {records:,} records, {distinct:,} distinct messageIds; wrk saw {acked:,} "
        f"distinct events acknowledged (server: {health['acknowledged']:,} acknowledged, "
        f"{health['deduplicated']:,} deduplicated, {health['loaded']:,} loaded)"
    )
    if records != distinct or records < acked:
        raise SystemExit("the log does not hold every acknowledged event exactly once")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
