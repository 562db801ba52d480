"""The kiosk's journal: what a stop leaves behind is cancelled when the kiosk comes back."""

from __future__ import annotations

from pathlib import Path

from kiosk.journal import Cancel, Journal


def test_what_a_stop_leaves_behind_is_cancelled_with_its_reason(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.db")
    journal.asked("printed")
    journal.answered("printed", "t1")
    journal.done_ticket("t1")
    journal.asked("refused")
    journal.done("refused")
    journal.asked("in-flight")  # sent, no answer yet
    journal.asked("on-its-way")
    journal.answered("on-its-way", "t2")  # answered, not yet printed
    journal.asked("given-up")
    journal.give_up("given-up")
    assert journal.to_cancel() == [Cancel("given-up", "unanswered")]
    journal.close()  # the kiosk stops (or loses its power) here
    again = Journal(tmp_path / "journal.db")
    assert again.to_cancel() == [Cancel("in-flight", "unanswered"), Cancel("on-its-way", "unprinted"),
                                 Cancel("given-up", "unanswered")]
    again.done("on-its-way")
    assert [c.request_id for c in again.to_cancel()] == ["in-flight", "given-up"]
    assert again.state("printed") is None, "what was done is forgotten at the next start"


def test_a_retried_request_is_asked_once_and_an_answer_after_giving_up_changes_nothing(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.db")
    journal.asked("r1")
    journal.give_up("r1")
    journal.asked("r1")
    journal.answered("r1", "t1")  # too late: it is being cancelled
    assert journal.to_cancel() == [Cancel("r1", "unanswered")]
