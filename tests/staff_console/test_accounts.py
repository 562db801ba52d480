"""The accounts database: argon2id hashes that verify, refusals, rehashing, and a file that lasts."""

from __future__ import annotations

import sqlite3
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from argon2 import PasswordHasher

from staff_console.accounts import SCHEMA, Accounts, AccountsError, UsernameTaken
from staff_console.users import AccountRefused, Role, User, new_user

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


def test_an_unknown_user_costs_a_hash_as_a_wrong_password_does(tmp_path: Path) -> None:
    class Counting(PasswordHasher):
        verified = 0

        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
            Counting.verified += 1
            return super().verify(hash, password)

    store = Accounts(tmp_path / "accounts.db", Counting(time_cost=1, memory_cost=8, parallelism=1))
    assert store.verify("lan", PASSWORD) is None
    assert Counting.verified == 1
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
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA == 1
    again = Accounts(path, FAST)
    assert again.verify("hoa", PASSWORD) == HOA
    again.close()


def test_the_database_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    Accounts(tmp_path / "accounts.db", FAST).close()
    assert (tmp_path / "accounts.db").stat().st_mode & 0o777 == 0o600


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
        db.execute("PRAGMA user_version = 2")
    with pytest.raises(AccountsError) as refused:
        Accounts(path, FAST)
    assert str(refused.value) == (f"{path}: the accounts schema is version 2, newer than this console's 1: "
                                  "run the console that wrote it")


def test_a_database_of_something_else_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tickets.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE tickets (id TEXT)")
    with pytest.raises(AccountsError, match="not an accounts database"):
        Accounts(path, FAST)
    text = tmp_path / "notes.db"
    text.write_text("không phải cơ sở dữ liệu " * 100, encoding="utf-8")
    with pytest.raises(AccountsError, match="cannot open the accounts database: file is not a database"):
        Accounts(text, FAST)
