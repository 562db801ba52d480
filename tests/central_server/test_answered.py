"""The compact set of the day's answered requests holds exactly what a set would, across its merges."""

from __future__ import annotations

import random

from central_server.answered import MIN_MERGE, AnsweredHashes


def test_it_holds_what_a_set_holds_across_merges() -> None:
    rng = random.Random(20)
    kept: set[int] = set()
    answered = AnsweredHashes()
    assert not answered and 5 not in answered
    for i in range(3 * MIN_MERGE + 17):
        key = hash((f"kiosk/k{i % 7}", f"{rng.getrandbits(128):032x}"))
        answered.add(key)
        kept.add(key)
        if i % 1000 == 0:
            answered.add(key)  # an answer kept twice counts once
    assert len(answered) == len(kept)
    assert all(key in answered for key in kept)
    others = [rng.randrange(-2**63, 2**63) for _ in range(5000)]
    assert [key in answered for key in others] == [key in kept for key in others]
    assert "a string" not in answered


def test_it_starts_from_the_stored_answers_extremes_included() -> None:
    stored = [2**63 - 1, -2**63, 0, -1, 1]  # the day's stored answers: no two alike
    answered = AnsweredHashes(stored)
    assert len(answered) == 5 and all(key in answered for key in stored)
    assert 2 not in answered and -2 not in answered


def test_a_hash_said_absent_is_not_looked_for_and_still_kept_once() -> None:
    answered = AnsweredHashes([10, 20, 30])
    answered.add(25, absent=True)
    answered.add(25, absent=True)  # a second add of it in one batch (a cancelled request's id) stays one
    assert 25 in answered and len(answered) == 4
    answered.add(20)  # not said absent: found among the stored ones, not added again
    assert len(answered) == 4
