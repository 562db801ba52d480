"""Staff accounts without storage: the roles, and what a username, a full name and a password must be.

Every refusal carries two texts: `reason` in English for the command line and the log, `vietnamese` for the
page that will show it to a person.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from protocol.errors import QmsError

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,31}")
MIN_PASSWORD = 12
MAX_PASSWORD = 256  # characters; argon2 would take more, but a megabyte pasted into a form is no password
MAX_NAME = 100


class Role(StrEnum):
    OFFICIAL = "official"
    MANAGER = "manager"
    ADMIN = "admin"

    @property
    def vietnamese(self) -> str:
        return {Role.OFFICIAL: "cán bộ", Role.MANAGER: "quản lý", Role.ADMIN: "quản trị viên"}[self]


class AccountRefused(QmsError):
    """What a person gave for an account is refused; `reason` is English, `vietnamese` is for the page."""

    def __init__(self, reason: str, vietnamese: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.vietnamese = vietnamese


@dataclass(frozen=True, slots=True)
class User:
    username: str
    full_name: str
    role: Role


def new_user(username: str, full_name: str, role: str) -> User:
    """The user, each part checked (and the name normalised), or AccountRefused for the first wrong part."""
    return User(check_username(username), check_full_name(full_name), check_role(role))


def check_username(text: str) -> str:
    if not USERNAME.fullmatch(text):
        raise AccountRefused(
            f"username {text!r} must be 3 to 32 characters of a-z, 0-9, '.', '_' and '-', starting with a letter "
            "or a digit",
            "Tên đăng nhập dài từ 3 đến 32 ký tự, chỉ gồm chữ thường không dấu (a-z), chữ số, dấu chấm, gạch dưới "
            "hoặc gạch ngang, và bắt đầu bằng chữ hoặc số.")
    return text


def check_full_name(text: str) -> str:
    """The name in NFC with its spaces collapsed: "Nguyễn" typed composed or decomposed is stored the same."""
    name = " ".join(unicodedata.normalize("NFC", text).split())
    if not name or len(name) > MAX_NAME:
        raise AccountRefused(f"the full name must be 1 to {MAX_NAME} characters, got {len(name)}",
                             f"Họ và tên không được để trống và dài tối đa {MAX_NAME} ký tự.")
    if not name.isprintable():
        raise AccountRefused("the full name must be printable: no control or invisible characters",
                             "Họ và tên không được chứa ký tự điều khiển hoặc ký tự vô hình.")
    return name


def check_role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        raise AccountRefused(
            f"role {text!r} must be one of {', '.join(Role)}",
            f"Vai trò phải là một trong: {', '.join(role.vietnamese for role in Role)}.") from None


def normalise_password(text: str) -> str:
    """NFC: a Vietnamese password typed with another input method (composed or decomposed) is the same password."""
    return unicodedata.normalize("NFC", text)


def check_password(text: str) -> str:
    """The password as it is hashed (NFC), if it is text, long enough and not absurdly long."""
    password = normalise_password(text)
    if len(password) < MIN_PASSWORD:
        raise AccountRefused(f"the password must be at least {MIN_PASSWORD} characters, got {len(password)}",
                             f"Mật khẩu phải có ít nhất {MIN_PASSWORD} ký tự.")
    categories = {unicodedata.category(c) for c in password}
    if categories & {"Cc", "Cs"}:  # Cs: bytes that were not UTF-8
        raise AccountRefused("the password must be text without control characters",
                             "Mật khẩu không được chứa ký tự điều khiển.")
    if categories & {"Cf", "Cn", "Co"}:  # a zero-width space, an unassigned or a private-use code point
        raise AccountRefused("the password must not contain invisible, unassigned or private-use characters: "
                             "nobody could type it again",
                             "Mật khẩu không được chứa ký tự vô hình, ký tự chưa được định nghĩa hoặc ký tự dùng "
                             "riêng: không ai gõ lại được.")
    if len(password) > MAX_PASSWORD:
        raise AccountRefused(f"the password must be at most {MAX_PASSWORD} characters, got {len(password)}",
                             f"Mật khẩu dài tối đa {MAX_PASSWORD} ký tự.")
    return password
