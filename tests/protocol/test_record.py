"""`@record`: a value that mypy keeps from being changed, equal and hashed by value, with slots."""

from __future__ import annotations

from pathlib import Path

from mypy import api

from central_server.wire import Outbound
from protocol.record import record

ROOT = Path(__file__).resolve().parents[2]


@record
class Point:
    x: int
    y: int = 0


def test_a_record_is_equal_and_hashed_by_value_and_has_slots() -> None:
    assert Point(1, 2) == Point(1, 2) != Point(2, 1)
    assert len({Point(1, 2), Point(1, 2), Point(1)}) == 2
    assert not hasattr(Point(1), "__dict__")
    assert Outbound("t", b"p") == Outbound("t", b"p") and hash(Outbound("t", b"p")) == hash(Outbound("t", b"p"))


def test_the_type_check_refuses_to_change_a_record(tmp_path: Path) -> None:
    """What a frozen dataclass refuses at run time, `make test`'s mypy refuses in the code."""
    module = tmp_path / "changes_a_record.py"
    module.write_text(
        "from central_server.wire import Outbound\n"
        "from protocol.record import record\n\n\n"
        "@record\nclass Point:\n    x: int\n\n\n"
        "Point(1).x = 2\n"
        "Outbound('t', b'p').payload = b'q'\n"
        "print(Point(x=3).x)\n",
        encoding="utf-8",
    )
    out, _err, status = api.run([str(module), "--strict", "--no-error-summary", "--cache-dir",
                                 str(ROOT / ".mypy_cache")])
    assert status == 1
    refused = [line for line in out.splitlines() if "error:" in line]
    assert [line.split(":")[1] for line in refused] == ["10", "11"], out
    assert all("read-only" in line for line in refused), out
