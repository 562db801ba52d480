"""The live part of a center config (`live_config.py`'s document) written back as TOML, for an administrator to
paste into center.toml: tables, arrays of tables with their sub-tables (`[areas.hours]` after its `[[areas]]`),
strings escaped as TOML's basic strings, integers, floats, booleans, dates and lists. Pure: text in, text out.

`tomllib.loads(to_toml(document)) == document` for any document of TOML's own values; the comments of the
file the document once came from are not kept (the document never had them).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from typing import Any

from central_server.live_config import LIVE_TABLES

BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
HEADER = """\
# The live part of a center config (the tables the staff console's admin pages change), written by the
# staff console or `central_server live-config`. Comments of the original center.toml are not kept.
# To make it the file's: replace these tables in center.toml ([center] here holds only its name: keep
# the file's id, timezone and day_starts beside it), check the file with
# `python -m central_server --config center.toml --check`, then `kill -HUP <server pid>` (or restart
# the server)."""
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def to_toml(document: Mapping[str, Any], *, note: str | None = None) -> str:
    """The document as TOML text, its tables in the center config's order (`center`, then LIVE_TABLES, then any
    other), after HEADER and `note` (one more comment line: which version this is)."""
    lines = HEADER.splitlines()
    if note:
        lines.extend(f"# {line}" for line in note.splitlines())
    _table(lines, [], {key: document[key] for key in sorted(document, key=_place)})
    return "\n".join(lines) + "\n"


def _place(key: str) -> tuple[int, str]:
    order = ("center", *LIVE_TABLES)
    return (order.index(key) if key in order else len(order), "")


def _table(lines: list[str], path: list[str], table: Mapping[str, Any]) -> None:
    """A table's own keys first, then its sub-tables and arrays of tables in their order (TOML's rule: once a
    header is written, every key after it belongs to that header's table)."""
    for key, value in table.items():
        if not _is_table(value) and not _is_table_array(value):
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in table.items():
        if _is_table(value):
            lines.extend(["", f"[{_dotted([*path, key])}]"])
            _table(lines, [*path, key], value)
        elif _is_table_array(value):
            for item in value:
                lines.extend(["", f"[[{_dotted([*path, key])}]]"])
                _table(lines, [*path, key], item)


def _is_table(value: Any) -> bool:
    return isinstance(value, Mapping)


def _is_table_array(value: Any) -> bool:
    return _is_list(value) and bool(value) and all(isinstance(item, Mapping) for item in value)


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def _dotted(path: list[str]) -> str:
    return ".".join(_key(part) for part in path)


def _key(key: str) -> str:
    return key if BARE_KEY.fullmatch(key) else _string(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):  # before int: True is an int to Python
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)  # "1.5", "1e+20": both TOML floats
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, datetime | date | time):  # what tomllib reads TOML's dates and times as
        return value.isoformat()
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    if _is_list(value):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    raise ValueError(f"{type(value).__name__} has no TOML form")


def _string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped; every other character as is."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        elif 0xD800 <= ord(char) <= 0xDFFF:
            raise ValueError("a lone surrogate has no TOML form")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'
