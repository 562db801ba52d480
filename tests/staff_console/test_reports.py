from __future__ import annotations

import io
import zipfile
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest

from central_server.config import load
from central_server.storage import open_storage
from staff_console.reports import MAX_DAYS, ReportRefused, Reports
from tests.harness import CENTER_TOML

TODAY = date(2026, 12, 2)


def center_config(folder: Path) -> Path:
    path = folder / "center.toml"
    path.write_text(CENTER_TOML.format(center_id="rach-gia", url="mqtt://127.0.0.1:1883", db=folder / "center.db",
                                       day_starts="00:00", window_s=120), encoding="utf-8")
    with closing(open_storage(load(path, on_this_host=False))):
        pass  # the server's database, as the server makes it
    return path


def test_the_period_is_checked_before_anything_is_read() -> None:
    reports = Reports(None)
    assert reports.period("01/11/2026", "30/11/2026", TODAY) == (date(2026, 11, 1), date(2026, 11, 30))
    for first, last, said in (("01/13/2026", "01/12/2026", "Ngày không hợp lệ"),
                              ("2026-11-01", "01/12/2026", "Ngày không hợp lệ"),
                              ("02/12/2026", "01/12/2026", "«Đến ngày» phải sau"),
                              ("01/12/2026", "03/12/2026", "ngày chưa tới"),
                              ("01/01/2025", "01/12/2026", f"tối đa {MAX_DAYS} ngày")):
        with pytest.raises(ReportRefused) as refused:
            reports.period(first, last, TODAY)
        assert said in refused.value.message


def test_the_zip_holds_the_centers_report_made_from_its_database(tmp_path: Path) -> None:
    name, data = Reports(center_config(tmp_path)).zipped(date(2026, 11, 1), TODAY)
    assert name == "bao-cao-2026-11-01_2026-12-02.zip"
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "bao-cao-2026-11-01_2026-12-02.xlsx" in names
    assert any(n.startswith("csv/") for n in names) and any(n.startswith("charts/") for n in names)


def test_without_a_center_config_it_says_so() -> None:
    with pytest.raises(ReportRefused) as refused:
        Reports(None).zipped(TODAY, TODAY)
    assert "chưa được cấu hình" in refused.value.message
