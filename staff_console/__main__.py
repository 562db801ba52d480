"""`python -m staff_console --config FILE` serves the staff's pages; `--check` checks the config; `add-user` creates
an account."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from contextlib import ExitStack, closing
from pathlib import Path
from typing import BinaryIO, NoReturn, TextIO

from protocol.agent import Clock, setup_logging
from protocol.errors import ConfigError
from staff_console.config import ConsoleConfig, load
from staff_console.users import MAX_PASSWORD, MIN_PASSWORD, AccountRefused, Role, check_password, new_user

PROG = "staff_console"
MAX_LINE = 4 * MAX_PASSWORD + 2  # bytes: the longest password in UTF-8, and "\r\n"
DESCRIPTION = ("The staff console: serves the officials' counter pages and the manager's floor (prints the address), "
               "checks its config (--check), creates or replaces accounts (add-user).")
COMMANDS = f"""\
commands:
  add-user --config FILE --username U --name "Nguyễn Văn A" --role {{{','.join(Role)}}} [--replace]
           create an account; the password is read from standard input (asked twice on a terminal)"""


class OneLineParser(argparse.ArgumentParser):
    """Every mistake on the command line is one line and exit 2, as a mistake in the config is."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def main(argv: Sequence[str] | None = None, *, stdin: TextIO | None = None, clock: Clock | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["add-user"]:
        return add_user(add_user_parser().parse_args(arguments[1:]), stdin if stdin is not None else sys.stdin)
    args = check_parser().parse_args(arguments)
    setup_logging()
    config = _config(args.config)
    if config is None:
        return 2
    if args.check:
        print(config.summary())
        return 0
    from staff_console.serve import main_serve  # uvicorn and Starlette: only when serving

    return main_serve(config, clock)


def check_parser() -> OneLineParser:
    parser = OneLineParser(prog=PROG, description=DESCRIPTION, epilog=COMMANDS,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, metavar="FILE", help="the TOML config file")
    parser.add_argument("--check", action="store_true", help="validate the config, print a summary, exit")
    return parser


def add_user_parser() -> OneLineParser:
    parser = OneLineParser(prog=f"{PROG} add-user", description="Create an account (or replace it with --replace). "
                           f"The password ({MIN_PASSWORD} characters or more) is read from standard input, never "
                           "from the command line.")
    parser.add_argument("--config", required=True, metavar="FILE", help="the console's TOML config file")
    parser.add_argument("--username", required=True, help="3 to 32 of a-z, 0-9, '.', '_', '-'")
    parser.add_argument("--name", required=True, help='the full name, as Vietnamese writes it: "Nguyễn Văn A"')
    parser.add_argument("--role", required=True, help=", ".join(Role))
    parser.add_argument("--replace", action="store_true", help="replace the account if the username exists")
    return parser


def add_user(args: argparse.Namespace, stdin: TextIO | None) -> int:
    from staff_console.accounts import Accounts, AccountsError, UsernameTaken  # argon2 and sqlite3: only here

    config = _config(args.config)
    if config is None:
        return 2
    try:
        user = new_user(args.username, args.name, args.role)
        with ExitStack() as opened:
            accounts = None
            if config.accounts.exists():  # a taken username or a refused file: said before asking for a password
                accounts = opened.enter_context(closing(Accounts(config.accounts)))
                if not args.replace and accounts.user(user.username) is not None:
                    raise UsernameTaken(user.username)
            password = check_password(read_password(stdin))
            if accounts is None:  # made only now: a refused password leaves no empty database behind
                accounts = opened.enter_context(closing(Accounts(config.accounts)))
            replaced = accounts.add(user, password, replace=args.replace)
    except UsernameTaken as exc:
        print(f"{PROG}: {exc.reason} in {config.accounts} (--replace replaces it)", file=sys.stderr)
        return 2
    except (AccountRefused, AccountsError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    print(f"{PROG}: {'replaced' if replaced else 'added'} {user.username} ({user.full_name}) as {user.role} "
          f"in {config.accounts}")
    return 0


def read_password(stdin: TextIO | None) -> str:
    """One line of `stdin`, read as bytes and decoded as strict UTF-8; on a terminal, asked twice without echo."""
    unreadable = AccountRefused("no password could be read: standard input must be one line of UTF-8 text",
                                "Không đọc được mật khẩu.")
    if stdin is None:  # standard input is closed
        raise unreadable
    try:
        if not stdin.isatty():
            return _one_line(stdin)
        password = getpass.getpass("Mật khẩu (password): ")
        again = getpass.getpass("Nhập lại mật khẩu (again): ")
    except (UnicodeDecodeError, EOFError, KeyboardInterrupt, OSError):  # not UTF-8, Ctrl-D, Ctrl-C, no tty
        raise unreadable from None
    if again != password:
        raise AccountRefused("the two passwords differ", "Hai lần nhập mật khẩu không khớp.")
    return password


def _one_line(stdin: TextIO) -> str:
    """The first line, at most MAX_LINE bytes: a longer one is refused, not read to the end."""
    raw: BinaryIO | None = getattr(stdin, "buffer", None)
    if raw is None:  # a TextIO without bytes under it (io.StringIO)
        line = stdin.readline(MAX_LINE)
        more = not line.endswith("\n") and stdin.read(1) != ""
    else:
        data = raw.readline(MAX_LINE)
        more = not data.endswith(b"\n") and raw.read(1) != b""
        line = data.decode("utf-8")  # strict: UnicodeDecodeError for bytes that are not UTF-8
    if more:
        raise AccountRefused(f"the password must be one line of at most {MAX_PASSWORD} characters",
                             f"Mật khẩu dài tối đa {MAX_PASSWORD} ký tự.")
    return line.removesuffix("\n").removesuffix("\r")


def _config(path: str) -> ConsoleConfig | None:
    """The config, or None after printing its mistake in one line."""
    try:
        return load(Path(path))
    except ConfigError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return None


if __name__ == "__main__":
    sys.exit(main())
