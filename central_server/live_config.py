"""The live configuration (issue 17): the part of the center config that may change while the server runs.

It is a document: the TOML's own tables for the center's name, `[rating]`, `[queue]`, `[limits]`, `[hours]`,
`[board]`, `[bookings]`, `[[areas]]` and `[[counters]]`, as `tomllib` reads them. The database keeps every
version of it; the file seeds the first and, whenever its own part changes (a SIGHUP, a restart), becomes the
next. The rest of the file (the center's id, time zone and day start, `[mqtt]`, `[storage]`, `[citizen_web]`)
changes only at a restart, and the devices (`[[kiosks]]`, ...) are `provision`'s.

Pure: documents in, documents and their differences out.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from protocol.messages import ConfigChange

LIVE_TABLES = ("rating", "queue", "limits", "hours", "board", "bookings", "dossiers", "areas", "counters")
KEYED_LISTS = ("areas", "counters")  # arrays of tables told apart by their `id`
Document = dict[str, Any]


def document_of(raw: Mapping[str, Any]) -> Document:
    """The live part of a center config as read from its TOML (a copy: the document is kept as it is)."""
    document: Document = {key: copy.deepcopy(raw[key]) for key in LIVE_TABLES if key in raw}
    center = raw.get("center")
    if isinstance(center, Mapping) and "name" in center:
        document["center"] = {"name": center["name"]}
    return document


def not_live(document: Mapping[str, Any]) -> str | None:
    """The first part of `document` that is no part of the live configuration (the center's id, `[mqtt]`, ...),
    if any: those change only in the file, at a restart."""
    for key, value in document.items():
        if key == "center":
            extra = sorted(set(value) - {"name"}) if isinstance(value, Mapping) else ["(not a table)"]
            if extra:
                return f"[center].{extra[0]}"
        elif key not in LIVE_TABLES:
            return f"[{key}]"
    return None


def merged(raw: Mapping[str, Any], document: Mapping[str, Any]) -> dict[str, Any]:
    """The center config of `raw` (the file) with its live part replaced by `document`'s: what is validated, as
    `--check` validates the file, before a document goes live. A key of the document that is no live table
    stays in it and is refused as unknown there."""
    whole = {key: copy.deepcopy(value) for key, value in raw.items() if key not in LIVE_TABLES}
    center = dict(whole.get("center") or {}) if isinstance(whole.get("center"), Mapping) else whole.get("center")
    for key, value in document.items():
        if key == "center" and isinstance(center, dict) and isinstance(value, Mapping):
            center.pop("name", None)
            center.update(copy.deepcopy(dict(value)))
        else:
            whole[key] = copy.deepcopy(value)
    if center is not None:
        whole["center"] = center
    return whole


def canonical(document: Mapping[str, Any]) -> str:
    """The document as one JSON text, the same for equal documents: what is stored and compared."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def digest(document: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(document).encode()).hexdigest()


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[ConfigChange, ...]:
    """What differs from `before` to `after`, leaf by leaf: an area or a counter added or removed is one change
    (`areas[id]`), a field of it another (`areas[id].name`), a new order of them one more (`areas#order`)."""
    found: list[ConfigChange] = []
    for key in sorted(set(before) | set(after), key=_order):
        old, new = before.get(key), after.get(key)
        if key in KEYED_LISTS and _keyed(old) and _keyed(new):
            _list_changes(key, old or [], new or [], found)
        else:
            _value_changes(key, old, new, found)
    return tuple(found)


def _order(key: str) -> tuple[int, str]:
    places = ("center", *LIVE_TABLES)
    return (places.index(key) if key in places else len(places), key)


def _keyed(value: Any) -> bool:
    return value is None or (isinstance(value, list) and all(isinstance(t, Mapping) and "id" in t for t in value))


def _list_changes(key: str, old: list[Mapping[str, Any]], new: list[Mapping[str, Any]],
                  found: list[ConfigChange]) -> None:
    old_by_id = {str(t["id"]): t for t in old}
    new_by_id = {str(t["id"]): t for t in new}
    for table_id, table in new_by_id.items():
        if table_id not in old_by_id:
            found.append(ConfigChange(f"{key}[{table_id}]", None, dict(table)))
        else:
            _value_changes(f"{key}[{table_id}]", old_by_id[table_id], table, found)
    found.extend(ConfigChange(f"{key}[{table_id}]", dict(table), None)
                 for table_id, table in old_by_id.items() if table_id not in new_by_id)
    kept_old = [table_id for table_id in old_by_id if table_id in new_by_id]
    kept_new = [table_id for table_id in new_by_id if table_id in old_by_id]
    if kept_old != kept_new:
        found.append(ConfigChange(f"{key}#order", kept_old, kept_new))


def _value_changes(path: str, old: Any, new: Any, found: list[ConfigChange]) -> None:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new)):
            _value_changes(f"{path}.{key}", old.get(key), new.get(key), found)
    elif old != new:
        found.append(ConfigChange(path, copy.deepcopy(old), copy.deepcopy(new)))
