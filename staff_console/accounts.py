"""The staff accounts on disk: SQLite (WAL, synchronous=FULL, a schema version), passwords hashed with argon2id."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from protocol.errors import QmsError
from staff_console.users import MAX_PASSWORD, AccountRefused, Role, User, check_password, normalise_password

log = logging.getLogger(__name__)
APPLICATION_ID = 0x514D5343  # "QMSC" in the database header: a SQLite file this console made
SWITCH_TIMEOUT_S = 5.0  # as long as sqlite3's own busy timeout
MAX_INPUT = 4 * MAX_PASSWORD  # characters verify looks at: more is no password, and is not worth a hash of it
# Each entry migrates the schema from version i to i + 1. Never edit a released entry: append.
MIGRATIONS = (
    "CREATE TABLE users (username TEXT PRIMARY KEY, full_name TEXT NOT NULL,"
    " role TEXT NOT NULL CHECK (role IN ('official', 'manager', 'admin')), password_hash TEXT NOT NULL,"
    " created_at TEXT NOT NULL, changed_at TEXT NOT NULL) STRICT",
    # A sign-in: the cookie holds a random token, the database only its SHA-256 (a stolen file signs nobody in).
    "CREATE TABLE sessions (token_hash BLOB PRIMARY KEY, username TEXT NOT NULL REFERENCES users ON DELETE CASCADE,"
    " csrf TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL) STRICT;"
    " CREATE INDEX sessions_by_user ON sessions (username, created_at)",
)
SCHEMA = len(MIGRATIONS)
MAX_SESSIONS_PER_USER = 20  # sign-ins kept per account (a PC and a phone a day); the oldest goes past it


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
        self._lock = threading.RLock()  # one use of the connection at a time (the web server's worker threads)
        # made now, so that the first sign-in with an unknown username costs what a wrong password does
        self._absent_hash = self._hasher.hash("no such user: this hash only spends the time")

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
            if exists:  # a new password (a reset): whoever signed in with the old one is signed out
                self._db.execute("DELETE FROM sessions WHERE username = ?", (user.username,))
            self._db.execute(
                "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (username) DO UPDATE SET"
                " full_name = excluded.full_name, role = excluded.role, password_hash = excluded.password_hash,"
                " changed_at = excluded.changed_at",
                (user.username, user.full_name, user.role.value, hashed, now, now))
        log.info("account %s (%s) %s", user.username, user.role, "replaced" if exists else "added")
        return exists

    def verify(self, username: str, password: str) -> User | None:
        """The user when the password is theirs, else None. A hash made with other parameters than the hasher's
        is replaced. An unknown username or an overlong input costs one hash too, so the time taken does not
        tell them apart."""
        if len(password) > MAX_INPUT:
            self._verifies(self._absent_hash, password[:MAX_INPUT])
            return None
        secret = normalise_password(password)
        row = self._row(username)
        if row is None:
            self._verifies(self._absent_hash, secret)
            return None
        full_name, role, hashed = row
        if not self._verifies(hashed, secret):
            return None
        user = User(username, full_name, Role(role))
        if self._hasher.check_needs_rehash(hashed):
            rehashed = self._hasher.hash(secret)  # before the write lock: the hash takes a while
            try:
                with self._transaction():
                    self._db.execute("UPDATE users SET password_hash = ? WHERE username = ? AND password_hash = ?",
                                     (rehashed, username, hashed))
            except AccountsError as exc:  # the sign-in is good; the new hash waits for the next one
                log.warning("the password hash of %s could not be replaced: %s", username, exc)
        return user

    def open_session(self, user: User, hours: int) -> Session:
        """A new sign-in for `user`, durable when this returns; the oldest past MAX_SESSIONS_PER_USER are closed."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        expires = now + timedelta(hours=hours)
        with self._transaction():
            self._db.execute("DELETE FROM sessions WHERE expires_at <= ?", (now.isoformat(),))
            self._db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
                             (_digest(token), user.username, csrf, now.isoformat(), expires.isoformat()))
            self._db.execute(
                "DELETE FROM sessions WHERE username = ? AND token_hash NOT IN (SELECT token_hash FROM sessions"
                " WHERE username = ? ORDER BY rowid DESC LIMIT ?)",
                (user.username, user.username, MAX_SESSIONS_PER_USER))
        return Session(token, csrf, user, expires)

    def session(self, token: str) -> Session | None:
        """The sign-in this cookie token opens, unexpired, with the account as it is now; None otherwise."""
        if not token or len(token) > 64:
            return None
        try:
            with self._lock:
                row = self._db.execute(
                    "SELECT s.csrf, s.expires_at, u.username, u.full_name, u.role FROM sessions s"
                    " JOIN users u USING (username) WHERE s.token_hash = ?", (_digest(token),)).fetchone()
        except sqlite3.Error as exc:
            raise AccountsError(f"{self.path}: {exc}") from None
        if row is None:
            return None
        csrf, expires_at, username, full_name, role = row
        expires = datetime.fromisoformat(expires_at)
        if expires <= datetime.now(UTC):
            return None
        return Session(token, csrf, User(username, full_name, Role(role)), expires)

    def close_session(self, token: str) -> None:
        with self._transaction():
            self._db.execute("DELETE FROM sessions WHERE token_hash = ?", (_digest(token),))

    def _verifies(self, hashed: str, secret: str) -> bool:
        try:
            return self._hasher.verify(hashed, secret)
        except VerificationError:  # the wrong password (VerifyMismatchError) or a hash that does not verify
            return False
        except InvalidHashError:
            log.warning("a stored password hash in %s is not an argon2 hash", self.path)
            return False

    def _row(self, username: str) -> tuple[str, str, str] | None:
        try:
            with self._lock:
                row: tuple[str, str, str] | None = self._db.execute(
                    "SELECT full_name, role, password_hash FROM users WHERE username = ?", (username,)).fetchone()
        except sqlite3.Error as exc:
            raise AccountsError(f"{self.path}: {exc}") from None
        return row

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._lock:
            yield from self._locked_transaction()

    def _locked_transaction(self) -> Iterator[None]:
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


