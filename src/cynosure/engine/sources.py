"""Where events and entities come from: files (Parquet, CSV, JSON lines; globs) or a table."""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
from ibis.backends import BaseBackend

from cynosure.engine.connection import data_database
from cynosure.engine.dialects import dialect_of
from cynosure.errors import DataError, EngineError

FILE_FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "csv",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
}


@dataclass(frozen=True)
class Unit:
    """One independently changing piece of a source: a file (with size and mtime) or a table."""

    name: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Source:
    """A resolved `source:` value: a file pattern (listed again at each use) or a table."""

    text: str
    pattern: str = ""
    format: str = ""
    table_name: str = ""
    database: str | None = None  # where the table lives, if not the current database

    @property
    def is_table(self) -> bool:
        return bool(self.table_name)

    def files(self) -> list[str]:
        """The files the pattern matches now; new files count, removed ones are gone."""
        if Path(self.pattern).is_dir():
            found = [
                str(p) for p in Path(self.pattern).rglob("*") if p.suffix.lower() in FILE_FORMATS
            ]
        else:
            found = glob.glob(self.pattern, recursive=True)
        files = sorted(f for f in found if Path(f).is_file())
        if not files:
            raise DataError(f"no file matches '{self.text}' (looked for {self.pattern})")
        formats = {FILE_FORMATS.get(Path(f).suffix.lower()) for f in files}
        if None in formats or len(formats) != 1:
            suffixes = ", ".join(sorted({Path(f).suffix or "(none)" for f in files}))
            raise DataError(
                f"'{self.text}' must match files of one format: .parquet, .csv or .jsonl "
                f"(found {suffixes})"
            )
        return files

    def units(self) -> list[Unit]:
        """The files as they are now (a table is one unit whose changes are found by scanning)."""
        if self.is_table:
            return [Unit(f"table:{self.table_name}", 0, 0)]
        units = []
        for name in self.files():
            try:
                stat = Path(name).stat()
            except OSError:
                continue  # vanished since it was listed: counts as removed
            units.append(Unit(name, stat.st_size, stat.st_mtime_ns))
        return units

    def open(
        self,
        con: BaseBackend,
        files: list[str] | None = None,
        *,
        file_column: bool = False,
        **options: Any,
    ) -> ir.Table:
        """An Ibis table over the whole source, or over `files` only; with `file_column`, a
        column FILE_COLUMN names each event's file (as listed by `files()`)."""
        if self.is_table:
            if self.database:
                return con.table(self.table_name, database=self.database)
            return con.table(self.table_name)
        paths = list(files if files is not None else self.files())
        dialect = dialect_of(con)
        try:
            return dialect.read_files(con, paths, self.format, file_column=file_column, **options)
        except EngineError as exc:
            raise DataError(
                f"cannot read {self.text}: {exc.engine} cannot {exc.operation}", exc.workaround
            ) from None
        except Exception as exc:  # the backend's own parse error, with the file named
            raise DataError(f"cannot read {self.text}: {exc}") from None


def _tables(con: BaseBackend, database: str | None) -> list[str]:
    if database is None:
        return list(con.list_tables())
    try:
        return list(con.list_tables(database=database))
    except Exception:  # no such database: no such table
        return []


def looks_like_path(text: str) -> bool:
    return any(ch in text for ch in "/*?\\") or Path(text).suffix.lower() in FILE_FORMATS


def resolve(text: str, base_dir: Path, con: BaseBackend | None = None) -> Source:
    """Resolve a `source:` value relative to the project directory."""
    if not looks_like_path(text):
        database, _, table = text.rpartition(".")
        where = database or (data_database(con) if con is not None else None)
        if con is not None and table not in _tables(con, where):
            files = sorted(p.name for p in base_dir.glob(f"{text}.*") if p.suffix in FILE_FORMATS)
            hint = (
                f"did you mean the file '{files[0]}'?"
                if files
                else "give a file path or glob (data/events/*.parquet) or a table name"
            )
            raise DataError(f"the warehouse has no table '{text}'", hint)
        return Source(text, table_name=table, database=where)
    pattern = text if Path(text).is_absolute() else str(base_dir / text)
    source = Source(text, pattern)
    first = source.files()[0]  # raises a DataError when nothing matches
    return Source(text, pattern, FILE_FORMATS[Path(first).suffix.lower()])
