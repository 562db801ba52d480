"""`make demo` as a whole (about two and a half minutes): the morning ends, the staff console's pages are saved,
counter 1, worked from the console's page in a real browser, served citizens in its official's name, and a citizen
followed their ticket on a phone from its QR and rated there."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from devkit import demo


@pytest.mark.timeout(360)
def test_the_demo_morning_runs_with_counter_1_worked_from_the_console_in_a_browser(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo-output"
    monkeypatch.setattr(demo, "OUT", out)
    assert demo.main() == 0
    printed = capsys.readouterr().out

    pages = sorted(path.name for path in (out / "screens").glob("console-*.png"))
    official = [name for name in pages if name.startswith(f"console-quay-{demo.BROWSER_COUNTER}-")]
    floor = [name for name in pages if name.startswith("console-san-")]
    assert len(official) == 3 and len(floor) == 3, pages
    admin = [name for name in pages if name.startswith(("console-quan-tri-", "console-lich-su-"))]
    assert len(admin) == 2, pages  # the administrator changed the boards' notice at 10:35
    for name in pages:
        with Image.open(out / "screens" / name) as image:
            assert image.format == "PNG" and image.width >= 1200 and image.height >= 600, (name, image.size)
    assert f"{len(pages)} ảnh console-*.png" in printed

    username = demo.OFFICIALS[demo.BROWSER_COUNTER][0]
    with sqlite3.connect(out / "center.db") as db:
        acts = [(kind, json.loads(detail).get("official")) for kind, detail in db.execute(
            "SELECT kind, detail FROM events WHERE counter_id = ? AND kind NOT IN ('seated', 'left')",
            (demo.BROWSER_COUNTER,))]
    served = [official for kind, official in acts if kind == "served"]
    assert len(served) >= 10, acts  # a quarter of the morning's citizens or so: dat-dai, shared with counter 2
    assert {official for _, official in acts} == {username}, acts  # she took the counter before her first call
    assert any(kind == "rated" for kind, _ in acts)  # the citizens still rate on the counter's terminal
    sheet = (out / "report" / "csv" / "can-bo.csv").read_text(encoding="utf-8-sig")
    assert f"{username},{demo.OFFICIALS[demo.BROWSER_COUNTER][1]},{len(served)}," in sheet

    phone = sorted(path.name for path in (out / "screens").glob("phone-*.png"))
    assert {"phone-2-goi.png", "phone-3-danh-gia.png", "phone-4-da-danh-gia.png"} <= set(phone), phone
    for name in phone:
        with Image.open(out / "screens" / name) as image:
            assert image.format == "PNG" and image.width == 720, (name, image.size)  # 360 CSS px at 2x
    assert f"{len(phone)} ảnh phone-*.png" in printed
    with sqlite3.connect(out / "center.db") as db:
        channels = dict(db.execute("SELECT channel, COUNT(*) FROM ratings GROUP BY channel").fetchall())
    assert channels.get("phone") == 1 and channels.get("buttons", 0) > 10, channels
    with sqlite3.connect(out / "center.db") as db:
        versions = db.execute("SELECT source, by_who FROM config_versions ORDER BY version").fetchall()
    assert versions == [("file", "center.toml"), ("console", demo.ADMIN[0])], versions
