"""The live configuration written back as TOML (`central_server/config_toml.py`, the console's download): read
again by tomllib, it is the same document, whatever its strings hold."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from central_server.config import load
from central_server.config_toml import HEADER, to_toml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "firmware_configs" / "center.example.toml"
TRICKY = ['say "xin chào"', "C:\\qms\\", "a\\\"b", "Đất đai – Nhà ở", "tab\there", "line\nbreak\r\n", "\x00\x1f\x7f",
          "😀 emoji and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "'single' and '''triple'''", '"""', "# not a comment", "key = value", "",
          "Ủy ban nhân dân phường Vĩnh Thanh Vân", "e\u0301 decomposed", "\u200b zero width", "[[areas]]"]


def test_the_example_centers_document_reads_back_the_same() -> None:
    document = load(EXAMPLE, on_this_host=False).document
    text = to_toml(document)
    assert tomllib.loads(text) == document
    assert text.startswith(HEADER) and "not kept" in HEADER


def test_an_areas_own_hours_are_written_after_its_own_header() -> None:
    document = load(EXAMPLE, on_this_host=False).document
    text = to_toml(document)
    bhxh = text.index('id = "bhxh"')
    assert text.index("[areas.hours]", bhxh) < text.index("[[areas]]", bhxh)
    assert tomllib.loads(text)["areas"][5]["hours"] == {"weekdays": ["07:30-11:30"]}


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_strings_read_back_the_same_as_values_and_as_keys(text: str) -> None:
    document = {"center": {"name": text}, "board": {"notice": text},
                "areas": [{"id": "a", "name": text, "hours": {"weekdays": [text]}, "open": False}],
                "extra": {text: [text, text], "inline": [{"k": text}, 1] if text else []}}
    assert tomllib.loads(to_toml(document)) == document


def test_numbers_booleans_lists_nested_tables_and_unknown_tables_read_back() -> None:
    document = {"rating": {"levels": ["very_satisfied", "satisfied"], "window_s": 120},
                "queue": {"max_calls": 0, "ratio": 1.5, "big": 10**18, "negative": -3},
                "limits": {}, "hours": {"weekdays": [], "closed_dates": ["2027-01-01"], "last_ticket_min": 15},
                "counters": [{"id": "1", "name": "Quầy 1", "areas": ["dat-dai"], "deep": {"more": {"x": True}}}],
                "areas": [], "unknown_table": {"nested": {"a": [[1, 2], ["x"]]}}}
    text = to_toml(document)
    assert tomllib.loads(text) == document
    assert text.index("[rating]") < text.index("[queue]") < text.index("[[counters]]") < text.index("[unknown_table]")


def test_the_note_is_a_comment() -> None:
    text = to_toml({"board": {"notice": "x"}}, note="phiên bản 7\nlúc 02/12/2026 10:15")
    assert "# phiên bản 7\n# lúc 02/12/2026 10:15\n" in text
    assert tomllib.loads(text) == {"board": {"notice": "x"}}


def test_a_lone_surrogate_is_refused_rather_than_written_unreadable() -> None:
    with pytest.raises(ValueError, match="surrogate"):
        to_toml({"board": {"notice": "\ud800"}})


TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
VALUES = st.recursive(st.booleans() | st.integers(-(2**63), 2**63 - 1) | TEXT,
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                      max_leaves=12)


@given(st.dictionaries(TEXT, st.dictionaries(TEXT, VALUES, max_size=4), max_size=4))
def test_any_document_of_tomls_own_values_reads_back_the_same(document: dict[str, dict[str, object]]) -> None:
    assert tomllib.loads(to_toml(document)) == document
