"""The accounts database: argon2id hashes that verify, refusals, rehashing, and a file that lasts."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from argon2 import PasswordHasher

from staff_console.accounts import (
    APPLICATION_ID,
    MAX_SESSIONS_PER_USER,
    MIGRATIONS,
    SCHEMA,
    Accounts,
    AccountsError,
    UsernameTaken,
)
from staff_console.users import MAX_PASSWORD, AccountRefused, Role, User, new_user

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # argon2id still, cheap for the tests
PASSWORD = "một mật khẩu đủ dài"
HOA = new_user("hoa", "Nguyễn Thị Hoà", "official")


@pytest.fixture
def accounts(tmp_path: Path) -> Iterator[Accounts]:
    store = Accounts(tmp_path / "accounts.db", FAST)
    yield store
    store.close()


def stored_hash(path: Path, username: str) -> str:
    with sqlite3.connect(path) as db:
        found: str = db.execute("SELECT password_hash FROM users WHERE username = ?", (username,)).fetchone()[0]
    return found


def test_the_stored_hash_is_argon2id_with_the_library_defaults_and_verifies(tmp_path: Path) -> None:
    store = Accounts(tmp_path / "accounts.db")
    assert store.add(HOA, PASSWORD) is False
    hashed = stored_hash(tmp_path / "accounts.db", "hoa")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$") and PASSWORD not in hashed
    assert store.verify("hoa", PASSWORD) == HOA
    store.close()


def test_a_wrong_password_or_an_unknown_user_does_not_verify(accounts: Accounts) -> None:
    accounts.add(HOA, PASSWORD)
    assert accounts.verify("hoa", PASSWORD + " ") is None
    assert accounts.verify("hoa", "") is None
    assert accounts.verify("lan", PASSWORD) is None


class Counting(PasswordHasher):
    """The test hasher, counting its hashes and verifies and the longest password it was given."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.hashed = self.verified = self.longest = 0

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.hashed += 1
        return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.verified += 1
        self.longest = max(self.longest, len(password))
        return super().verify(hash, password)


def test_the_first_unknown_user_costs_one_verify_and_no_hash_as_a_wrong_password_does(tmp_path: Path) -> None:
    hasher = Counting()
    store = Accounts(tmp_path / "accounts.db", hasher)
    store.add(HOA, PASSWORD)
    hasher.hashed = hasher.verified = 0
    assert store.verify("lan", PASSWORD) is None
    assert (hasher.hashed, hasher.verified) == (0, 1)
    assert store.verify("hoa", PASSWORD + "x") is None
    assert (hasher.hashed, hasher.verified) == (0, 2)
    store.close()


def test_an_overlong_input_spends_one_verify_on_a_bounded_part_and_is_refused(tmp_path: Path) -> None:
    hasher = Counting()
    store = Accounts(tmp_path / "accounts.db", hasher)
    store.add(HOA, PASSWORD)
    assert store.verify("hoa", PASSWORD + " " * (4 * MAX_PASSWORD)) is None
    assert store.verify("lan", "x" * 1_000_000) is None
    assert hasher.verified == 2 and hasher.longest <= 4 * MAX_PASSWORD
    store.close()


def test_a_password_typed_decomposed_verifies_against_the_composed_one(accounts: Accounts) -> None:
    accounts.add(HOA, PASSWORD)
    assert accounts.verify("hoa", unicodedata.normalize("NFD", PASSWORD)) == HOA


def test_an_existing_username_is_refused_unless_replaced(accounts: Accounts) -> None:
    accounts.add(HOA, PASSWORD)
    with pytest.raises(UsernameTaken) as taken:
        accounts.add(new_user("hoa", "Trần Văn Bình", "admin"), "một mật khẩu khác hẳn")
    assert taken.value.reason == "user 'hoa' exists already"
    assert taken.value.vietnamese == "Tên đăng nhập hoa đã có người dùng."
    assert accounts.verify("hoa", PASSWORD) == HOA
    promoted = User("hoa", "Nguyễn Thị Hoà", Role.MANAGER)
    assert accounts.add(promoted, "một mật khẩu khác hẳn", replace=True) is True
    assert accounts.verify("hoa", PASSWORD) is None
    assert accounts.verify("hoa", "một mật khẩu khác hẳn") == promoted == accounts.user("hoa")


def test_a_short_password_is_refused_and_nothing_stored(accounts: Accounts) -> None:
    with pytest.raises(AccountRefused, match="at least 12"):
        accounts.add(HOA, "ngắn quá")
    assert accounts.user("hoa") is None


