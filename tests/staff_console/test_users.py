"""What an account must be, checked without storage: roles, usernames, full names, passwords."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from staff_console.users import AccountRefused, Role, check_password, new_user

ROOT = Path(__file__).resolve().parents[2]


def test_a_user_is_made_of_a_checked_username_a_normalised_name_and_a_role() -> None:
    decomposed = unicodedata.normalize("NFD", "  Nguyễn   Thị\tHoà ")
    user = new_user("hoa.nguyen-2", decomposed, "manager")
    assert user.username == "hoa.nguyen-2" and user.role is Role.MANAGER
    assert user.full_name == "Nguyễn Thị Hoà" and unicodedata.is_normalized("NFC", user.full_name)


@pytest.mark.parametrize("username", ["ab", "a" * 33, "Hoa", "hoà", "-hoa", "hoa nguyen", "hoa@x", ""])
def test_a_username_outside_the_pattern_is_refused(username: str) -> None:
    with pytest.raises(AccountRefused) as refused:
        new_user(username, "Nguyễn Văn A", "official")
    assert "3 to 32" in refused.value.reason and "Tên đăng nhập" in refused.value.vietnamese


@pytest.mark.parametrize(("name", "length"), [("", 0), ("   ", 0), ("A" * 101, 101)])
def test_an_empty_or_overlong_name_is_refused_for_its_length(name: str, length: int) -> None:
    with pytest.raises(AccountRefused) as refused:
        new_user("hoa", name, "official")
    assert refused.value.reason == f"the full name must be 1 to 100 characters, got {length}"
    assert refused.value.vietnamese == "Họ và tên không được để trống và dài tối đa 100 ký tự."


@pytest.mark.parametrize("name", ["Nguyễn\u0007Văn A", "Nguyễn\u200bVăn A", "Nguyễn Văn A\ue000"])
def test_a_name_with_control_or_invisible_characters_is_refused_as_unprintable(name: str) -> None:
    with pytest.raises(AccountRefused) as refused:
        new_user("hoa", name, "official")
    assert refused.value.reason == "the full name must be printable: no control or invisible characters"
    assert refused.value.vietnamese == "Họ và tên không được chứa ký tự điều khiển hoặc ký tự vô hình."


def test_a_name_of_a_hundred_letters_is_taken() -> None:
    assert new_user("hoa", "Ễ" * 100, "admin").full_name == "Ễ" * 100


def test_a_role_outside_the_three_is_refused_in_english_and_vietnamese() -> None:
    with pytest.raises(AccountRefused) as refused:
        new_user("hoa", "Nguyễn Văn A", "boss")
    assert refused.value.reason == "role 'boss' must be one of official, manager, admin"
    assert refused.value.vietnamese == "Vai trò phải là một trong: cán bộ, quản lý, quản trị viên."


def test_a_password_shorter_than_twelve_characters_is_refused() -> None:
    with pytest.raises(AccountRefused) as refused:
        check_password("mười một kt")
    assert refused.value.reason == "the password must be at least 12 characters, got 11"
    assert refused.value.vietnamese == "Mật khẩu phải có ít nhất 12 ký tự."
    assert check_password("mười hai ktự") == "mười hai ktự"


def test_a_password_is_counted_and_returned_in_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "ễ" * 11)  # 33 code points, 11 letters
    with pytest.raises(AccountRefused):
        check_password(decomposed)
    assert check_password(unicodedata.normalize("NFD", "ễ" * 12)) == "ễ" * 12


@pytest.mark.parametrize("password", ["mật khẩu\tcó tab", "mật khẩu có\udcff byte lạ", "mật khẩu\x00có nul"])
def test_a_password_with_control_characters_or_undecodable_bytes_is_refused(password: str) -> None:
    with pytest.raises(AccountRefused) as refused:
        check_password(password)
    assert refused.value.vietnamese == "Mật khẩu không được chứa ký tự điều khiển."
    assert check_password("mật khẩu có dấu cách\u00a0và €") == "mật khẩu có dấu cách\u00a0và €"


@pytest.mark.parametrize("password", ["mật khẩu\u200bvô hình", "mật khẩu\u00adgạch mềm", "mật khẩu\ufeffBOM",
                                      "mật khẩu riêng \ue000", "mật khẩu chưa có \U000e0fff"])
def test_a_password_with_invisible_unassigned_or_private_use_characters_is_refused(password: str) -> None:
    with pytest.raises(AccountRefused) as refused:
        check_password(password)
    assert refused.value.reason == ("the password must not contain invisible, unassigned or private-use "
                                    "characters: nobody could type it again")
    assert refused.value.vietnamese == ("Mật khẩu không được chứa ký tự vô hình, ký tự chưa được định nghĩa hoặc "
                                        "ký tự dùng riêng: không ai gõ lại được.")


def test_an_absurdly_long_password_is_refused() -> None:
    assert check_password("x" * 256) == "x" * 256
    with pytest.raises(AccountRefused, match="at most 256"):
        check_password("x" * 257)


def test_the_pure_parts_load_neither_sqlite_nor_argon2() -> None:
    probe = ("import sys, staff_console.users, staff_console.config;"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlite3', 'argon2')))")
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
    probe_store = probe.replace("staff_console.config;", "staff_console.accounts;")
    assert "argon2" in subprocess.run([sys.executable, "-c", probe_store], cwd=ROOT, capture_output=True, text=True,
                                      check=True).stdout, "the probe sees an import when there is one"
