"""The commands `serve`, `report` and `users`: the dashboard, the stakeholder report and sign-in."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from cynosure.cli_support import (
    HostOption,
    ProjectOption,
    err,
    guarded,
    open_project,
    out,
    progress_bar,
)
from cynosure.project.load import read_text

users_app = typer.Typer(help="Dashboard users: who may sign in, and as what.", no_args_is_help=True)


def _state_dir(project: Path) -> Path:
    """`.cynosure/` beside the project file, found without loading the data."""
    from cynosure.collect.collector import state_dir_for

    return state_dir_for(read_text(project)[0])


def serve(
    project: ProjectOption = Path("cynosure.yml"),
    host: HostOption = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    refresh_every: Annotated[
        float, typer.Option(help="Seconds between reads of new events (0: never).")
    ] = 300,
    secure_cookies: Annotated[
        bool,
        typer.Option(
            help="Mark cookies Secure. Browsers then send them over HTTPS and to localhost only: "
            "turn off only to try the dashboard over plain HTTP on another host."
        ),
    ] = True,
) -> None:
    """Dashboard + JSON API + event collector."""
    import uvicorn

    from cynosure.collect.seed import seed_events
    from cynosure.project.load import read_spec
    from cynosure.web import create_app

    with guarded():
        seeded = seed_events(read_spec(project))  # a new project, before its first event
        if seeded:
            err.print(f"[yellow]{seeded[0].upper() + seeded[1:]}.[/yellow]", highlight=False)
        loaded = open_project(project)
        state = loaded.state_dir
        app = create_app(loaded, refresh_every=refresh_every, secure_cookies=secure_cookies)
        from cynosure.web.users import UserStore

        if not UserStore.in_directory(state).users():
            err.print(
                "[yellow]No dashboard user yet:[/yellow] create one with "
                f"`cynosure users add NAME --role admin -p {project}`",
                highlight=False,
            )
        err.print(f"Serving {loaded.name} on http://{host}:{port} (API docs: /api/docs)")
        uvicorn.run(app, host=host, port=port, log_level="warning")


def report(
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")],
    project: ProjectOption = Path("cynosure.yml"),
    pdf: Annotated[
        Path | None, typer.Option("--pdf", help="Also print it to this PDF (needs Chromium).")
    ] = None,
) -> None:
    """A self-contained report for stakeholders."""
    from cynosure.report import write_report

    with guarded(), progress_bar() as say:
        loaded = open_project(project)
        write_report(loaded, output, pdf=pdf, progress=say)
    out.print(f"Wrote {output}" + (f" and {pdf}" if pdf else ""), highlight=False)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The user name.")],
    role: Annotated[
        str, typer.Option(help="viewer (reads) or admin (also manages users, keys).")
    ] = "viewer",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    project: ProjectOption = Path("cynosure.yml"),
) -> None:
    """Create a dashboard user; print its generated password (or read one from stdin)."""
    from cynosure.web.users import UserStore

    with guarded():
        password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
        store = UserStore.in_directory(_state_dir(project))
        made = store.add(name, role, password)
        if password_stdin:
            out.print(f"Created {role} '{name}'.", highlight=False)
        else:
            out.print(f"Created {role} '{name}'. Password (shown once): {made}", highlight=False)


@users_app.command("list")
def users_list(project: ProjectOption = Path("cynosure.yml")) -> None:
    """The dashboard users and their roles."""
    from cynosure.web.users import UserStore

    with guarded():
        users = UserStore.in_directory(_state_dir(project)).users()
        if not users:
            out.print("No users yet: cynosure users add NAME --role admin")
        for user in users:  # tab-separated, for scripts
            sys.stdout.write(
                f"{user.name}\t{user.role}\tcreated {user.created}\t{user.tokens} token(s)\n"
            )


@users_app.command("remove")
def users_remove(
    name: Annotated[str, typer.Argument(help="The user name.")],
    project: ProjectOption = Path("cynosure.yml"),
) -> None:
    """Delete a user with its password and API tokens."""
    from cynosure.web.users import UserStore

    with guarded():
        UserStore.in_directory(_state_dir(project)).remove(name)
        out.print(f"Removed '{name}'.", highlight=False)


@users_app.command("token")
def users_token(
    name: Annotated[str, typer.Argument(help="The user name.")],
    project: ProjectOption = Path("cynosure.yml"),
) -> None:
    """Print a new API token for a user (send it as `Authorization: Bearer TOKEN`)."""
    from cynosure.web.users import UserStore

    with guarded():
        token = UserStore.in_directory(_state_dir(project)).create_token(name)
        sys.stdout.write(token + "\n")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `cynosure` app."""
    app.command()(serve)
    app.command()(report)
    app.add_typer(users_app, name="users")


__all__ = ["register"]
