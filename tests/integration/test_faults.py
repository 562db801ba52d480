"""Faults and hostile clients against the real server process and a real Mosquitto (issue 8)."""

from __future__ import annotations

import json
import sqlite3
import uuid

from protocol.local_broker import LocalBroker
from tests.harness import TIMEOUT, ServerProcess, device, watching


def tickets_in(server: ServerProcess) -> list[str]:
    with sqlite3.connect(server.config.parent / "center.db") as db:
        return [shown for (shown,) in db.execute("SELECT shown FROM tickets ORDER BY seq")]


def test_a_retained_request_is_served_once_and_never_replayed(server: ServerProcess, broker: LocalBroker,
                                                              center_id: str) -> None:
    """ACLs cannot forbid the retain flag: a device that sets it must not make the server act again at
    every reconnect (or the next day)."""
    with device(broker, center_id, "k1") as kiosk, watching(broker, center_id, "kiosk/k1/ticket/response") as out:
        body = json.dumps({"v": 1, "request_id": uuid.uuid4().hex, "area": "dat-dai"}).encode()
        kiosk.link.publish(kiosk.topics.ticket_request("k1"), body, retain=True,
                           response_topic=kiosk.topics.ticket_response("k1")).wait_for_publish(TIMEOUT)
        _, reply = out.next(timeout_s=TIMEOUT)
        assert reply["ok"] is True and reply["ticket"]["number"] == "1001"  # live, it is a request like any other
        server.stop()
        server.start()  # resubscribes: the broker hands it the retained copy
        assert kiosk.ticket("dat-dai")["ticket"]["number"] == "1002"
        answers: list[str] = []
        while "1002" not in answers:  # every answer up to the one for the new request
            answers.append(out.next(timeout_s=TIMEOUT)[1]["ticket"]["number"])
    assert answers == ["1002"], answers  # the retained copy was not answered again (nor, the next day, served again)
    assert tickets_in(server) == ["1001", "1002"]
    assert "dropped a retained request" in server.log_text()
