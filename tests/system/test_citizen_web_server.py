"""The citizen web's side of the contract (issue 16) against the real server process and a real Mosquitto: a ticket
followed by its token through call, transfer and service, rated once from the phone, refused tokens, the retained
`queue`, and a web process flooding look-ups while a kiosk is still served."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from contextlib import closing
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from central_server.domain.limits import WEB_LOOKUP_BURST
from central_server.domain.tokens import make_token
from devkit.local_broker import LocalBroker
from protocol.messages import QueueSnapshot
from tests.harness import TIMEOUT, Device, ServerProcess, device, until, watching, write_center_config

WEB = "web-1"
HCM = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def center_toml(tmp_path: Path, broker: LocalBroker, center_id: str) -> Path:
    path = write_center_config(tmp_path, broker, center_id)
    path.write_text(path.read_text(encoding="utf-8").replace(
        "[queue]\n", f'[citizen_web]\nurl = "https://hang-doi.example.gov.vn"\nids = ["{WEB}"]\n\n[queue]\n'),
        encoding="utf-8")
    return path


def web(client: Device, action: str, token: str, **extra: Any) -> dict[str, Any]:
    body = {"v": 1, "request_id": uuid.uuid4().hex, "action": action, "token": token, **extra}
    return client.request(client.topics.web_request(WEB), body, client.topics.web_response(WEB))


def button_rating(client: Device, counter: str, ticket_id: str) -> dict[str, Any]:
    body = {"v": 1, "rating_id": uuid.uuid4().hex, "ticket_id": ticket_id, "level": "satisfied",
            "pressed_at": datetime.now(HCM).isoformat()}
    return client.request(client.topics.counter_rating(counter), body, client.topics.rating_ack(counter))


def test_a_phone_follows_its_ticket_through_the_chain_and_rates_it_once(server: ServerProcess, broker: LocalBroker,
                                                                        center_id: str) -> None:
    with device(broker, center_id) as client, watching(broker, center_id, "queue", "config") as watcher:
        config = watcher.next("config")[1]
        assert (config["public_url"], config["rating_phone_window_s"]) == ("https://hang-doi.example.gov.vn", 1800)
        ticket = client.ticket("dat-dai")["ticket"]
        token = ticket["token"]
        first = web(client, "lookup", token)["ticket"]
        assert (first["id"], first["state"], first["waiting_ahead"]) == (ticket["id"], "waiting", 0)
        seq = int(ticket["id"].split("-")[1])

        def queued() -> bool:
            body = watcher.latest("queue")
            return body is not None and [entry[0] for entry in body["waiting"]["dat-dai"]] == [seq]

        until(queued)  # the retained queue follows the batch that changed it
        latest = watcher.latest("queue")
        assert latest is not None and QueueSnapshot.from_wire(json.dumps({"v": 1, **latest}).encode()).waiting
        client.command("1", "next")
        called = web(client, "lookup", token)["ticket"]
        assert (called["state"], called["counter_name"]) == ("called", "Quầy 1")
        client.command("1", "transfer", to_area="tu-phap")
        moved = web(client, "lookup", token)["ticket"]
        assert (moved["area"], moved["state"], moved["token"]) == ("tu-phap", "waiting", token)
        client.command("2", "next")
        done = client.command("2", "finish")["ticket"]
        served = web(client, "lookup", token)["ticket"]
        assert served["state"] == "served" and served["rating"]["open"] is True
        rated = web(client, "rate", token, level="very_satisfied")
        assert rated["ok"] is True and rated["ticket"]["rating"]["level"] == "very_satisfied"
        assert button_rating(client, "2", done["id"])["error"]["code"] == "already_rated"
        assert web(client, "rate", token, level="satisfied")["error"]["code"] == "already_rated"
    with closing(sqlite3.connect(server.config.parent / "center.db")) as db:
        assert db.execute("SELECT counter_id, level, channel FROM ratings").fetchall() == [
            ("2", "very_satisfied", "phone")]


def test_wrong_forged_and_yesterdays_tokens(server: ServerProcess, broker: LocalBroker, center_id: str) -> None:
    with device(broker, center_id) as client:
        ticket = client.ticket("dat-dai")["ticket"]
        with closing(sqlite3.connect(server.config.parent / "center.db")) as db:
            key = bytes(db.execute("SELECT value FROM secrets WHERE name = 'ticket_token_key'").fetchone()[0])
        today = datetime.strptime(ticket["id"].split("-")[0], "%Y%m%d").date()
        wrong = web(client, "lookup", "Z" * 27)
        forged = web(client, "lookup", make_token(b"\x01" * 32, center_id, today, 1))
        yesterday = today - timedelta(days=1)
        old = web(client, "lookup", make_token(key, center_id, yesterday, 1))
        assert wrong["error"]["code"] == forged["error"]["code"] == "unknown_token"
        assert wrong["error"]["message"] == "Không tìm thấy phiếu. Vui lòng quét lại mã QR trên phiếu."
        assert old["error"] == {"code": "expired_token",
                                "message": f"Phiếu này là của ngày {yesterday:%d/%m/%Y}, đã hết hiệu lực."}
        assert web(client, "lookup", ticket["token"])["ok"] is True


def test_a_web_process_flooding_lookups_leaves_a_kiosk_served_and_stores_nothing(
        server: ServerProcess, broker: LocalBroker, center_id: str) -> None:
    with device(broker, center_id) as kiosk, device(broker, center_id, "flooder") as flooder:
        token = kiosk.ticket("dat-dai")["ticket"]["token"]
        answers: list[dict[str, Any]] = []
        flooder.request(flooder.topics.web_request(WEB), {"v": 1, "request_id": "first", "action": "lookup",
                                                          "token": token}, flooder.topics.web_response(WEB))
        # its answer came: the answers' topic is subscribed; from now on the test takes every answer itself
        flooder.link.subscribe(flooder.topics.web_response(WEB), lambda m: answers.append(json.loads(m.payload)))
        # 100 at a time, each lot once the last is answered: faster than the rate refills, and never more at once
        # than the broker keeps for a client (max_queued_messages), which would drop the rest before the server
        lots = int(WEB_LOOKUP_BURST) // 100 + 10
        for lot in range(lots):
            for n in range(lot * 100, lot * 100 + 100):
                body = json.dumps({"v": 1, "request_id": f"f{n}", "action": "lookup", "token": token}).encode()
                flooder.link.publish(flooder.topics.web_request(WEB), body, qos=1,
                                     response_topic=flooder.topics.web_response(WEB))
            if lot == lots - 5:  # the web's rate spent: a kiosk asks meanwhile
                started = time.monotonic()
                served = kiosk.ticket_as_a_kiosk("dat-dai")
                assert served["ok"] is True and time.monotonic() - started < TIMEOUT
            until(partial(lambda sent: len(answers) == sent, lot * 100 + 100))
        # each answered: the burst and what refilled meanwhile, the rest (how many depends on this machine's speed;
        # the rate itself: tests/central_server/test_citizen_web.py) refused in a citizen's words
        assert sum(a["ok"] for a in answers) >= WEB_LOOKUP_BURST - 1, sum(a["ok"] for a in answers)
        refused = [a["error"] for a in answers if not a["ok"]]
        assert all(e["code"] == "too_many_requests" and "Ông/Bà" in e["message"] for e in refused), refused[:3]
    with closing(sqlite3.connect(server.config.parent / "center.db")) as db:  # nothing of it stored
        assert db.execute("SELECT count(*) FROM replies WHERE device LIKE 'web/%'").fetchone() == (0,)


def test_the_queue_is_retained_for_a_web_that_starts_later(server: ServerProcess, broker: LocalBroker,
                                                          center_id: str) -> None:
    with device(broker, center_id) as client:
        client.ticket("tu-phap")
    with watching(broker, center_id, "queue") as watcher:
        deadline = time.monotonic() + TIMEOUT
        while True:
            body = watcher.next("queue", timeout_s=max(0.1, deadline - time.monotonic()))[1]
            if body["waiting"]["tu-phap"]:
                break
        assert set(body["waiting"]) == {"dat-dai", "tu-phap", "nho", "dong"} and body["called"] == []
