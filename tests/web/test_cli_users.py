"""`cynosure users add/list/token/remove`: the store behind the dashboard's sign-in."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cynosure.cli import app
from cynosure.errors import CynosureError, UserError
from cynosure.web.users import UserStore

runner = CliRunner()


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "cynosure.yml").write_text("project: Test\n", encoding="utf-8")
    return tmp_path


def test_add_prints_a_generated_password_that_signs_in(project: Path) -> None:
    done = runner.invoke(app, ["users", "add", "ada", "--role", "admin", "-p", str(project)])
    assert done.exit_code == 0, done.output
    password = done.output.strip().rsplit(" ", 1)[-1]
    store = UserStore.in_directory(project / ".cynosure")
    user = store.authenticate("ada", password)
    assert user is not None and user.is_admin
    assert store.authenticate("ada", password + "x") is None
    assert store.authenticate("nobody", password) is None


def test_password_from_stdin_is_stored_hashed_in_a_private_file(project: Path) -> None:
    done = runner.invoke(
        app,
        ["users", "add", "vic", "--password-stdin", "-p", str(project)],
        input="a long secret\n",
    )
    assert done.exit_code == 0, done.output
    assert "a long secret" not in done.output
    path = project / ".cynosure" / "users.json"
    assert "a long secret" not in path.read_text()
    assert json.loads(path.read_text())["users"]["vic"]["password"].startswith("scrypt$")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    store = UserStore.in_directory(project / ".cynosure")
    assert store.authenticate("vic", "a long secret") is not None


def test_list_token_and_remove(project: Path) -> None:
    runner.invoke(app, ["users", "add", "vic", "-p", str(project)])
    token = runner.invoke(app, ["users", "token", "vic", "-p", str(project)]).output.strip()
    store = UserStore.in_directory(project / ".cynosure")
    found = store.user_for_token(token)
    assert found is not None and found.name == "vic" and found.role == "viewer"
    listed = runner.invoke(app, ["users", "list", "-p", str(project)]).output
    assert "vic\tviewer" in listed and "1 token(s)" in listed
    assert runner.invoke(app, ["users", "remove", "vic", "-p", str(project)]).exit_code == 0
    assert store.user_for_token(token) is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["users", "add", "bad name"], "not a valid user name"),
        (["users", "add", "ada", "--role", "owner"], "the role must be one of viewer, admin"),
        (["users", "remove", "ghost"], "no user is named 'ghost'"),
    ],
)
def test_mistakes_are_one_line_errors(project: Path, args: list[str], message: str) -> None:
    done = runner.invoke(app, [*args, "-p", str(project)])
    assert done.exit_code == 2
    assert message in done.output


def test_duplicate_and_short_passwords_are_refused(tmp_path: Path) -> None:
    store = UserStore.in_directory(tmp_path)
    store.add("ada", "admin", "long enough")
    with pytest.raises(UserError, match="already exists"):
        store.add("ada")
    with pytest.raises(UserError, match="at least 8"):
        store.add("bob", password="short")
    assert issubclass(UserError, CynosureError) and issubclass(UserError, ValueError)
