"""TOML config reading: typed getters whose errors name the file and the key, and MqttSettings."""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from protocol.errors import ConfigError
from protocol.topics import DEVICE_ID

_MISSING: Any = object()


class Table:
    """One TOML table; every getter checks the type and remembers the key as known.

    A required key that is missing is first looked for among the keys nothing has read yet: one
    that is a near-certain misspelling of it (`conection` for `connection`, `[[counter]]` for
    `[[counters]]`) is named as the mistake, since that is the line to fix. `finish()` names an
    unknown key with the closest known one, when there is one.
    """

    def __init__(self, data: dict[str, Any], file: Path, where: str) -> None:
        self._data = data
        self.file = file
        self.where = where
        self._known: set[str] = set()  # the keys read
        self._names: dict[str, str] = {}  # every key asked about -> how a "did you mean" shows it: 'x', [x], [[x]]

    def error(self, key: str | None, message: str, vietnamese: str | None = None) -> ConfigError:
        place = self.where if key is None else (f"{self.where}.{key}" if self.where else key)
        text = f"{self.file.name}: {place}: {message}" if place else f"{self.file.name}: {message}"
        return ConfigError(_one_line(text), vietnamese)

    @property
    def data(self) -> dict[str, Any]:
        """The table as read: copy it before changing anything in it."""
        return self._data

    def has(self, key: str) -> bool:
        """Whether the key is there. Its name may be suggested by a "did you mean"; it is not read yet."""
        self._names.setdefault(key, repr(key))
        return key in self._data

    def _get(self, key: str, default: Any, kind: type, kind_name: str, shown: str | None = None) -> Any:
        self._known.add(key)
        self._names[key] = shown or repr(key)
        if key not in self._data:
            if default is _MISSING:
                raise self._misspelt(key) or self.error(key, "is missing")
            return default
        value = self._data[key]
        if type(value) is not kind:
            raise self.error(key, f"expected {kind_name}, got {_show(value)}")
        return value

    def _misspelt(self, key: str) -> ConfigError | None:
        """The error naming an unread key that is a misspelling of the missing `key`, if one is.

        Only a near-certain one (one letter added, dropped, changed or two swapped, or difflib's
        ratio at least 0.8), of the same sort (a table for a table): a key the loader reads later
        is not known yet, so a loose match could blame a right key (`center` for `counter`).
        """
        wants_table = self._names[key].startswith("[")
        unread = [k for k in self._data if k not in self._names and _is_table(self._data[k]) == wants_table]
        close = [k for k in unread if _one_edit(k, key) or difflib.SequenceMatcher(None, k, key).ratio() >= 0.8]
        if not close:
            return None
        best = max(close, key=lambda k: (_one_edit(k, key), difflib.SequenceMatcher(None, k, key).ratio()))
        return self.error(best, f"unknown key (did you mean {self._names[key]}?)")

    def text(self, key: str, default: Any = _MISSING, *, pattern: re.Pattern[str] | None = None) -> Any:
        value = self._get(key, default, str, "a string")
        if value is not default and not value.isprintable():
            raise self.error(key, "must not contain control characters")
        if pattern is not None and value is not default and not pattern.fullmatch(value):
            raise self.error(key, f"{value!r} must match {pattern.pattern}")
        if value is not default and not value.strip() and pattern is None:
            raise self.error(key, "must not be empty")
        return value

    def integer(self, key: str, default: Any = _MISSING, *, minimum: int | None = None) -> Any:
        value = self._get(key, default, int, "an integer")
        if minimum is not None and value is not default and value < minimum:
            raise self.error(key, f"must be at least {minimum}, got {value}")
        return value

    def flag(self, key: str, default: Any = _MISSING) -> Any:
        return self._get(key, default, bool, "true or false")

    def strings(self, key: str, default: Any = _MISSING, *, pattern: re.Pattern[str] | None = None) -> Any:
        values = self._get(key, default, list, "a list of strings")
        if values is default:
            return values
        for value in values:
            if type(value) is not str:
                raise self.error(key, f"expected a list of strings, found {_show(value)}")
            if pattern is not None and not pattern.fullmatch(value):
                raise self.error(key, f"{value!r} must match {pattern.pattern}")
        if len(set(values)) != len(values):
            raise self.error(key, "lists a value twice")
        return tuple(values)

    def table(self, key: str, *, required: bool = True) -> Table:
        value = self._get(key, _MISSING if required else {}, dict, f"a table [{key}]", f"[{key}]")
        return Table(value, self.file, f"[{key}]")

    def tables(self, key: str) -> list[Table]:
        values = self._get(key, _MISSING, list, f"one or more [[{key}]] tables", f"[[{key}]]")
        tables = []
        for index, value in enumerate(values, start=1):
            if type(value) is not dict:
                raise self.error(key, f"expected [[{key}]] tables, got {_show(value)}")
            tables.append(Table(value, self.file, f"[[{key}]] #{index}"))
        if not tables:
            raise self.error(key, f"needs at least one [[{key}]] table")
        return tables

    def path(self, key: str, default: Any = _MISSING) -> Any:
        """A file path; a relative one is taken from the config file's folder."""
        value = self.text(key, default)
        if value is default:
            return value
        return (self.file.parent / value).resolve()

    def finish(self) -> None:
        """Refuse keys that nothing read: a typo must not be silently ignored. The closest known
        key that the file does not have is suggested; for a table, any known one (a ninth counter written
        `[[counter]]` below eight `[[counters]]`)."""
        unknown = sorted(set(self._data) - self._known)
        if not unknown:
            return
        key = unknown[0]
        table = _is_table(self._data[key])
        close = difflib.get_close_matches(key, [k for k in self._names if table or k not in self._data], n=1)
        if not close:
            raise self.error(key, "unknown key")
        shown = self._names[close[0]]
        if shown.startswith("'") and table:  # only asked about (has()): show it as written
            shown = f"[[{close[0]}]]" if type(self._data[key]) is list else f"[{close[0]}]"
        raise self.error(key, f"unknown key (did you mean {shown}?)")


