"""`python -m central_server void --config FILE --kiosk ID --from HH:MM --to HH:MM --by NAME`: the manager voids
the tickets one kiosk issued in a time range that still wait (a kiosk's flood), through the running server.

The server is the only writer of the day, so the request goes to it over MQTT (`admin/manager/request`, an
extension of the contract); the server records who asked. On a center made by `provision`, the tool uses
the broker user `<center>-admin` with the password in `admin.password` beside the config; elsewhere, the
config's own [mqtt] user with a client id of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path

from central_server.config import CenterConfig, load
from central_server.domain.areas import service_day
from protocol.config import MqttSettings
from protocol.errors import ConfigError
from protocol.link import MqttLink, RequestTimeout
from protocol.messages import Refusal, TicketsVoided, VoidTickets
from protocol.topics import Topics

ADMIN_ID = "manager"  # admin/manager/request
ADMIN_PASSWORD_FILE = "admin.password"  # beside the server's config, written by `provision`
ANSWER_S = 10.0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = load(Path(args.config), on_this_host=False)
        rules = config.rules
        day = service_day(datetime.now(rules.zone), rules.zone, rules.day_starts)  # the only day it voids
        start, end = _moment(config, day, args.start, "--from"), _moment(config, day, args.end, "--to")
        request = VoidTickets(uuid.uuid4().hex, args.kiosk, start, end, args.by)
        if end <= start:
            raise ConfigError(f"--to {args.end} is not after --from {args.start}")
    except (ConfigError, ValueError) as exc:
        print(f"central_server void: {exc}", file=sys.stderr)
        return 2
    topics, settings = Topics(config.center_id), _settings(config)
    link = MqttLink(settings, client_id=settings.client_id or f"{config.client_id}-admin-{os.getpid()}",
                    status_topic=None)  # a tool, not a device: no status of its own
    link.start()
    try:
        answer = link.request(topics.admin_request(ADMIN_ID), request.to_wire(),
                              response_topic=topics.admin_response(ADMIN_ID), timeout_s=ANSWER_S)
    except RequestTimeout:
        print(f"central_server void: no answer from the server within {ANSWER_S:g} s (is it running?)",
              file=sys.stderr)
        return 1
    finally:
        link.stop()
    reply = TicketsVoided.from_wire(answer.payload)
    if isinstance(reply, Refusal):
        print(f"central_server void: {reply.error.message}", file=sys.stderr)
        return 1
    voided = reply.tickets
    numbers = ", ".join(t.number for t in voided)
    print(f"Đã huỷ {len(voided)} phiếu của ki-ốt {args.kiosk} lấy từ {start:%H:%M} đến {end:%H:%M} ngày "
          f"{start:%d/%m/%Y}" + (f": {numbers}" if numbers else ""))
    print(json.dumps([t.to_body() for t in voided], ensure_ascii=False))
    return 0


def _settings(config: CenterConfig) -> MqttSettings:
    password = config.path.parent / ADMIN_PASSWORD_FILE
    if password.is_file():  # a center made by `provision`: the manager's own broker user
        name = f"{config.center_id}-admin"
        return replace(config.mqtt, username=name, password=password.read_text(encoding="utf-8").strip(),
                       client_id=name)
    return replace(config.mqtt, client_id=None)


def _moment(config: CenterConfig, day: date, text: str, option: str) -> datetime:
    """HH:MM of the service `day` in the center's time zone (one before `day_starts` falls on the next calendar
    date: the day's night), or a full ISO 8601 time."""
    try:
        if len(text) == 5 and text[2] == ":":
            at = time.fromisoformat(text)
            on = day if at >= config.rules.day_starts else day + timedelta(days=1)
            return datetime.combine(on, at, config.rules.zone)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{option}: expected HH:MM or an ISO 8601 time, got {text!r}") from None
    return moment.astimezone(config.rules.zone) if moment.tzinfo else moment.replace(tzinfo=config.rules.zone)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="central_server void", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, metavar="FILE", help="the center config")
    parser.add_argument("--kiosk", required=True, help="the kiosk whose tickets to void")
    parser.add_argument("--from", dest="start", required=True, metavar="HH:MM", help="issued from (local time)")
    parser.add_argument("--to", dest="end", required=True, metavar="HH:MM", help="issued before (local time)")
    parser.add_argument("--by", required=True, metavar="NAME", help="who voids them (kept with the event)")
    return parser