@dataclass(frozen=True, slots=True)
class Session:
    token: str  # what the cookie holds (the database keeps only its digest)
    csrf: str  # what every form and action of this sign-in must carry back
    user: User
    expires: datetime


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _open(path: Path) -> sqlite3.Connection:
    """The database, made (readable by its owner only) with the current schema when new. A file that others may
    read, a newer schema, or a database that is not an accounts database is refused in one line, unchanged."""
    _check_owned(path)
    try:
        # Used from the web server's worker threads, one at a time (Accounts holds a lock around every use; a
        # password is hashed outside it).
        db = sqlite3.connect(path.absolute().as_uri() + "?nofollow=1", uri=True, isolation_level=None,
                             check_same_thread=False)
    except sqlite3.Error as exc:
        raise AccountsError(f"{path}: cannot open the accounts database: {exc}") from None
    try:
        _create_or_check(db, path)
        _switch_to_wal(db)  # only now: a refused file is left as it was
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
    except sqlite3.Error as exc:
        db.close()
        raise AccountsError(f"{path}: cannot open the accounts database: {exc}") from None
    except AccountsError:
        db.close()
        raise
    return db


def _check_owned(path: Path) -> None:
    """Made with mode 0600 when absent (SQLite gives its -wal and -shm files the database's permissions); an
    existing file must be this user's own, a regular file (no symlink), and closed to everyone else."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            found = os.fstat(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise AccountsError(f"{path}: cannot open the accounts database: {exc}") from None
    if not stat.S_ISREG(found.st_mode):
        raise AccountsError(f"{path}: the accounts database is not a regular file")
    if found.st_uid != os.getuid():
        raise AccountsError(f"{path}: the accounts database belongs to uid {found.st_uid}, not to this user "
                            f"(uid {os.getuid()}): run the console as its owner")
    if found.st_mode & 0o077:
        raise AccountsError(f"{path}: others may read or write the accounts database (mode "
                            f"{stat.S_IMODE(found.st_mode):04o}): chmod 600 {path}")


def _create_or_check(db: sqlite3.Connection, path: Path) -> None:
    """The schema made in an empty file, or the file's own checked. Several processes may open a new file at
    once: the one that takes the write lock first creates the schema, the others find it made."""
    version, application_id, tables = _identity(db)
    if (version, application_id, tables) == (0, 0, 0) or (application_id == APPLICATION_ID and 0 < version < SCHEMA):
        _migrate(db)
    version, application_id, tables = _identity(db)
    if application_id != APPLICATION_ID:
        raise AccountsError(f"{path}: not an accounts database (its application_id is {application_id:#x}, not the "
                            f"console's {APPLICATION_ID:#x})")
    if version > SCHEMA:
        raise AccountsError(f"{path}: the accounts schema is version {version}, newer than this console's {SCHEMA}: "
                            "run the console that wrote it")
    if version < SCHEMA or not tables:
        raise AccountsError(f"{path}: a broken accounts database (schema version {version}, {tables} tables)")


def _migrate(db: sqlite3.Connection) -> None:
    """Bring the schema up to SCHEMA under the write lock, from wherever another process left it."""
    db.execute("BEGIN IMMEDIATE")
    try:
        version, application_id, tables = _identity(db)
        fresh = (version, application_id, tables) == (0, 0, 0)
        if fresh:
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        if fresh or application_id == APPLICATION_ID:
            for step in MIGRATIONS[version:]:
                for statement in step.split(";"):
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA}")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def _switch_to_wal(db: sqlite3.Connection) -> None:
    """WAL (persistent in the file). Switching takes an exclusive lock, and SQLite answers SQLITE_BUSY at once,
    without waiting, to one of two connections switching together: that one tries again for a while."""
    deadline = time.monotonic() + SWITCH_TIMEOUT_S
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _identity(db: sqlite3.Connection) -> tuple[int, int, int]:
    """(user_version, application_id, the number of schema objects): (0, 0, 0) for an empty file."""
    version: int = db.execute("PRAGMA user_version").fetchone()[0]
    application_id: int = db.execute("PRAGMA application_id").fetchone()[0]
    tables: int = db.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
    return version, application_id, tables
