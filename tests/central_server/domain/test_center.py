"""The pure domain: numbering, the next-ticket policy, every counter command, ratings."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from central_server.domain.areas import Area, service_day
from central_server.domain.center import DEFAULT_GAP_S, Center, CenterRules
from central_server.domain.counters import CounterSpec, CounterStatus
from central_server.domain.errors import DomainError
from central_server.domain.estimate import Basis
from central_server.domain.policies import PriorityMode, QueuePolicy
from central_server.domain.tickets import TicketState

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=HCM)


def rules(policy: QueuePolicy | None = None, areas: tuple[Area, ...] | None = None) -> CenterRules:
    return CenterRules(
        areas=areas
        or (
            Area("dat-dai", "Đất đai", 1001, 1999),
            Area("tu-phap", "Tư pháp - Hộ tịch", 1, 999, prefix="B"),
            Area("dong", "Lĩnh vực tạm đóng", 1, 99, prefix="C", open=False),
        ),
        counters=(CounterSpec("1", "Quầy 1", ("dat-dai",)), CounterSpec("2", "Quầy 2", ("tu-phap", "dat-dai"))),
        zone=HCM,
        day_starts=time(0, 0),
        policy=policy or QueuePolicy(),
        rating_levels=("very_satisfied", "satisfied", "dissatisfied"),
        rating_window=timedelta(seconds=120),
    )


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def center() -> Center:
    return Center(rules(), T0)


def test_numbers_start_at_first_and_count_up(center: Center) -> None:
    shown = [center.issue("dat-dai", "none", at(i)).ticket.shown for i in range(3)]
    assert shown == ["1001", "1002", "1003"]


def test_prefix_and_zero_padding_to_the_width_of_last(center: Center) -> None:
    assert center.issue("tu-phap", "none", T0).ticket.shown == "B001"


def test_waiting_ahead_counts_the_area_queue_and_priority_counts_only_priority(center: Center) -> None:
    center.issue("dat-dai", "none", at(0))
    center.issue("dat-dai", "elderly", at(1))
    regular = center.issue("dat-dai", "none", at(2))
    priority = center.issue("dat-dai", "pregnant", at(3))
    assert regular.waiting_ahead == 2
    assert priority.waiting_ahead == 1


def staff(center: Center, *counter_ids: str, online: bool = True) -> None:
    for counter_id in counter_ids:
        center.device_seen(f"counter-{counter_id}", online, None, T0)


PACE = 300 + DEFAULT_GAP_S  # before the day has data: default_service_s, and the default pause between citizens


def test_without_a_staffed_counter_there_is_no_estimate(center: Center) -> None:
    first = center.issue("dat-dai", "none", at(0))
    second = center.issue("dat-dai", "none", at(0))
    assert (first.wait_basis, second.wait_basis) == (Basis.NO_COUNTER, Basis.NO_COUNTER)
    assert second.estimated_wait_s == round(PACE / 2), "for clients that show only the figure: as if both came"


def test_free_counters_call_at_once_then_the_queue_waits_for_the_first_to_free(center: Center) -> None:
    early = Center(rules(), T0)
    staff(early, "1", "2")  # terminals on since last night
    assert early.issue("dat-dai", "none", at(0)).wait_basis is Basis.ESTIMATE, "nobody pressed Next yet today"
    staff(center, "1", "2")
    center.next("1", at(-1))  # both officials are there: each pressed Next, nobody waited
    center.next("2", at(-1))
    first, second, third = (center.issue("dat-dai", "none", at(0)) for _ in range(3))
    assert (first.wait_basis, second.wait_basis) == (Basis.FREE_COUNTER, Basis.FREE_COUNTER)
    assert (third.wait_basis, third.estimated_wait_s) == (Basis.ESTIMATE, round(PACE))


def test_a_counter_shared_with_an_older_queue_is_not_free_for_a_new_area(center: Center) -> None:
    # Counter 2 serves tu-phap and dat-dai; two tu-phap citizens came first. Counter 1 (dat-dai only) is busy.
    staff(center, "1", "2")
    center.issue("tu-phap", "none", at(0))
    center.issue("tu-phap", "none", at(0))
    center.issue("dat-dai", "none", at(0))
    center.next("1", at(1))  # calls the dat-dai citizen
    new = center.issue("dat-dai", "none", at(1))
    assert new.waiting_ahead == 0, "nobody of dat-dai waits"
    # Counter 2 takes B001 now and B002 after one pace; counter 1 frees after one pace: the new one goes there.
    assert (new.wait_basis, new.estimated_wait_s) == (Basis.ESTIMATE, round(PACE))
    after = center.issue("dat-dai", "none", at(1))
    assert after.estimated_wait_s == round(2 * PACE), "counter 1 again (counter 2 has B002 until 2 paces)"


def test_the_pace_is_learnt_from_the_day(center: Center) -> None:
    staff(center, "1")
    for _ in range(3):
        center.issue("dat-dai", "none", at(0))
    for minute in (0, 3):  # two dat-dai citizens served in 150 s each, the next called 30 s after
        center.next("1", at(minute))
        center.finish("1", at(minute + 2.5))
    center.next("1", at(6))  # the third, called 30 s after the second left: now at the counter
    waiting = center.issue("dat-dai", "none", at(6))
    service = (150 + 150 + 300) / 3  # the default counts as one more sample
    # What is left of the third citizen: fewer than three samples, so the mean service less the time so far.
    assert waiting.estimated_wait_s == round(service + 30)
    later = center.issue("dat-dai", "none", at(6))
    assert later.estimated_wait_s == round(service + 30 + service + 30)


def test_a_pause_before_a_citizen_came_is_no_part_of_the_pace(center: Center) -> None:
    staff(center, "1")
    center.issue("dat-dai", "none", at(0))
    center.next("1", at(0))
    center.finish("1", at(2))
    center.issue("dat-dai", "none", at(10))  # nobody waited for eight minutes
    center.next("1", at(10.5))
    assert center.pace_s("dat-dai") == (120 + 300) / 2 + 30, "the pause counts from when the citizen came"


def test_paused_and_offline_counters_do_not_count_and_a_silent_one_counts_for_an_hour(center: Center) -> None:
    staff(center, "1", "2")
    center.pause("1", at(0))
    staff(center, "2", online=False)
    assert center.issue("dat-dai", "none", at(0)).wait_basis is Basis.NO_COUNTER
    center.resume("1", at(1))
    second = center.issue("dat-dai", "none", at(1))
    assert (second.wait_basis, second.estimated_wait_s) == (Basis.ESTIMATE, round(PACE)), "after the first"
    quiet = Center(rules(), T0)  # no terminal ever reports: a counter is staffed once its official pressed Next
    assert quiet.issue("dat-dai", "none", at(0)).wait_basis is Basis.NO_COUNTER
    quiet.next("1", at(0))
    assert quiet.issue("dat-dai", "none", at(1)).wait_basis is Basis.ESTIMATE
    assert quiet.issue("dat-dai", "none", at(300)).wait_basis is Basis.ESTIMATE, "after lunch: the same day"


def test_a_priority_ticket_is_estimated_ahead_of_the_regular_queue(center: Center) -> None:
    staff(center, "1")
    for _ in range(3):
        center.issue("dat-dai", "none", at(0))
    center.next("1", at(0))
    left = 300 - 30 + DEFAULT_GAP_S  # half a minute later: what is left of the first citizen, and the pause
    regular = center.issue("dat-dai", "none", at(0.5))
    priority = center.issue("dat-dai", "elderly", at(0.5))
    assert regular.estimated_wait_s == round(left + 2 * PACE)
    assert priority.estimated_wait_s == round(left), "only the citizen at the counter before it"
    assert center.issue("dat-dai", "none", at(0.5)).estimated_wait_s == round(left + 4 * PACE), "behind both"


def test_the_queue_is_played_once_a_moment_and_again_at_the_next_once_a_counter_changed(center: Center) -> None:
    staff(center, "1")
    center.next("1", at(0))
    assert center.issue("dat-dai", "none", at(0)).wait_basis is Basis.FREE_COUNTER
    center.pause("1", at(0))  # within the same moment (one batch of the server) the played queue is kept
    assert center.issue("dat-dai", "none", at(0)).estimated_wait_s == round(PACE)
    assert center.issue("dat-dai", "none", at(0.1)).wait_basis is Basis.NO_COUNTER, "played again"


def test_unknown_closed_and_bad_priority_are_refused_and_change_nothing(center: Center) -> None:
    for area, priority, code in (("khong-co", "none", "unknown_area"), ("dong", "none", "area_closed"),
                                 ("dat-dai", "vip", "bad_request")):
        with pytest.raises(DomainError) as refused:
            center.issue(area, priority, T0)
        assert refused.value.code == code
        assert refused.value.message  # Vietnamese text for the citizen
    assert not center.take_changes()
    assert center.issue("dat-dai", "none", T0).ticket.shown == "1001"


def test_wrap_skips_numbers_still_held_and_reports_area_full() -> None:
    small = CenterRules((Area("a", "Nhỏ", 1, 3),), (CounterSpec("1", "Quầy 1", ("a",)),), HCM, time(0),
                        QueuePolicy(), ("ok",), timedelta(seconds=60))
    center = Center(small, T0)
    issued = [center.issue("a", "none", at(i)).ticket for i in range(3)]
    assert [t.shown for t in issued] == ["1", "2", "3"]
    with pytest.raises(DomainError) as full:
        center.issue("a", "none", at(4))
    assert full.value.code == "area_full"
    center.next("1", at(5))  # calls 1: it still holds its number
    center.next("1", at(6))  # 1 served: its number is free again; 2 is called
    assert center.issue("a", "none", at(7)).ticket.shown == "1"
    with pytest.raises(DomainError):
        center.issue("a", "none", at(8))


def test_priority_first_then_longest_waiting_across_the_counters_areas(center: Center) -> None:
    b1 = center.issue("tu-phap", "none", at(0)).ticket
    d1 = center.issue("dat-dai", "none", at(1)).ticket
    p1 = center.issue("dat-dai", "veteran", at(2)).ticket
    assert center.next("2", at(3)) is p1
    assert center.next("2", at(4)) is b1
    assert center.next("2", at(5)) is d1
    assert center.next("2", at(6)) is None
    assert center.counters["2"].status is CounterStatus.IDLE


def test_interleaved_policy_calls_one_priority_after_every_n_regular() -> None:
    center = Center(rules(QueuePolicy(mode=PriorityMode.INTERLEAVED, regular_per_priority=2)), T0)
    regular = [center.issue("dat-dai", "none", at(i)) for i in range(5)]
    priority = [center.issue("dat-dai", "elderly", at(10 + i)) for i in range(2)]
    order = [center.next("1", at(20 + i)) for i in range(7)]
    kinds = ["P" if t is not None and t.is_priority else "R" for t in order]
    assert kinds == ["P", "R", "R", "P", "R", "R", "R"]
    assert len(regular) == 5 and len(priority) == 2


def test_next_finishes_the_current_ticket_and_opens_its_rating_window(center: Center) -> None:
    first = center.issue("dat-dai", "none", at(0)).ticket
    center.issue("dat-dai", "none", at(1))
    center.next("1", at(2))
    center.next("1", at(5))
    assert first.state is TicketState.SERVED
    assert first.rating_until == at(5) + timedelta(seconds=120)
    assert center.counters["1"].awaiting_rating is first


def test_recall_calls_again_however_often_by_default(center: Center) -> None:
    ticket = center.issue("dat-dai", "none", at(0)).ticket
    center.next("1", at(1))
    for minute in range(2, 8):
        assert center.recall("1", at(minute)) is ticket
    assert ticket.calls == 7 and ticket.state is TicketState.CALLED
    assert [c.recall for c in center.recent_calls][:7] == [True] * 6 + [False]


def test_with_max_calls_a_recall_past_the_limit_marks_the_ticket_missed() -> None:
    center = Center(rules(QueuePolicy(max_calls=3)), T0)
    ticket = center.issue("dat-dai", "none", at(0)).ticket
    center.next("1", at(1))
    center.recall("1", at(2))
    center.recall("1", at(3))
    assert ticket.calls == 3 and ticket.state is TicketState.CALLED
    center.take_changes()
    center.recall("1", at(4))
    assert ticket.state is TicketState.MISSED
    assert center.counters["1"].current is None
    assert not center.take_changes().calls, "a ticket marked missed is not announced"


def test_a_started_ticket_is_never_marked_missed_by_a_recall() -> None:
    center = Center(rules(QueuePolicy(max_calls=1)), T0)
    ticket = center.issue("dat-dai", "none", at(0)).ticket
    center.next("1", at(1))
    center.start("1", at(2))
    assert center.recall("1", at(3)) is ticket and ticket.state is TicketState.SERVING


def test_skip_marks_missed_and_call_by_number_brings_it_back(center: Center) -> None:
    ticket = center.issue("tu-phap", "none", at(0)).ticket
    center.next("2", at(1))
    assert center.skip("2", at(2)) is ticket
    assert ticket.state is TicketState.MISSED
    assert center.counters["2"].status is CounterStatus.IDLE
    assert center.call_number("1", "B001", at(3)) is ticket
    assert ticket.state is TicketState.CALLED and ticket.counter_id == "1"


def test_call_by_number_refuses_unknown_and_tickets_at_a_counter(center: Center) -> None:
    center.issue("dat-dai", "none", at(0))
    center.next("1", at(1))
    for shown in ("1001", "9999", "B001"):
        with pytest.raises(DomainError) as refused:
            center.call_number("2", shown, at(2))
        assert refused.value.code == "unknown_ticket"


def test_transfer_keeps_the_number_and_the_place_by_issue_time(center: Center) -> None:
    early = center.issue("dat-dai", "none", at(0)).ticket
    later = center.issue("tu-phap", "none", at(5)).ticket
    center.next("1", at(6))
    moved = center.transfer("1", "tu-phap", at(7))
    assert early.state is TicketState.TRANSFERRED and early.transferred_to == moved.id
    assert moved.shown == "1001" and moved.area == "tu-phap" and moved.issued_at == at(0)
    assert moved.transferred_from == early.id
    assert center.next("2", at(8)) is moved
    assert center.next("2", at(9)) is later


def test_a_transferred_number_stays_held_in_the_area_it_left() -> None:
    small = CenterRules((Area("a", "Nhỏ", 1, 2), Area("b", "Khác", 1, 2)), (CounterSpec("1", "Quầy 1", ("a", "b")),),
                        HCM, time(0), QueuePolicy(), ("ok",), timedelta(seconds=60))
    center = Center(small, T0)
    center.issue("a", "none", at(0))
    center.next("1", at(1))
    moved = center.transfer("1", "b", at(2))
    assert center.issue("a", "none", at(3)).ticket.shown == "2", "1 is still in the hall, now waiting in b"
    with pytest.raises(DomainError):
        center.issue("a", "none", at(4))
    center.next("1", at(5))  # moved kept 1's issue time: it goes before a's new 2
    assert center.counters["1"].current is moved
    center.next("1", at(6))  # moved served: 1 is free in both areas
    assert center.issue("a", "none", at(7)).ticket.shown == "1"


def test_transfer_refuses_unknown_area_and_no_current_ticket(center: Center) -> None:
    with pytest.raises(DomainError) as idle:
        center.transfer("1", "tu-phap", at(0))
    assert idle.value.code == "no_current_ticket"
    center.issue("dat-dai", "none", at(0))
    center.next("1", at(1))
    with pytest.raises(DomainError) as unknown:
        center.transfer("1", "khong-co", at(2))
    assert unknown.value.code == "unknown_area"


def test_paused_counter_keeps_its_ticket_and_refuses_next_and_call(center: Center) -> None:
    ticket = center.issue("dat-dai", "none", at(0)).ticket
    center.issue("dat-dai", "none", at(0))
    center.next("1", at(1))
    center.pause("1", at(2))
    assert center.counters["1"].status is CounterStatus.PAUSED
    assert center.counters["1"].current is ticket
    with pytest.raises(DomainError) as paused_next:
        center.next("1", at(3))
    with pytest.raises(DomainError) as paused_call:
        center.call_number("1", "1002", at(3))
    assert paused_next.value.code == paused_call.value.code == "counter_paused"
    center.finish("1", at(4))
    center.resume("1", at(5))
    assert center.next("1", at(6)) is not None


def test_unknown_counter_is_refused(center: Center) -> None:
    with pytest.raises(DomainError) as refused:
        center.next("99", T0)
    assert refused.value.code == "unknown_counter"


def rate_setup(center: Center) -> str:
    center.issue("dat-dai", "none", at(0))
    center.next("1", at(1))
    return center.finish("1", at(2)).id


def test_rating_within_the_window_is_recorded_once(center: Center) -> None:
    ticket_id = rate_setup(center)
    ticket = center.ticket(ticket_id)
    center.rate("1", "r1", ticket, "satisfied", at(2.5), at(2.5))
    assert ticket is not None and ticket.rating == "satisfied"
    assert center.counters["1"].awaiting_rating is None
    with pytest.raises(DomainError) as again:
        center.rate("1", "r2", ticket, "dissatisfied", at(2.6), at(2.6))
    assert again.value.code == "already_rated"


@pytest.mark.parametrize(
    ("counter", "level", "pressed", "now", "code"),
    [
        ("2", "satisfied", 2.5, 2.5, "wrong_counter"),
        ("1", "great", 2.5, 2.5, "bad_request"),
        ("1", "satisfied", 5, 5, "rating_closed"),
        ("1", "satisfied", 1.5, 60, "rating_closed"),  # pressed before it was served
        ("1", "satisfied", 61, 60, "rating_closed"),  # pressed "in the future"
    ],
)
def test_rating_refusals(center: Center, counter: str, level: str, pressed: float, now: float, code: str) -> None:
    ticket = center.ticket(rate_setup(center))
    with pytest.raises(DomainError) as refused:
        center.rate(counter, "r", ticket, level, at(pressed), at(now))
    assert refused.value.code == code


def test_late_rating_from_an_outbox_counts_when_pressed_inside_the_window(center: Center) -> None:
    ticket = center.ticket(rate_setup(center))
    center.rate("1", "r", ticket, "very_satisfied", at(3), at(90))
    assert ticket is not None and ticket.rating == "very_satisfied"


def test_rating_a_ticket_not_served_is_refused(center: Center) -> None:
    center.issue("dat-dai", "none", at(0))
    ticket = center.next("1", at(1))
    with pytest.raises(DomainError) as refused:
        center.rate("1", "r", ticket, "satisfied", at(1.5), at(1.5))
    assert refused.value.code == "not_served"
    with pytest.raises(DomainError) as unknown:
        center.rate("1", "r", None, "satisfied", at(1.5), at(1.5))
    assert unknown.value.code == "unknown_ticket"


def test_rating_windows_close_and_disarm_the_counter(center: Center) -> None:
    rate_setup(center)
    assert center.close_rating_windows(at(3)) == []
    closed = center.close_rating_windows(at(5))
    assert [c.id for c in closed] == ["1"]
    assert center.counters["1"].awaiting_rating is None


def test_service_day_of_a_moment() -> None:
    six = time(6, 0)
    assert service_day(datetime(2026, 11, 23, 5, 59, tzinfo=HCM), HCM, six).isoformat() == "2026-11-22"
    assert service_day(datetime(2026, 11, 23, 6, 0, tzinfo=HCM), HCM, six).isoformat() == "2026-11-23"
    assert service_day(datetime(2026, 11, 22, 17, 0, tzinfo=UTC), HCM, time(0)).isoformat() == "2026-11-23"


def test_changes_collect_what_to_store(center: Center) -> None:
    center.take_changes()
    ticket = center.issue("dat-dai", "none", at(0)).ticket
    changes = center.take_changes()
    assert list(changes.tickets) == [ticket.id]
    assert changes.cursors == {(center.day, "dat-dai"): 1001}
    assert [e.kind for e in changes.events] == ["issued"]
    center.next("1", at(1))
    changes = center.take_changes()
    assert list(changes.counters) == ["1"]
    assert [c.number for c in changes.calls] == ["1001"]