def _is_table(value: Any) -> bool:
    """A TOML table, or an array of tables: what [name] and [[name]] write."""
    return type(value) is dict or (type(value) is list and bool(value) and all(type(v) is dict for v in value))


def _one_edit(one: str, other: str) -> bool:
    """Whether `one` becomes `other` by one letter added, dropped or changed, or two neighbours swapped."""
    if one == other or abs(len(one) - len(other)) > 1:
        return False
    if len(one) == len(other):
        differ = [i for i, (a, b) in enumerate(zip(one, other, strict=True)) if a != b]
        return len(differ) == 1 or (len(differ) == 2 and differ[1] == differ[0] + 1
                                    and one[differ[0]] == other[differ[1]] and one[differ[1]] == other[differ[0]])
    short, long = sorted((one, other), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _one_line(text: str) -> str:
    """Escape what would break the one-line error (a TOML key may hold a newline)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def read_toml(path: Path) -> Table:
    try:
        with path.open("rb") as handle:
            return Table(tomllib.load(handle), path, "")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at {exc.start}); "
                          "save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name}: not valid TOML: {exc}") from None


@dataclass(frozen=True, slots=True)
class MqttSettings:
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None
    client_id: str | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    keepalive_s: int = 30

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    def summary(self) -> str:
        user = f" as {self.username}" if self.username else ""
        return f"{self.url}{user}"


def load_mqtt(table: Table, *, read_files: bool = True) -> MqttSettings:
    """The [mqtt] table; `read_files=False` neither reads the password file nor checks the TLS files exist."""
    url = table.text("url")
    host, port, tls = _parse_url(table, url)
    password = table.text("password", None)
    password_file = table.path("password_file", None)
    if password is not None and password_file is not None:
        raise table.error("password_file", "give password or password_file, not both")
    if password_file is not None and read_files:
        password = _read_secret(table, password_file)
    settings = MqttSettings(
        host=host,
        port=port,
        tls=tls,
        username=table.text("username", None),
        password=password,
        client_id=table.text("client_id", None, pattern=DEVICE_ID),
        ca_file=_existing(table, "ca_file", read_files),
        cert_file=_existing(table, "cert_file", read_files),
        key_file=_existing(table, "key_file", read_files),
        keepalive_s=table.integer("keepalive_s", 30, minimum=5),
    )
    if (settings.cert_file is None) != (settings.key_file is None):
        raise table.error("cert_file", "cert_file and key_file go together")
    if not tls and settings.ca_file is not None:
        raise table.error("ca_file", "a CA file needs an mqtts:// url")
    table.finish()
    return settings


def _parse_url(table: Table, url: str) -> tuple[str, int, bool]:
    expected = "expected mqtt://host:port or mqtts://host:port"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise table.error("url", expected) from None
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname or parts.path not in ("", "/"):
        raise table.error("url", expected)
    tls = parts.scheme == "mqtts"
    if port == 0:
        raise table.error("url", expected)
    return parts.hostname, port if port is not None else (8883 if tls else 1883), tls


def _read_secret(table: Table, path: Path) -> str:
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise table.error("password_file", f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise table.error("password_file", f"{path} is not UTF-8 text") from None
    if not secret:
        raise table.error("password_file", f"{path} is empty")
    return secret


def _existing(table: Table, key: str, check: bool) -> Path | None:
    path: Path | None = table.path(key, None)
    if check and path is not None and not path.is_file():
        raise table.error(key, f"no such file: {path}")
    return path


def model_file(table: Table, shipped_in: Path, what: str) -> Path:
    """The profile `model` names: one shipped in `shipped_in` by name, or a .toml path from the config's folder.

    `what` names the kind of profile in the one-line errors ("printer", "LED display").
    """
    value: str = table.text("model")
    if value.endswith(".toml") or "/" in value:
        path = (table.file.parent / value).resolve()
        if not path.is_file():
            raise table.error("model", f"no such {what} profile file: {path}")
        return path
    shipped = shipped_models(shipped_in)
    if value not in shipped:
        close = difflib.get_close_matches(value.lower(), shipped, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise table.error("model", f"unknown {what} model {value!r}{hint}: one of {', '.join(shipped)}, "
                                   "or a path to a .toml profile")
    return shipped_in / f"{value}.toml"


def shipped_models(folder: Path) -> list[str]:
    """The names of the profiles shipped in `folder`, sorted."""
    return sorted(path.stem for path in folder.glob("*.toml"))