def test_the_accounts_survive_reopening_in_wal_with_the_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "accounts.db"
    first = Accounts(path, FAST)
    first.add(HOA, PASSWORD)
    first.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA == 2
    again = Accounts(path, FAST)
    assert again.verify("hoa", PASSWORD) == HOA
    again.close()


def test_the_database_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    Accounts(tmp_path / "accounts.db", FAST).close()
    assert (tmp_path / "accounts.db").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o602])
def test_an_existing_file_others_may_read_or_write_is_refused_in_one_line(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "accounts.db"
    path.touch()
    path.chmod(mode)
    with pytest.raises(AccountsError) as refused:
        Accounts(path, FAST)
    assert str(refused.value) == (f"{path}: others may read or write the accounts database (mode {mode:04o}): "
                                  f"chmod 600 {path}")
    assert path.stat().st_size == 0, "the refused file is left as it was"


def test_a_symlink_is_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.db"
    link = tmp_path / "accounts.db"
    link.symlink_to(target)
    with pytest.raises(AccountsError, match="cannot open the accounts database"):
        Accounts(link, FAST)
    assert not target.exists()


def test_a_file_of_another_user_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "accounts.db"
    Accounts(path, FAST).close()
    monkeypatch.setattr(os, "getuid", lambda: path.stat().st_uid + 1)
    with pytest.raises(AccountsError, match="not to this user"):
        Accounts(path, FAST)


def test_an_older_hash_is_replaced_by_one_with_the_current_parameters_on_sign_in(tmp_path: Path) -> None:
    path = tmp_path / "accounts.db"
    weak = Accounts(path, FAST)
    weak.add(HOA, PASSWORD)
    weak.close()
    assert "$m=8,t=1,p=1$" in stored_hash(path, "hoa")
    current = Accounts(path)
    assert current.verify("hoa", "not the password") is None
    assert "$m=8,t=1,p=1$" in stored_hash(path, "hoa"), "a wrong password changes nothing"
    assert current.verify("hoa", PASSWORD) == HOA
    assert stored_hash(path, "hoa").startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert current.verify("hoa", PASSWORD) == HOA
    current.close()


def test_a_stored_hash_that_is_not_argon2_verifies_nothing(accounts: Accounts,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    accounts.add(HOA, PASSWORD)
    with sqlite3.connect(accounts.path) as db:
        db.execute("UPDATE users SET password_hash = 'plain text' WHERE username = 'hoa'")
    assert accounts.verify("hoa", "plain text") is None
    assert "not an argon2 hash" in caplog.text


def test_a_newer_schema_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "accounts.db"
    Accounts(path, FAST).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA + 1}")
    with pytest.raises(AccountsError) as refused:
        Accounts(path, FAST)
    assert str(refused.value) == (f"{path}: the accounts schema is version 3, newer than this console's 2: "
                                  "run the console that wrote it")


def foreign(path: Path, *statements: str) -> bytes:
    """A SQLite file (mode 0600) made by something else with these statements; its bytes."""
    with sqlite3.connect(path) as db:
        for statement in statements:
            db.execute(statement)
    db.close()
    path.chmod(0o600)
    return path.read_bytes()


@pytest.mark.parametrize("statements", [("CREATE TABLE tickets (id TEXT)",),
                                        ("CREATE TABLE tickets (id TEXT)", "PRAGMA user_version = 1"),
                                        ("PRAGMA user_version = 1",), ("PRAGMA application_id = 42",)])
def test_a_database_of_something_else_is_refused_and_left_unchanged(tmp_path: Path,
                                                                    statements: tuple[str, ...]) -> None:
    path = tmp_path / "tickets.db"
    before = foreign(path, *statements)
    with pytest.raises(AccountsError, match="not an accounts database"):
        Accounts(path, FAST)
    assert path.read_bytes() == before and not (tmp_path / "tickets.db-wal").exists()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    db.close()


def test_a_file_that_is_no_database_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.db"
    text.write_text("không phải cơ sở dữ liệu " * 100, encoding="utf-8")
    text.chmod(0o600)
    with pytest.raises(AccountsError, match="cannot open the accounts database: file is not a database"):
        Accounts(text, FAST)


def test_a_new_database_carries_the_consoles_application_id(accounts: Accounts) -> None:
    with sqlite3.connect(accounts.path) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    db.close()


def _open_at_once(path: str, start: multiprocessing.synchronize.Barrier, errors: multiprocessing.Queue[str]) -> None:
    start.wait(10)
    try:
        Accounts(Path(path), FAST).close()
    except Exception as exc:  # the test reports what went wrong in the child
        errors.put(f"{type(exc).__name__}: {exc}")


def test_processes_opening_a_new_file_at_once_all_succeed(tmp_path: Path) -> None:
    """Without the schema made under the write lock, some of them fail with "table users already exists"."""
    context = multiprocessing.get_context("fork")
    for attempt in range(5):
        path = tmp_path / f"accounts-{attempt}.db"
        start, errors = context.Barrier(8), context.Queue()
        children = [context.Process(target=_open_at_once, args=(str(path), start, errors)) for _ in range(8)]
        for child in children:
            child.start()
        for child in children:
            child.join(30)
        assert [child.exitcode for child in children] == [0] * 8
        assert errors.empty(), errors.get()
        store = Accounts(path, FAST)
        store.add(HOA, PASSWORD)
        assert store.verify("hoa", PASSWORD) == HOA
        store.close()


def test_a_rehash_that_cannot_be_written_is_logged_and_the_sign_in_still_succeeds(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "accounts.db"
    weak = Accounts(path, FAST)
    weak.add(HOA, PASSWORD)
    weak.close()
    with sqlite3.connect(path) as db:
        db.execute("CREATE TRIGGER frozen BEFORE UPDATE ON users BEGIN SELECT RAISE(ABORT, 'frozen'); END")
    db.close()
    current = Accounts(path)
    assert current.verify("hoa", PASSWORD) == HOA
    assert "the password hash of hoa could not be replaced" in caplog.text and "frozen" in caplog.text
    assert "$m=8,t=1,p=1$" in stored_hash(path, "hoa")
    current.close()


def test_a_first_schema_database_is_migrated_with_its_accounts_kept(tmp_path: Path) -> None:
    path = tmp_path / "accounts.db"
    with sqlite3.connect(path) as db:  # as the console of schema 1 left it
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        db.execute(MIGRATIONS[0])
        db.execute("INSERT INTO users VALUES ('hoa', 'Nguyễn Thị Hoà', 'official', ?, 'x', 'x')",
                   (FAST.hash(PASSWORD),))
        db.execute("PRAGMA user_version = 1")
    os.chmod(path, 0o600)
    accounts = Accounts(path, FAST)
    assert accounts.verify("hoa", PASSWORD) == HOA
    assert accounts.session(accounts.open_session(HOA, 1).token) is not None
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA


def test_a_session_opens_with_its_token_only_until_it_expires_or_is_closed(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path / "accounts.db", FAST)
    accounts.add(HOA, PASSWORD)
    opened = accounts.open_session(HOA, 10)
    found = accounts.session(opened.token)
    assert found is not None and found.user == HOA and found.csrf == opened.csrf
    assert accounts.session(opened.token[:-1] + ("A" if opened.token[-1] != "A" else "B")) is None
    assert accounts.session("") is None and accounts.session("x" * 65) is None
    with sqlite3.connect(tmp_path / "accounts.db") as db:  # the file keeps no token, only its digest
        stored = db.execute("SELECT token_hash FROM sessions").fetchone()[0]
        assert opened.token.encode() not in stored and len(stored) == 32
        db.execute("UPDATE sessions SET expires_at = '2000-01-01T00:00:00+00:00'")
    assert accounts.session(opened.token) is None, "expired"
    again = accounts.open_session(HOA, 10)
    accounts.close_session(again.token)
    assert accounts.session(again.token) is None, "signed out"


def test_a_session_follows_the_account_and_ends_with_it(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path / "accounts.db", FAST)
    accounts.add(HOA, PASSWORD)
    opened = accounts.open_session(HOA, 10)
    with sqlite3.connect(tmp_path / "accounts.db") as db:
        db.execute("UPDATE users SET role = 'manager' WHERE username = 'hoa'")
    found = accounts.session(opened.token)
    assert found is not None and found.user.role is Role.MANAGER, "the role as it is now, not as it was"
    accounts.add(new_user("hoa", "Nguyễn Thị Hoà", "manager"), PASSWORD, replace=True)
    assert accounts.session(opened.token) is None, "a new password signs out the old sign-ins"
    opened = accounts.open_session(HOA, 10)
    with sqlite3.connect(tmp_path / "accounts.db") as db:
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("DELETE FROM users WHERE username = 'hoa'")
    assert accounts.session(opened.token) is None


def test_an_account_keeps_its_newest_sessions_only(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path / "accounts.db", FAST)
    accounts.add(HOA, PASSWORD)
    tokens = [accounts.open_session(HOA, 10).token for _ in range(MAX_SESSIONS_PER_USER + 3)]
    assert [accounts.session(token) is not None for token in tokens] == [False] * 3 + [True] * MAX_SESSIONS_PER_USER
