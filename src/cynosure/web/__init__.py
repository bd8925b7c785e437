"""The dashboard and JSON API (`cynosure serve`): pages drawn from the Python API's Results."""

from cynosure.web.app import create_app
from cynosure.web.users import User, UserStore

__all__ = ["User", "UserStore", "create_app"]
