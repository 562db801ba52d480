"""Where a center's storage is, as its config's `[storage] url` says: a SQLite file on the server's machine, or
a PostgreSQL database (where several server instances may serve the center together)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class SqliteFile:
    url: str  # as written: sqlite:///ABSOLUTE/PATH (or four slashes)
    path: Path  # absolute, one leading slash

    @classmethod
    def of(cls, url: str) -> SqliteFile:
        return cls(url, Path("/" + url[len("sqlite://"):].lstrip("/")))


@dataclass(frozen=True, slots=True)
class PostgresDatabase:
    url: str  # postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE


StorageUrl = SqliteFile | PostgresDatabase
