"""`python -m staff_console`: --check, the config's mistakes, and add-user as an admin types it."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from staff_console.__main__ import main
from staff_console.accounts import Accounts
from staff_console.users import Role, User

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "firmware_configs" / "staff_console.example.toml"
PASSWORD = "mật khẩu của quản trị"
SHIPPED_ACCOUNTS = "/tmp/qms-console-accounts.db"


def config_file(tmp_path: Path, old: str = "", new: str = "") -> Path:
    """The example with its accounts in `tmp_path`, and `old` (once in it) changed to `new`."""
    text = EXAMPLE.read_text(encoding="utf-8").replace(SHIPPED_ACCOUNTS, str(tmp_path / "accounts.db"))
    assert text.count(old) == 1 or not old, old
    path = tmp_path / "console.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def add_user(config: Path, *arguments: str, stdin: str = PASSWORD + "\n") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "staff_console", "add-user", "--config", str(config), *arguments],
                          input=stdin, capture_output=True, text=True, timeout=60, cwd=ROOT)


def admin(*more: str) -> tuple[str, ...]:
    return ("--username", "admin", "--name", "Nguyễn Văn A", "--role", "admin", *more)


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2 and done.stdout == "", done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_check_prints_the_example_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config_file(tmp_path)), "--check"]) == 0
    assert capsys.readouterr().out == (
        "staff console console-1 of center rach-gia\nmqtt mqtt://127.0.0.1:1883\n"
        f"accounts {tmp_path / 'accounts.db'}\nserving http://127.0.0.1:8080/\n"
        "sessions end after 10 h\nno reports (no [report])\n")


def test_the_defaults_listen_on_this_machine_for_ten_hour_sessions(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = config_file(tmp_path, 'listen = "127.0.0.1"', 'listen = "::1"')
    path.write_text("\n".join(line for line in path.read_text(encoding="utf-8").splitlines()
                              if not line.startswith(("port =", "session_hours ="))), encoding="utf-8")
    assert main(["--config", str(path), "--check"]) == 0
    shown = capsys.readouterr().out
    assert "serving http://[::1]:8080/" in shown and "sessions end after 10 h" in shown


@pytest.mark.parametrize(("old", "new", "says"), [
    ('id = "console-1"', 'id = "console 1"', "[console].id: 'console 1' must match"),
    ('center = "rach-gia"', 'center = "Rạch Giá"', "[console].center: 'Rạch Giá' must match [a-z0-9-]+"),
    ("port = 8080", "port = 70000", "[console].port: must be at most 65535, got 70000"),
    ("port = 8080", "port = 0", "[console].port: must be at least 1, got 0"),
    ("port = 8080", 'port = "8080"', "[console].port: expected an integer, got '8080'"),
    ("session_hours = 10", "session_hours = 25", "[console].session_hours: must be at most 24, got 25"),
    ("session_hours = 10", "session_hours = 0", "[console].session_hours: must be at least 1, got 0"),
    ('listen = "127.0.0.1"', 'listen = "my host"', "[console].listen: 'my host' must be an IP address or a host"),
    ('listen = "127.0.0.1"', 'listen = "-"', "[console].listen: '-' must be an IP address or a host name"),
    ('listen = "127.0.0.1"', 'listen = "..."', "[console].listen: '...' must be an IP address or a host name"),
    ('listen = "127.0.0.1"', 'listen = ":::"', "[console].listen: ':::' must be an IP address or a host name"),
    ('listen = "127.0.0.1"', 'listen = "1.2.3"', "[console].listen: '1.2.3' must be an IP address or a host name"),
    ("session_hours = 10", "session_hour = 10", "[console].session_hour: unknown key (did you mean 'session_hours'?)"),
])
def test_a_config_mistake_is_one_line_naming_the_key_and_exit_2(tmp_path: Path, old: str, new: str, says: str,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config_file(tmp_path, old, new)), "--check"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith(f"staff_console: console.toml: {says}"), captured.err


def test_the_accounts_folder_must_exist_and_the_file_be_no_folder(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    absent = tmp_path / "absent" / "accounts.db"
    assert main(["--config", str(config_file(tmp_path, str(tmp_path / "accounts.db"), str(absent))), "--check"]) == 2
    assert capsys.readouterr().err == f"staff_console: console.toml: [console].accounts: folder {absent.parent} " \
                                      "does not exist\n"
    assert main(["--config", str(config_file(tmp_path, str(tmp_path / "accounts.db"), str(tmp_path))), "--check"]) == 2
    assert capsys.readouterr().err == f"staff_console: console.toml: [console].accounts: {tmp_path} is a folder, " \
                                      "not a database file\n"


@pytest.mark.parametrize("arguments", [[], ["serve", "--config", str(EXAMPLE)],
                                       ["--config", str(EXAMPLE), "--port", "1"],
                                       ["add-user", "--config", str(EXAMPLE), "--username", "admin"],
                                       ["add-user", "--config", str(EXAMPLE), *admin(), "--password", PASSWORD]])
def test_anything_but_serving_check_and_add_user_is_refused_in_one_line(arguments: list[str],
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(arguments)
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("staff_console") and err.endswith("(see --help)\n"), err


def test_add_user_stores_an_argon2id_hash_of_the_password_read_from_stdin(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    done = add_user(config, *admin())
    assert done.returncode == 0 and done.stderr == "", done
    assert done.stdout == f"staff_console: added admin (Nguyễn Văn A) as admin in {tmp_path / 'accounts.db'}\n"
    accounts = Accounts(tmp_path / "accounts.db")
    assert accounts.verify("admin", PASSWORD) == User("admin", "Nguyễn Văn A", Role.ADMIN)
    assert accounts.verify("admin", PASSWORD + "\n") is None
    accounts.close()
    with open(tmp_path / "accounts.db", "rb") as db:
        content = db.read()
    assert b"$argon2id$" in content and PASSWORD.encode() not in content


def test_add_user_refuses_an_existing_username_unless_replace(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    assert add_user(config, *admin()).returncode == 0
    assert one_line(add_user(config, *admin(), stdin="một mật khẩu khác hẳn\n")) == (
        f"staff_console: user 'admin' exists already in {tmp_path / 'accounts.db'} (--replace replaces it)")
    replaced = add_user(config, "--username", "admin", "--name", "Trần Thị Bình", "--role", "manager", "--replace",
                        stdin="một mật khẩu khác hẳn\n")
    assert replaced.returncode == 0, replaced
    assert replaced.stdout == (f"staff_console: replaced admin (Trần Thị Bình) as manager in "
                               f"{tmp_path / 'accounts.db'}\n")
    accounts = Accounts(tmp_path / "accounts.db")
    assert accounts.verify("admin", PASSWORD) is None
    assert accounts.verify("admin", "một mật khẩu khác hẳn") == User("admin", "Trần Thị Bình", Role.MANAGER)
    accounts.close()


@pytest.mark.parametrize(("arguments", "stdin", "says"), [
    ((*admin()[:-1], "boss"), PASSWORD, "staff_console: role 'boss' must be one of official, manager, admin"),
    (admin(), "ngắn quá\n", "staff_console: the password must be at least 12 characters, got 8"),
    (admin(), "", "staff_console: the password must be at least 12 characters, got 0"),
    (("--username", "Admin", *admin()[2:]), PASSWORD, "staff_console: username 'Admin' must be 3 to 32 characters"),
    ((*admin()[:2], "--name", "  ", *admin()[4:]), PASSWORD, "staff_console: the full name must be 1 to 100"),
    (admin(), "mật khẩu\u200bvô hình\n", "staff_console: the password must not contain invisible"),
    (admin(), "x" * 2000 + "\n", "staff_console: the password must be one line of at most 256 characters"),
    (admin(), "x" * 300 + "\n", "staff_console: the password must be at most 256 characters, got 300"),
])
def test_add_user_refuses_a_wrong_part_in_one_line_and_leaves_no_database(tmp_path: Path, arguments: tuple[str, ...],
                                                                          stdin: str, says: str) -> None:
    assert one_line(add_user(config_file(tmp_path), *arguments, stdin=stdin)).startswith(says)
    assert not (tmp_path / "accounts.db").exists()


def test_a_refused_password_leaves_an_existing_database_as_it_was(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    assert add_user(config, *admin()).returncode == 0
    one_line(add_user(config, "--username", "lan", "--name", "Lê Thị Lan", "--role", "official", stdin="ngắn\n"))
    accounts = Accounts(tmp_path / "accounts.db")
    assert accounts.user("lan") is None and accounts.verify("admin", PASSWORD) is not None
    accounts.close()


def test_a_password_line_without_a_newline_at_the_end_of_input_is_taken(tmp_path: Path) -> None:
    assert add_user(config_file(tmp_path), *admin(), stdin=PASSWORD).returncode == 0
    accounts = Accounts(tmp_path / "accounts.db")
    assert accounts.verify("admin", PASSWORD) is not None
    accounts.close()


def test_add_user_with_standard_input_closed_is_one_line(tmp_path: Path) -> None:
    done = subprocess.run(["sh", "-c", 'exec "$@" 0<&-', "sh", sys.executable, "-m", "staff_console", "add-user",
                           "--config", str(config_file(tmp_path)), *admin()],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert one_line(done) == ("staff_console: no password could be read: standard input must be one line of "
                              "UTF-8 text")
    assert not (tmp_path / "accounts.db").exists()


@pytest.mark.parametrize("environment", [{"LC_ALL": "C.UTF-8"}, {"PYTHONIOENCODING": "utf-8:strict"},
                                         {"PYTHONIOENCODING": "latin-1"}])
def test_add_user_refuses_a_password_that_is_not_utf8_whatever_the_locale(tmp_path: Path,
                                                                          environment: dict[str, str]) -> None:
    """The password is read as bytes and decoded as strict UTF-8, whatever encoding Python gave stdin."""
    done = subprocess.run([sys.executable, "-m", "staff_console", "add-user", "--config", str(config_file(tmp_path)),
                           *admin()], input=b"m\xe2t kh\xe2u cua quan tri\n", capture_output=True, timeout=60,
                          cwd=ROOT, env={**os.environ, **environment})
    assert done.returncode == 2 and done.stderr.decode() == (
        "staff_console: no password could be read: standard input must be one line of UTF-8 text\n")
    assert not (tmp_path / "accounts.db").exists()


def test_add_user_names_the_config_mistake(tmp_path: Path) -> None:
    line = one_line(add_user(config_file(tmp_path, "port = 8080", "port = -1"), *admin()))
    assert line == "staff_console: console.toml: [console].port: must be at least 1, got -1"


def test_add_user_refuses_a_newer_accounts_schema(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    Accounts(tmp_path / "accounts.db").close()
    with sqlite3.connect(tmp_path / "accounts.db") as db:
        db.execute("PRAGMA user_version = 7")
    assert one_line(add_user(config, *admin())) == (
        f"staff_console: {tmp_path / 'accounts.db'}: the accounts schema is version 7, newer than this console's 2: "
        "run the console that wrote it")


class Terminal(io.StringIO):
    """Standard input that is a terminal, with nothing on it: the password must come from getpass."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("typed", "code"), [((PASSWORD, PASSWORD), 0), ((PASSWORD, PASSWORD + "x"), 2)])
