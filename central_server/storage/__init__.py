"""Durable storage of the center's state: a port and its adapters (SQLite, PostgreSQL)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from central_server.storage.url import PostgresDatabase

if TYPE_CHECKING:
    from central_server.config import CenterConfig
    from central_server.storage.port import Storage


def open_storage(config: CenterConfig) -> Storage:
    """The storage the center config's `[storage] url` names (StorageError when it cannot be opened)."""
    if isinstance(config.storage, PostgresDatabase):
        from central_server.storage.postgres import PostgresStorage  # psycopg only where it is used

        return PostgresStorage(config.storage.url)
    from central_server.storage.sqlite import SqliteStorage

    return SqliteStorage(config.storage.path)
