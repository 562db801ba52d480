"""The staff accounts on disk: SQLite (WAL, synchronous=FULL, a schema version), passwords hashed with argon2id."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from protocol.errors import QmsError
from staff_console.users import AccountRefused, Role, User, check_password, normalise_password

log = logging.getLogger(__name__)
SCHEMA = 1
CREATE = ("CREATE TABLE users (username TEXT PRIMARY KEY, full_name TEXT NOT NULL,"
          " role TEXT NOT NULL CHECK (role IN ('official', 'manager', 'admin')), password_hash TEXT NOT NULL,"
          " created_at TEXT NOT NULL, changed_at TEXT NOT NULL) STRICT")


class AccountsError(QmsError):
    """The accounts database cannot be used; the message is one line naming the file."""


class UsernameTaken(AccountRefused):
    """An account with this username exists, and replacing it was not asked for."""

    def __init__(self, username: str) -> None:
        super().__init__(f"user {username!r} exists already", f"Tên đăng nhập {username} đã có người dùng.")


class Accounts:
    def __init__(self, path: Path, hasher: PasswordHasher | None = None) -> None:
        self.path = path
        self._hasher = hasher or PasswordHasher()  # argon2id with the library's (RFC 9106's low-memory) defaults
        self._db = _open(path)
        self._absent_hash: str | None = None

    def close(self) -> None:
        self._db.close()

    def user(self, username: str) -> User | None:
        row = self._row(username)
        return None if row is None else User(username, row[0], Role(row[1]))

    def add(self, user: User, password: str, *, replace: bool = False) -> bool:
        """Store the user with the password's hash; durable when this returns. True when it replaced one."""
        hashed = self._hasher.hash(check_password(password))
        now = datetime.now(UTC).isoformat()
        with self._transaction():
            exists = self._row(user.username) is not None
            if exists and not replace:
                raise UsernameTaken(user.username)
            self._db.execute(
                "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (username) DO UPDATE SET"
                " full_name = excluded.full_name, role = excluded.role, password_hash = excluded.password_hash,"
                " changed_at = excluded.changed_at",
                (user.username, user.full_name, user.role.value, hashed, now, now))
        log.info("account %s (%s) %s", user.username, user.role, "replaced" if exists else "added")
        return exists

    def verify(self, username: str, password: str) -> User | None:
        """The user when the password is theirs, else None. A hash made with other parameters than the hasher's
        is replaced. An unknown username costs one hash too, so the time taken does not tell it apart."""
        secret = normalise_password(password)
        row = self._row(username)
        if row is None:
            self._verifies(self._absent(), secret)
            return None
        full_name, role, hashed = row
        if not self._verifies(hashed, secret):
            return None
        if self._hasher.check_needs_rehash(hashed):
            with self._transaction():
                self._db.execute("UPDATE users SET password_hash = ? WHERE username = ? AND password_hash = ?",
                                 (self._hasher.hash(secret), username, hashed))
        return User(username, full_name, Role(role))

    def _verifies(self, hashed: str, secret: str) -> bool:
        try:
            return self._hasher.verify(hashed, secret)
        except VerificationError:  # the wrong password (VerifyMismatchError) or a hash that does not verify
            return False
        except InvalidHashError:
            log.warning("a stored password hash in %s is not an argon2 hash", self.path)
            return False

    def _absent(self) -> str:
        if self._absent_hash is None:
            self._absent_hash = self._hasher.hash("no such user: this hash only spends the time")
        return self._absent_hash

    def _row(self, username: str) -> tuple[str, str, str] | None:
        try:
            row: tuple[str, str, str] | None = self._db.execute(
                "SELECT full_name, role, password_hash FROM users WHERE username = ?", (username,)).fetchone()
        except sqlite3.Error as exc:
            raise AccountsError(f"{self.path}: {exc}") from None
        return row

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise AccountsError(f"{self.path}: {exc}") from None


def _open(path: Path) -> sqlite3.Connection:
    """The database, made (readable by its owner only) with the current schema when new; a newer schema, or a
    database that is not an accounts database, is refused in one line."""
    try:
        path.touch(mode=0o600)  # SQLite gives its -wal and -shm files the database's permissions
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        version: int = db.execute("PRAGMA user_version").fetchone()[0]
        tables = db.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
    except (OSError, sqlite3.Error) as exc:
        raise AccountsError(f"{path}: cannot open the accounts database: {exc}") from None
    if version > SCHEMA:
        db.close()
        raise AccountsError(f"{path}: the accounts schema is version {version}, newer than this console's {SCHEMA}: "
                            "run the console that wrote it")
    if version == 0 and tables:
        db.close()
        raise AccountsError(f"{path}: not an accounts database (it has tables but no schema version)")
    if version == 0:
        db.executescript(f"BEGIN IMMEDIATE; {CREATE}; PRAGMA user_version = {SCHEMA}; COMMIT;")
    return db
