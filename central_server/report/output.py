"""The report's tables as an XLSX workbook (one sheet each) and as CSV files (UTF-8 with BOM, for Excel).

The workbook keeps numbers and dates as numbers and dates, shown through number formats (shares as
percentages, minutes with one decimal, dates dd/mm/yyyy). The CSV files and the console write each
cell as Vietnamese text (`cell_text`): "62,5 %", "12,3", "02/12/2026".
"""

from __future__ import annotations

import csv
import math
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from central_server.report.figures import Cell, Kind, Sheet

DATE_FORMAT = "dd/mm/yyyy"
NUMBER_FORMATS: dict[Kind, str] = {"minutes": "0.0", "share": "0.0 %", "ratio": "0.00"}
HEADER_LINES = 3  # a header may wrap onto this many lines, never inside a word
SHORT_HEADER = 12  # characters: a header this short stays on one line, a longer one wraps no narrower
MAX_WIDTH = 60  # a long name in a cell is cut at this width (a header never is)
LINE_HEIGHT_PT = 15.0  # Calibri 11, the workbook's default font
BOLD = 1.05  # a bold letter is a little wider than a digit of the regular font (Excel's unit of width)
MARGIN = 2.0  # the cell's own margins, in the same unit


def number_text(value: float, places: int) -> str:
    """A number with `places` decimals and a decimal comma: 12.34, 1 -> "12,3"."""
    return f"{value:.{places}f}".replace(".", ",")


def percent_text(share: float, places: int = 1) -> str:
    """A share as Vietnamese writes a percentage: 0.625 -> "62,5 %" (0 places: "63 %")."""
    return f"{number_text(100 * share, places)} %"


def cell_text(kind: Kind, value: Cell, *, unit: bool = False) -> str:
    """A cell as Vietnamese text: shares "62,5 %", minutes "12,3" ("12,3 phút" with `unit`), dates 02/12/2026."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, str):
        return value
    if kind == "share":
        return percent_text(value)
    if kind == "minutes":
        return number_text(value, 1) + (" phút" if unit else "")
    if kind == "ratio":
        return number_text(value, 2)
    if isinstance(value, int):
        return str(value)
    return str(value).replace(".", ",")


def write_workbook(tables: list[Sheet], path: Path) -> None:
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]  # a new workbook starts with an empty sheet
    for table in tables:
        sheet = book.create_sheet(table.title[:31])
        sheet.append(list(table.columns))
        for row in table.rows:
            sheet.append([_plain_date(cell) for cell in row])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        kinds = [table.kinds(row) for row in table.rows]
        for row_kinds, cells in zip(kinds, sheet.iter_rows(min_row=2), strict=True):
            for cell, kind in zip(cells, row_kinds, strict=True):
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # text stays text: a citizen's comment "=HYPERLINK(...)" is no formula
                elif isinstance(cell.value, date):
                    cell.number_format = DATE_FORMAT
                elif kind in NUMBER_FORMATS and isinstance(cell.value, int | float):
                    cell.number_format = NUMBER_FORMATS[kind]
        lines = 1
        for index, column in enumerate(table.columns):
            texts = [cell_text(row_kinds[index], row[index]) for row, row_kinds in zip(table.rows, kinds, strict=True)]
            width = column_width(column, texts)
            sheet.column_dimensions[get_column_letter(index + 1)].width = width
            lines = max(lines, len(wrap(column, header_chars(width))))
        sheet.row_dimensions[1].height = LINE_HEIGHT_PT * lines + 2
        sheet.freeze_panes = "A2"
    book.save(path)


def _plain_date(cell: Cell) -> Cell:
    """A service day is a date: written as a date (openpyxl would add a time to a datetime)."""
    return cell.date() if isinstance(cell, datetime) else cell


def column_width(header: str, texts: list[str]) -> float:
    """Wide enough for the longest word of the (bold) header and for the header on at most three lines,
    and for the cells below up to `MAX_WIDTH`; in Excel's unit, the width of a digit."""
    need = _header_width(header)
    cells = max((len(text) for text in texts), default=0)
    return max(need, min(MAX_WIDTH, cells + 2), 8)


def _header_width(header: str) -> float:
    shortest = max(max(len(word) for word in header.split()), min(len(header), SHORT_HEADER))
    chars = next(n for n in range(shortest, len(header) + 1) if len(wrap(header, n)) <= HEADER_LINES)
    return math.ceil(chars * BOLD + MARGIN)


def header_chars(width: float) -> float:
    """How many characters of a bold header one line of a column `width` wide holds."""
    return (width - MARGIN) / BOLD


def wrap(text: str, width: float) -> list[str]:
    """`text` wrapped at spaces into lines of at most `width` characters (a longer word stays whole)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(text: str) -> str:
    """Text a spreadsheet would run as a formula (a citizen's comment may start with "="), quoted so it is not."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(tables: list[Sheet], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for table in tables:
        path = folder / f"{table.slug}.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(table.columns)
            writer.writerows([_inert(cell) if isinstance(cell, str) else cell_text(kind, cell)
                              for cell, kind in zip(row, table.kinds(row), strict=True)] for row in table.rows)
        written.append(path)
    return written
