"""What one device may make the server do: rates per kind, a daily budget of kept answers (pure, then the
service)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from central_server.domain.limits import DeviceLimits, Limits
from tests.central_server.test_service import Clock, Rig

T0 = datetime(2026, 12, 2, 8, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


def taken(limits: DeviceLimits, device: str, kind: str, at: datetime, tries: int) -> int:
    return sum(limits.allow(device, kind, at) for _ in range(tries))


def test_a_burst_passes_then_the_rate_and_each_device_has_its_own() -> None:
    limits = DeviceLimits(Limits())  # 120 tickets a minute, a burst of 30
    assert taken(limits, "kiosk/k1", "ticket", T0, 100) == 30
    assert taken(limits, "kiosk/k1", "ticket", T0 + timedelta(seconds=5), 100) == 10, "two a second since"
    assert taken(limits, "kiosk/k2", "ticket", T0, 100) == 30, "another kiosk is not held back"
    assert taken(limits, "kiosk/k1", "ticket", T0 - timedelta(hours=1), 10) == 0, "a clock set back refills nothing"
    assert taken(limits, "kiosk/k1", "ticket", T0 - timedelta(hours=1) + timedelta(seconds=5), 100) == 10, (
        "and from its new time on refills as before: a clock set back does not freeze a device")


def test_priority_tickets_have_their_own_smaller_rate() -> None:
    limits = DeviceLimits(Limits())  # 6 a minute, a burst of 10
    assert taken(limits, "kiosk/k1", "priority", T0, 50) == 10
    assert taken(limits, "kiosk/k1", "priority", T0 + timedelta(minutes=1), 50) == 6


def test_the_daily_budget_of_kept_answers_restarts_each_day_and_counts_what_storage_holds() -> None:
    limits = DeviceLimits(Limits(kiosk_answers_per_day=3))
    day = date(2026, 12, 2)
    assert [limits.keep("kiosk/k1", day) for _ in range(4)] == [True, True, True, False]
    assert limits.keep("kiosk/k2", day), "each device has its own"
    assert limits.keep("kiosk/k1", day + timedelta(days=1)), "a new day"
    limits.already_kept(day, {"kiosk/k1": 3})  # after a restart: storage already holds three
    assert not limits.keep("kiosk/k1", day)


def test_one_kiosk_cannot_take_an_areas_numbers_nor_all_as_priority(tmp_path: Path) -> None:
    clock = Clock()
    rig = Rig(tmp_path, clock)
    answers = [rig.ticket("dat-dai", request_id=f"f{n}", kiosk="thief") for n in range(200)]
    codes = [a["error"]["code"] if not a["ok"] else "ok" for a in answers]
    assert codes.count("ok") == 30 and set(codes) == {"ok", "too_many_requests"}, "a burst, then nothing"
    assert answers[-1]["error"]["message"].endswith("Mời công dân thử lại sau ít phút."), "a citizen reads it"
    elderly = [rig.send(rig.topics.ticket_request("greedy"),
                        {"v": 1, "request_id": f"e{n}", "area": "tu-phap", "priority": "elderly"},
                        rig.topics.ticket_response("greedy")) for n in range(50)]
    assert sum(1 for out in elderly if b'"ok":true' in out[-1].payload) == 10, "ten priority tickets at once"
    assert rig.ticket("dat-dai", request_id="citizen")["ticket"]["number"] == "1031", "an honest kiosk is served"
    # Kept: the 30 tickets, the 30 answers to priority requests within the kiosk's rate (10 tickets and 20
    # too_many_priority refusals, kept like any answer) and the citizen's; not the 190 refused for the rate.
    assert rig.storage.totals().replies == 30 + 30 + 1


def test_a_counter_flapping_pause_is_capped_by_its_daily_budget_and_the_rest_refused(tmp_path: Path) -> None:
    clock = Clock()
    rig = Rig(tmp_path, clock)
    rig.config = replace(rig.config, limits=Limits(counter_answers_per_day=20))  # small, so the test is short
    rig.restart()
    for n in range(100):  # pause and resume with fresh ids, within the rate
        clock.advance(seconds=1)
        rig.command("1", "pause" if n % 2 == 0 else "resume", request_id=f"c{n}")
    stored = rig.storage.totals()
    assert stored.replies == 20 and stored.events <= 20, "storage stops growing at the budget"
    refused = rig.command("1", "resume", request_id="more")
    official_reads = "Thiết bị đã gửi quá nhiều lệnh trong ngày. Vui lòng liên hệ cán bộ kỹ thuật."
    assert refused["error"] == {"code": "device_limit", "message": official_reads}
    assert rig.command("2", "next")["ok"] is True, "another counter is not held back"
    clock.advance(days=1)
    assert rig.command("1", "resume")["ok"] is True, "a new day, a new budget"


def test_a_retry_gets_its_first_answer_even_past_the_rate(tmp_path: Path) -> None:
    rig = Rig(tmp_path, Clock())
    first = rig.ticket("dat-dai", request_id="kept")
    for n in range(40):  # the kiosk's whole burst spent
        rig.ticket("dat-dai", request_id=f"f{n}")
    assert rig.ticket("dat-dai", request_id="new")["error"]["code"] == "too_many_requests"
    assert rig.ticket("dat-dai", request_id="kept") == first, "a retry is answered as it was the first time"
    retries = [rig.send(rig.topics.ticket_request("k1"), {"v": 1, "request_id": "kept", "area": "dat-dai"},
                        rig.topics.ticket_response("k1")) for _ in range(200)]
    assert sum(1 for out in retries if out) == 59, "one id asked again and again: a burst of 60 looked up, no more"


def test_a_kiosks_cancels_have_their_own_rate_so_a_flood_of_tickets_leaves_it_able_to_cancel(tmp_path: Path) -> None:
    rig = Rig(tmp_path, Clock())
    for n in range(40):
        rig.ticket("dat-dai", request_id=f"f{n}")
    out = rig.send(rig.topics.ticket_request("k1"), {"v": 1, "request_id": "c1", "cancels": "never-printed"},
                   rig.topics.ticket_response("k1"))
    assert json.loads(out[-1].payload)["ok"] is True


def test_cancels_that_do_not_decode_still_draw_on_the_cancel_rate_and_leave_tickets_alone(tmp_path: Path) -> None:
    rig = Rig(tmp_path, Clock())
    for n in range(200):  # a kiosk newer than its server, say, sending a reason this one does not know
        rig.send(rig.topics.ticket_request("k1"), {"v": 1, "request_id": f"c{n}", "cancels": f"r{n}",
                                                   "reason": "newer-reason"}, rig.topics.ticket_response("k1"))
    assert rig.ticket("dat-dai", request_id="citizen")["ok"] is True


def test_a_counter_flooding_ratings_gets_no_answer_past_its_rate_and_its_terminal_sends_again(tmp_path: Path) -> None:
    clock = Clock()
    rig = Rig(tmp_path, clock)
    rig.ticket("dat-dai")
    rig.command("1", "next")
    served = rig.command("1", "finish")["ticket"]
    flood = [rig.send(rig.topics.counter_rating("1"),
                      {"v": 1, "rating_id": f"x{n}", "ticket_id": "20261123-999999", "level": "satisfied",
                       "pressed_at": clock.now.isoformat()}, None) for n in range(200)]
    answered = sum(1 for out in flood if out)
    assert answered == 60, "a burst of a quarter of a minute's 240 is answered, the rest not even looked up"
    honest = rig.send(rig.topics.counter_rating("1"), {"v": 1, "rating_id": "r1", "ticket_id": served["id"],
                                                        "level": "satisfied", "pressed_at": clock.now.isoformat()},
                      None)
    assert honest == [], "no answer: its terminal keeps it in its outbox"
    clock.advance(seconds=1)
    assert rig.rate("1", served["id"], clock.now - timedelta(seconds=1))["ok"] is True, "sent again, it counts"
    assert rig.rate("2", served["id"], clock.now)["error"]["code"] == "wrong_counter", "another counter is not held"
