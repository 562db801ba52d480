"""Durable storage of the center's state: a port and its adapters (SQLite, PostgreSQL)."""

from __future__ import annotations

from contextlib import closing
from datetime import date
from typing import TYPE_CHECKING, Any

from central_server.storage.url import PostgresDatabase, StorageUrl

if TYPE_CHECKING:
    from central_server.config import CenterConfig
    from central_server.storage.port import Period, Storage, StoredConfig
    from central_server.storage.postgres import PostgresReader
    from central_server.storage.sqlite import SqliteReader


def open_storage(config: CenterConfig) -> Storage:
    """The storage the center config's `[storage] url` names (StorageError when it cannot be opened)."""
    if isinstance(config.storage, PostgresDatabase):
        from central_server.storage.postgres import PostgresStorage  # psycopg only where it is used

        return PostgresStorage(config.storage.url)
    from central_server.storage.sqlite import SqliteStorage

    return SqliteStorage(config.storage.path)


def stored_period(storage: StorageUrl, first: date, last: date) -> Period:
    """The stored service days from `first` to `last`, read without writing: the database is never created or
    migrated, and its server may run meanwhile (StorageError when it cannot be read)."""
    with closing(_reader(storage)) as reader:
        return reader.period(first, last)


def stored_live_config(storage: StorageUrl) -> StoredConfig | None:
    """The newest version of the live configuration, read without writing (None: no version kept yet)."""
    with closing(_reader(storage)) as reader:
        return reader.live_config() if "config_versions" in reader.tables() else None


def stored_documents(storage: StorageUrl) -> list[dict[str, Any]]:
    """Every version of the live configuration the database keeps, newest first, read without writing; none from
    a database no server of this release has opened yet."""
    with closing(_reader(storage)) as reader:
        if "config_versions" not in reader.tables():
            return []
        return reader.config_documents()


def _reader(storage: StorageUrl) -> SqliteReader | PostgresReader:
    if isinstance(storage, PostgresDatabase):
        from central_server.storage.postgres import PostgresReader  # psycopg only where it is used

        return PostgresReader(storage.url)
    from central_server.storage.sqlite import SqliteReader

    return SqliteReader(storage.path)
