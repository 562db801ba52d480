"""The report for a period, made from the page: the center's own report (`central_server report`), read from
its database read-only, zipped for one download. One at a time: a report of a year takes a while.

The report's code (openpyxl, Pillow, matplotlib: about 50 MB) is imported only when a report is made, so a
console that never makes one stays small."""

from __future__ import annotations

import io
import tempfile
import threading
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

from protocol.errors import ConfigError

MAX_DAYS = 366
DATE_FORMAT = "%d/%m/%Y"  # 02/12/2026: what the page shows and reads (a date input would follow the PC's locale)


class ReportRefused(Exception):
    """No report was made; `message` says why, in Vietnamese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Reports:
    def __init__(self, center_config: Path | None) -> None:
        self._center_config = center_config
        self._busy = threading.Lock()

    @property
    def available(self) -> bool:
        return self._center_config is not None

    def period(self, first_text: str, last_text: str, today: date) -> tuple[date, date]:
        """The period asked for, as Vietnamese write dates (02/12/2026), checked: real dates, in order, not after
        today, at most MAX_DAYS."""
        try:
            first, last = (datetime.strptime(text.strip(), DATE_FORMAT).date() for text in (first_text, last_text))
        except ValueError:
            raise ReportRefused("Ngày không hợp lệ: ghi ngày theo dạng ngày/tháng/năm, ví dụ 02/12/2026.") from None
        if last < first:
            raise ReportRefused("«Đến ngày» phải sau hoặc trùng «Từ ngày».")
        if last > today:
            raise ReportRefused("Không thể lập báo cáo cho ngày chưa tới.")
        if last - first >= timedelta(days=MAX_DAYS):
            raise ReportRefused(f"Mỗi báo cáo gồm tối đa {MAX_DAYS} ngày.")
        return first, last

    def zipped(self, first: date, last: date) -> tuple[str, bytes]:
        """(file name, the zip of the workbook, the CSV files and the charts). Blocking: call from a worker."""
        if self._center_config is None:
            raise ReportRefused("Máy chủ trang quản lý chưa được cấu hình để lập báo cáo.")
        if not self._busy.acquire(blocking=False):
            raise ReportRefused("Đang lập một báo cáo khác. Vui lòng thử lại sau ít phút.")
        from central_server.config import load
        from central_server.report.command import make_report, write_report
        from central_server.report.source import SourceError

        try:
            config = load(self._center_config, on_this_host=False)
            report = make_report(config, first, last)
            with tempfile.TemporaryDirectory(prefix="qms-bao-cao-") as folder:
                written = write_report(report, Path(folder))
                buffer = io.BytesIO()
                with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                    for path in written:
                        archive.write(path, path.relative_to(folder))
        except (ConfigError, SourceError) as exc:
            raise ReportRefused(f"Không lập được báo cáo: {exc}") from None
        finally:
            self._busy.release()
        return f"bao-cao-{first.isoformat()}_{last.isoformat()}.zip", buffer.getvalue()
