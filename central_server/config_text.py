"""Edits of a TOML config's text that keep its comments: how shipped examples become a device's config
(`central_server provision`, `make demo`, tests)."""

from __future__ import annotations

import json
import re


def toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def set_key(text: str, table: str, key: str, value: str) -> str:
    """Set `key` in `[table]` to the TOML `value`, keeping the line's comment."""
    lines = text.split("\n")
    start, end = _table_span(lines, table)
    pattern = re.compile(rf"{re.escape(key)}\s*=\s*(\"(?:[^\"\\]|\\.)*\"|\[[^\]#]*\]|[^#\s]+)(\s*#.*)?")
    for index in range(start + 1, end):
        found = pattern.fullmatch(lines[index].rstrip())
        if found:
            comment = found.group(2) or ""
            lines[index] = f"{key} = {value}{comment}"
            return "\n".join(lines)
    lines.insert(start + 1, f"{key} = {value}")
    return "\n".join(lines)


def replace_table(text: str, table: str, body: list[str]) -> str:
    """Replace the lines of `[table]` by `body`: up to its first blank line (what follows is the next table's)."""
    lines = text.split("\n")
    start, end = _table_span(lines, table)
    end = next((i for i in range(start + 1, end) if not lines[i].strip()), end)
    return "\n".join(lines[: start + 1] + body + lines[end:])


def _table_span(lines: list[str], table: str) -> tuple[int, int]:
    header = re.compile(rf"\[{re.escape(table)}\]\s*(#.*)?")
    starts = [i for i, line in enumerate(lines) if header.fullmatch(line.strip())]
    if not starts:
        raise ValueError(f"the template has no [{table}] table")
    end = next((i for i in range(starts[0] + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
    return starts[0], end
