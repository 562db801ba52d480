"""Dossier codes attached at the counter (issue 19), through the real service and SQLite: checked, bounded, kept
across a restart, shown in the counter's state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from central_server.config import load
from central_server.domain.dossiers import DossierRules
from tests.central_server.test_citizen_web import WebRig
from tests.central_server.test_service import Clock, Rig

CODE = "000.00.04.H12-261123-0001"  # the Rig's day is 23/11/2026


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(tmp_path, Clock())


def serving(rig: Rig, counter: str = "1") -> dict[str, Any]:
    ticket = rig.ticket("dat-dai")
    rig.command(counter, "next")
    return ticket


def state_of(rig: Rig, counter: str) -> dict[str, Any]:
    topic = rig.topics.counter_state(counter)
    states = [o.payload for o in rig.service.retained_state() if o.topic == topic]
    assert len(states) == 1
    state: dict[str, Any] = json.loads(states[0])
    return state


def test_a_dossier_goes_to_the_ticket_being_served_and_is_kept(rig: Rig) -> None:
    ticket = serving(rig)
    answer = rig.command("1", "dossier", code=" 000.00.04.h12-261123-0001 ")
    assert answer["ok"] is True and answer["ticket"]["id"] == ticket["ticket"]["id"]
    assert answer["ticket"]["dossiers"] == [CODE]
    second = rig.command("1", "dossier", code="000.00.04.H12-261123-0002")
    assert second["ticket"]["dossiers"] == [CODE, "000.00.04.H12-261123-0002"]
    rig.restart()
    assert rig.service.center.tickets[ticket["ticket"]["id"]].dossiers[1].code == "000.00.04.H12-261123-0002"


def test_a_code_scanned_twice_is_kept_once_and_another_ticket_cannot_take_it(rig: Rig) -> None:
    serving(rig)
    rig.command("1", "dossier", code=CODE)
    assert rig.command("1", "dossier", code=CODE)["ticket"]["dossiers"] == [CODE]
    rig.ticket("tu-phap")
    rig.command("2", "next")
    taken = rig.command("2", "dossier", code=CODE)
    assert taken["ok"] is False and taken["error"]["code"] == "dossier_taken"
    assert "đã được gắn cho số" in taken["error"]["message"]


@pytest.mark.parametrize("code", [
    "000.00.04.H12-261124-0001",  # received tomorrow
    "000.00.04.H12-261332-0001",  # no such day
    "00.00.04.H12-261123-0001",
    "000.00.04.12-261123-0001",
    "000.00.04.H12-261123-01",
    "000.00.04.H12 261123 0001x",
    "mã hồ sơ",
])
def test_a_code_not_of_the_national_form_is_refused_with_a_reason(rig: Rig, code: str) -> None:
    serving(rig)
    answer = rig.command("1", "dossier", code=code)
    assert answer["ok"] is False and answer["error"]["code"] == "bad_dossier"
    assert "Mã hồ sơ" in answer["error"]["message"] or "Ngày tiếp nhận" in answer["error"]["message"]
    assert rig.service.center.counters["1"].current.dossiers == ()  # type: ignore[union-attr]


def test_at_most_per_ticket_dossiers_go_on_one_ticket(rig: Rig) -> None:
    serving(rig)
    limit = DossierRules().per_ticket
    for n in range(limit):
        assert rig.command("1", "dossier", code=f"000.00.04.H12-261123-{n:04d}")["ok"] is True
    refused = rig.command("1", "dossier", code="000.00.04.H12-261123-9999")
    assert refused["ok"] is False and refused["error"]["code"] == "too_many_dossiers"


def test_a_dossier_is_taken_off_again_and_its_code_is_free(rig: Rig) -> None:
    serving(rig)
    rig.command("1", "dossier", code=CODE)
    assert rig.command("1", "dossier", code=CODE, remove=True)["ticket"].get("dossiers") is None
    assert rig.command("1", "dossier", code=CODE, remove=True)["error"]["code"] == "unknown_dossier"
    assert rig.command("1", "dossier", code=CODE)["ok"] is True


def test_after_finish_the_dossier_goes_to_the_ticket_awaiting_its_rating(rig: Rig) -> None:
    ticket = serving(rig)
    rig.command("1", "finish")
    answer = rig.command("1", "dossier", code=CODE)
    assert answer["ticket"]["id"] == ticket["ticket"]["id"] and answer["ticket"]["state"] == "served"
    state = state_of(rig, "1")
    assert state["dossiers"] == {"ticket_id": ticket["ticket"]["id"], "number": ticket["ticket"]["number"],
                                 "codes": [CODE]}


def test_a_number_names_an_earlier_ticket_of_the_counter(rig: Rig) -> None:
    first = serving(rig)
    rig.command("1", "finish")
    rig.clock.advance(minutes=5)  # its rating window is over
    serving(rig)
    answer = rig.command("1", "dossier", code=CODE, number=first["ticket"]["number"])
    assert answer["ticket"]["id"] == first["ticket"]["id"]
    unknown = rig.command("1", "dossier", code=CODE, number="9999")
    assert unknown["error"]["code"] == "unknown_ticket"


def test_an_idle_counter_has_no_ticket_to_attach_to(rig: Rig) -> None:
    answer = rig.command("1", "dossier", code=CODE)
    assert answer["ok"] is False and answer["error"]["code"] == "no_current_ticket"


def test_the_center_pattern_is_checked_too(tmp_path: Path) -> None:
    rig = Rig(tmp_path, Clock())
    with rig.config.path.open("a", encoding="utf-8") as file:
        file.write('\n[dossiers]\npattern = \'000\\.\\d{2}\\.\\d{2}\\.H12-.*\'\n')
    rig.config = load(rig.config.path)
    rig.restart()
    serving(rig)
    assert rig.command("1", "dossier", code="000.00.04.H13-261123-0001")["error"]["code"] == "bad_dossier"
    assert rig.command("1", "dossier", code=CODE)["ok"] is True


def test_a_dossier_attached_under_earlier_rules_is_still_taken_off(tmp_path: Path) -> None:
    rig = Rig(tmp_path, Clock())
    serving(rig)
    rig.command("1", "dossier", code=CODE)
    with rig.config.path.open("a", encoding="utf-8") as file:
        file.write("\n[dossiers]\nnational = false\npattern = 'HS-[0-9]+'\n")
    rig.config = load(rig.config.path)
    rig.restart()
    assert rig.command("1", "dossier", code=CODE)["error"]["code"] == "bad_dossier"
    assert rig.command("1", "dossier", code=CODE, remove=True)["ok"] is True
    assert rig.command("1", "dossier", code="hs-12")["ticket"]["dossiers"] == ["HS-12"]


# --- what a review found -----------------------------------------------------------------------------------------

def test_a_phone_rating_of_an_earlier_citizen_does_not_make_their_ticket_the_target(tmp_path: Path) -> None:
    """A served, not rated; B served, its window over; A rates from the phone much later: a dossier scanned now goes
    to B (the citizen the counter finished last), never to A, who has gone."""
    rig = WebRig(tmp_path, Clock())
    first = rig.issued("dat-dai")
    rig.command("1", "next")
    rig.command("1", "finish")
    second = serving(rig)
    rig.command("1", "finish")
    rig.clock.advance(minutes=5)
    rig.service.tick()  # B's rating window closes
    assert state_of(rig, "1")["dossiers"]["ticket_id"] == second["ticket"]["id"]
    assert rig.web("rate", first["token"], level="satisfied")["ok"] is True
    assert rig.command("1", "dossier", code=CODE)["ticket"]["id"] == second["ticket"]["id"]
    rig.ticket("dat-dai")
    rig.command("1", "next")
    rig.command("1", "skip")  # the next citizen did not come: nobody is at the counter, no dossier can be theirs
    assert rig.command("1", "dossier", code="000.00.04.H12-261123-0002")["error"]["code"] == "no_current_ticket"


def test_voiding_a_ticket_frees_its_dossiers_codes(rig: Rig) -> None:
    ticket = rig.ticket("dat-dai", request_id="t1")
    rig.command("1", "next")
    rig.command("1", "dossier", code=CODE)
    rig.command("1", "skip")
    out = rig.send(rig.topics.ticket_request("k1"), {"v": 1, "request_id": "c1", "cancels": "t1",
                                                      "reason": "unprinted"}, rig.topics.ticket_response("k1"))
    assert json.loads(out[-1].payload)["voided"] is True
    assert rig.service.center.tickets[ticket["ticket"]["id"]].dossiers == ()
    serving(rig)
    assert rig.command("1", "dossier", code=CODE)["ok"] is True


def test_a_ticket_held_over_from_yesterday_keeps_its_codes_taken(rig: Rig) -> None:
    serving(rig)
    rig.command("1", "dossier", code=CODE)
    rig.clock.now = rig.clock.now.replace(day=24, hour=7, minute=0)
    rig.restart()  # the new day, the counter still holds yesterday's citizen
    rig.ticket("tu-phap")
    rig.command("2", "next")
    assert rig.command("2", "dossier", code=CODE)["error"]["code"] == "dossier_taken"


def test_a_code_of_todays_date_is_taken_before_a_late_day_start(tmp_path: Path) -> None:
    """day_starts 06:00: at 05:30 on 24/11 the service day is still 23/11, but a dossier dated 24/11 is today's."""
    rig = Rig(tmp_path, Clock())
    text = rig.config.path.read_text(encoding="utf-8").replace('day_starts = "00:00"', 'day_starts = "06:00"')
    rig.config.path.write_text(text, encoding="utf-8")
    rig.config = load(rig.config.path)
    rig.clock.now = rig.clock.now.replace(day=24, hour=5, minute=30)
    rig.restart()
    serving(rig)
    assert rig.command("1", "dossier", code="000.00.04.H12-261124-0001")["ok"] is True
    assert rig.command("1", "dossier", code="000.00.04.H12-961123-0001")["error"]["code"] == "bad_dossier"  # 1996
