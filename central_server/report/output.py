"""The report's tables as an XLSX workbook (one sheet each) and as CSV files (UTF-8 with BOM, for Excel)."""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from central_server.report.figures import Table


def write_workbook(tables: list[Table], path: Path) -> None:
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]  # a new workbook starts with an empty sheet
    for table in tables:
        sheet = book.create_sheet(table.title[:31])
        sheet.append(list(table.columns))
        for row in table.rows:
            sheet.append(list(row))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for index, column in enumerate(table.columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = max(12, min(40, len(column) * 0.9))
        for row in sheet.iter_rows(min_row=2):
            label = str(row[0].value)
            for cell, column in zip(row, table.columns, strict=True):
                number_format = _number_format(column) or _number_format(label)  # a key/value sheet: by its row
                if number_format and isinstance(cell.value, int | float):
                    cell.number_format = number_format
        sheet.freeze_panes = "A2"
    book.save(path)


def _number_format(column: str) -> str | None:
    if column.startswith("Tỷ lệ"):
        return "0.0%"
    if column.endswith("(phút)"):
        return "0.0"
    if "trên mỗi" in column:
        return "0.00"
    return None


def write_csv(tables: list[Table], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for table in tables:
        path = folder / f"{table.slug}.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(table.columns)
            writer.writerows(["" if cell is None else cell for cell in row] for row in table.rows)
        written.append(path)
    return written
