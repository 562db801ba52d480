"""`python -m central_server report --config FILE --from DATE --to DATE --out DIR`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from contextlib import suppress
from datetime import date, datetime
from pathlib import Path

from central_server.config import CenterConfig, load, with_document
from central_server.report.charts import write_charts
from central_server.report.figures import Report, build, citizens
from central_server.report.output import write_csv, write_workbook
from central_server.report.source import SourceError, center_of, read_period, stored_configs
from protocol.errors import ConfigError


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = load(Path(args.config), on_this_host=False)
        first, last = _day(args.first, "--from"), _day(args.last, "--to")
        if last < first:
            raise ConfigError(f"--to {last} is before --from {first}")
        report = make_report(config, first, last)
    except (ConfigError, SourceError) as exc:
        print(f"central_server report: {exc}", file=sys.stderr)
        return 2
    for path in write_report(report, Path(args.out)):
        print(path)
    return 0


def make_report(config: CenterConfig, first: date, last: date, as_of: datetime | None = None) -> Report:
    """The period's report, its figures taken at `as_of` (default now), the areas and counters named as the live
    configuration names them (and those it no longer has, as its earlier versions did)."""
    tickets, first_calls, ratings, officials, bookings = read_period(config.storage, first, last)
    when = as_of or datetime.now(config.rules.zone)
    center = center_of(config)
    documents = stored_configs(config.storage)
    if documents:
        with suppress(ConfigError):  # a version this release refuses: the file names them
            center = center_of(with_document(config, documents[0], on_this_host=False), former=documents[1:])
    return build(center, first, last, citizens(tickets, first_calls, ratings), when, officials, bookings)


def write_report(report: Report, out: Path) -> list[Path]:
    """The workbook, the CSV files and the charts; returns what was written."""
    out.mkdir(parents=True, exist_ok=True)
    workbook = out / f"bao-cao-{report.first_day}_{report.last_day}.xlsx"
    write_workbook(report.tables, workbook)
    return [workbook, *write_csv(report.tables, out / "csv"), *write_charts(report, out / "charts")]


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{option}: expected a date YYYY-MM-DD, got {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="central_server report",
                                     description="The center's report for a period: XLSX, CSV and PNG charts.")
    parser.add_argument("--config", required=True, metavar="FILE", help="the center config (names its database)")
    parser.add_argument("--from", dest="first", required=True, metavar="DATE", help="first service day, YYYY-MM-DD")
    parser.add_argument("--to", dest="last", required=True, metavar="DATE", help="last service day, YYYY-MM-DD")
    parser.add_argument("--out", required=True, metavar="DIR", help="where to write the report")
    return parser
