"""How fast the dashboard answers after warm-up: every page and API endpoint, against a static
file served by the same server (the floor of what any response can cost).

    .venv/bin/python benchmarks/bench_pages.py demo-out/tunewave [--repeat 5]

Starts the app on 127.0.0.1 in this process, warms the cache as `cynosure serve` does (timing
each step), signs in through the login form, then requests each path `--repeat` times and prints
the median and worst milliseconds as a Markdown table.
"""

from __future__ import annotations

import argparse
import re
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from cynosure import Project
from cynosure.web import UserStore, create_app

PATHS = [
    ("reference: static file", "/static/style.css"),
    ("reference: login page (no sign-in)", "/login"),
    ("page: tree", "/"),
    ("page: tree, chosen period", "/?period=2026-W37&baseline=previous"),
    ("page: metric (North Star)", "/metrics/listening_hours"),
    ("page: metric (input)", "/metrics/listeners"),
    ("page: explain", "/explain"),
    ("page: explain, incident week", "/explain?period=2026-W37"),
    ("page: north star", "/north-star"),
    ("page: impact", "/impact"),
    ("page: health", "/health"),
    ("page: report", "/report"),
    ("api: tree", "/api/tree"),
    ("api: metrics", "/api/metrics"),
    ("api: breakdown", "/api/metrics/listening_hours/breakdown"),
    ("api: explain", "/api/explain?period=2026-W37"),
    ("api: candidates", "/api/candidates"),
    ("api: leadlag", "/api/leadlag"),
    ("api: aha", "/api/aha"),
    ("api: impact (all)", "/api/impact"),
    ("api: impact (one)", "/api/impact/Recommendations v2"),
    ("api: targets", "/api/targets"),
    ("api: health", "/api/health"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    state = Path(tempfile.mkdtemp(prefix="cynosure-bench-"))
    UserStore.in_directory(state).add("bench", "admin", "bench-password")
    started = time.perf_counter()
    project = Project.load(args.project)
    app = create_app(project, state_dir=state, collector=None, warm=False)
    analyses = app.state.web.analyses
    analyses.warm()
    print(f"load + warm-up: {time.perf_counter() - started:.1f} s")
    print("warm-up steps (s): " + ", ".join(f"{k} {v}" for k, v in analyses.warm_timings.items()))

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)

    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600)
    form = client.get("/login")
    client.cookies.set("cynosure_login_csrf", form.cookies["cynosure_login_csrf"])
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    answer = client.post(
        "/login", data={"name": "bench", "password": "bench-password", "csrf_token": token}
    )
    client.cookies.set("cynosure_session", answer.cookies["cynosure_session"])

    print("\n| request | first (ms) | median (ms) | worst (ms) | size (kB) |")
    print("|---|---:|---:|---:|---:|")
    for name, path in PATHS:
        times = []
        size = 0
        for _ in range(args.repeat + 1):
            begin = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - begin) * 1000)
            assert response.status_code == 200, (path, response.status_code, response.text[:300])
            size = len(response.content)
        first, rest = times[0], times[1:]
        print(
            f"| {name} `{path}` | {first:.0f} | {statistics.median(rest):.0f} | "
            f"{max(rest):.0f} | {size / 1000:.0f} |"
        )
    server.should_exit = True
    project.close()


if __name__ == "__main__":
    main()
