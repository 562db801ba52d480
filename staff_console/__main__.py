"""`python -m staff_console --config FILE --check` and `python -m staff_console add-user --config FILE …`: the
staff console's commands so far. Serving its pages is the next step of issue 15."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import NoReturn, TextIO

from protocol.errors import ConfigError
from staff_console.config import ConsoleConfig, load
from staff_console.users import MIN_PASSWORD, AccountRefused, Role, new_user

PROG = "staff_console"
DESCRIPTION = ("The staff console. For now: check its config (--check), and create or replace accounts (add-user); "
               "serving the pages is the next step of issue 15.")
COMMANDS = f"""\
commands:
  add-user --config FILE --username U --name "Nguyễn Văn A" --role {{{','.join(Role)}}} [--replace]
           create an account; the password is read from standard input (asked twice on a terminal)"""


class OneLineParser(argparse.ArgumentParser):
    """Every mistake on the command line is one line and exit 2, as a mistake in the config is."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def main(argv: Sequence[str] | None = None, *, stdin: TextIO | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["add-user"]:
        return add_user(add_user_parser().parse_args(arguments[1:]), stdin or sys.stdin)
    config = _config(check_parser().parse_args(arguments).config)
    if config is None:
        return 2
    print(config.summary())
    return 0


def check_parser() -> OneLineParser:
    parser = OneLineParser(prog=PROG, description=DESCRIPTION, epilog=COMMANDS,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, metavar="FILE", help="the TOML config file")
    parser.add_argument("--check", required=True, action="store_true", help="validate the config, print a summary")
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


def add_user(args: argparse.Namespace, stdin: TextIO) -> int:
    from staff_console.accounts import Accounts, AccountsError, UsernameTaken  # argon2 and sqlite3: only here

    config = _config(args.config)
    if config is None:
        return 2
    try:
        user = new_user(args.username, args.name, args.role)
        with closing(Accounts(config.accounts)) as accounts:
            if not args.replace and accounts.user(user.username) is not None:  # before asking for a password
                raise UsernameTaken(user.username)
            replaced = accounts.add(user, read_password(stdin), replace=args.replace)
    except UsernameTaken as exc:
        print(f"{PROG}: {exc.reason} in {config.accounts} (--replace replaces it)", file=sys.stderr)
        return 2
    except (AccountRefused, AccountsError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    print(f"{PROG}: {'replaced' if replaced else 'added'} {user.username} ({user.full_name}) as {user.role} "
          f"in {config.accounts}")
    return 0


def read_password(stdin: TextIO) -> str:
    """One line of `stdin`; on a terminal, asked twice without echo."""
    try:
        if not stdin.isatty():
            return stdin.readline().removesuffix("\n").removesuffix("\r")
        password = getpass.getpass("Mật khẩu (password): ")
        again = getpass.getpass("Nhập lại mật khẩu (again): ")
    except (UnicodeDecodeError, EOFError):  # bytes that are not UTF-8, or Ctrl-D at the prompt
        raise AccountRefused("no password could be read: standard input must be one line of UTF-8 text",
                             "Không đọc được mật khẩu.") from None
    if again != password:
        raise AccountRefused("the two passwords differ", "Hai lần nhập mật khẩu không khớp.")
    return password


def _config(path: str) -> ConsoleConfig | None:
    """The config, or None after printing its mistake in one line."""
    try:
        return load(Path(path))
    except ConfigError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return None


if __name__ == "__main__":
    sys.exit(main())