def test_on_a_terminal_the_password_is_asked_twice_and_must_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], typed: tuple[str, str],
    code: int,
) -> None:
    answers = iter(typed)
    prompts: list[str] = []
    def getpass(prompt: str) -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr("getpass.getpass", getpass)
    assert main(["add-user", "--config", str(config_file(tmp_path)), *admin()], stdin=Terminal()) == code
    assert prompts == ["Mật khẩu (password): ", "Nhập lại mật khẩu (again): "]
    if code == 2:
        assert capsys.readouterr().err == "staff_console: the two passwords differ\n"
    accounts = Accounts(tmp_path / "accounts.db")
    assert (accounts.verify("admin", PASSWORD) is not None) == (code == 0)
    accounts.close()


@pytest.mark.parametrize("interruption", [EOFError, KeyboardInterrupt])
def test_ctrl_d_or_ctrl_c_at_the_prompt_is_one_line_and_leaves_no_database(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        interruption: type[BaseException]) -> None:
    def interrupted(prompt: str) -> str:
        raise interruption

    monkeypatch.setattr("getpass.getpass", interrupted)
    assert main(["add-user", "--config", str(config_file(tmp_path)), *admin()], stdin=Terminal()) == 2
    assert capsys.readouterr().err == (
        "staff_console: no password could be read: standard input must be one line of UTF-8 text\n")
    assert not (tmp_path / "accounts.db").exists()
