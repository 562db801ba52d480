"""The compact set of the day's answered requests holds exactly what a set would, across its merges."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from central_server import answered as answered_module
from central_server.answered import MIN_MERGE, AnsweredHashes
from tests.central_server.test_service import Clock, Rig


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


def test_a_hash_said_absent_is_kept_once_and_one_not_said_is_looked_for() -> None:
    answered = AnsweredHashes([10, 20, 30])
    answered.add(25, absent=True)
    answered.add(25, absent=True)  # while it waits in the set, a second add of it stays one
    assert 25 in answered and len(answered) == 4
    answered.add(20)  # not said absent: found among the stored ones, not added again
    assert len(answered) == 4


def test_a_request_that_cancels_itself_is_kept_once_across_a_merge(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Acting on a kiosk's cancel whose `cancels` is its own id keeps that id's answer first; when that merged the
    set into the sorted array, the request's own keeping must find it there, not add it twice."""
    monkeypatch.setattr(answered_module, "MIN_MERGE", 1)  # every add merges
    rig = Rig(tmp_path, Clock())
    rig.ticket("dat-dai", request_id="t-1")
    topics = rig.topics
    body = {"v": 1, "request_id": "c-1", "cancels": "c-1", "reason": "unprinted"}
    rig.send(topics.ticket_request("k1"), json.dumps(body).encode(), topics.ticket_response("k1"))
    kept = rig.service._answered
    assert hash(("kiosk/k1", "c-1")) in kept and hash(("kiosk/k1", "t-1")) in kept
    assert len(kept) == 2
