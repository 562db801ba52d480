"""A scanned dossier code becomes a `dossier` counter command, sent, answered and cancelled as a key's command is:
the flow with its events, then the agent in-process on a `FakeLink` with a `FakeScanner`."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from devkit.scanner_keys import FakeScanner
from devkit.terminal_config import example_config
from protocol.link import FakeLink, Message
from protocol.messages import Cancellation, CommandDone, ErrorInfo, Refusal, TicketView
from rating_terminal.agent import TerminalAgent
from rating_terminal.config import load
from rating_terminal.flow import (
    CommandAnswered,
    ConfigReceived,
    ConnectionChanged,
    Scanned,
    SendCommand,
    Signal,
    TerminalFlow,
)
from rating_terminal.hardware import FakeTerminal
from rating_terminal.model import Feedback, Key, KeyPressed
from rating_terminal.outbox import Outbox
from tests.harness import until
from tests.rating_terminal.test_agent import ZONE, terminal_running
from tests.rating_terminal.test_flow import LEVELS, T0

CODE = "000.00.04.H12-261202-0001"
TICKET = TicketView("t2", "1002", "dat-dai", "Đất đai", T0, "none", "called", "1", dossiers=(CODE,))


@pytest.fixture
def flow() -> TerminalFlow:
    ids = (f"id-{n}" for n in itertools.count(1))
    terminal = TerminalFlow(lambda: next(ids), T0, buttons=3)
    terminal.handle(ConfigReceived(("dat-dai", "xay-dung", "tu-phap"), LEVELS))
    terminal.handle(ConnectionChanged(True))
    return terminal


def test_a_scan_sends_a_dossier_command_and_its_answer_lights_the_feedback(flow: TerminalFlow) -> None:
    assert flow.handle(Scanned(CODE)) == [SendCommand("id-1", "dossier", code=CODE), Signal(Feedback.BUSY)]
    assert flow.handle(CommandAnswered("id-1", ok=True)) == [Signal(Feedback.OK)]
    flow.handle(Scanned("not a code"))
    assert flow.handle(CommandAnswered("id-2", ok=False)) == [Signal(Feedback.FAILED)]


def test_a_scan_offline_or_while_a_command_is_on_its_way_fails_at_once(flow: TerminalFlow) -> None:
    flow.handle(KeyPressed(Key.NEXT))
    assert flow.handle(Scanned(CODE)) == [Signal(Feedback.FAILED)], "one command at a time"
    flow.handle(CommandAnswered("id-1", ok=True))
    flow.handle(ConnectionChanged(False))
    assert flow.handle(Scanned(CODE)) == [Signal(Feedback.FAILED)], "never sent later"
    flow.handle(ConnectionChanged(True))
    assert flow.handle(Scanned(CODE))[0] == SendCommand("id-2", "dossier", code=CODE)


def test_a_scan_between_choosing_a_transfers_area_and_sending_it_forgets_the_choice(flow: TerminalFlow) -> None:
    flow.handle(KeyPressed(Key.TRANSFER))  # the choice moves on from the first area to the second
    flow.handle(Scanned(CODE))
    flow.handle(CommandAnswered("id-1", ok=True))
    assert flow.handle(KeyPressed(Key.TRANSFER, long=True))[0] == SendCommand("id-2", "transfer", "dat-dai")


def answering(refuse: str | None = None, *, silent_first: bool = False) -> Callable[[Message], bytes | None]:
    """The server's side: each dossier command attached (or refused with `refuse`); `silent_first`: the first
    dossier command gets no answer (the terminal cancels it) and a cancel is answered "cancelled"."""
    asked: list[str] = []

    def answer(request: Message) -> bytes | None:
        body = json.loads(request.payload)
        if body["action"] == "cancel":
            return Cancellation(body["request_id"], cancelled=True).to_wire()
        asked.append(body["request_id"])
        if silent_first and len(asked) == 1:
            return None
        if refuse is not None:
            return Refusal(body["request_id"], ErrorInfo(refuse, "Mã hồ sơ không đúng định dạng quốc gia")).to_wire()
        return CommandDone(body["request_id"], TICKET, "serving").to_wire()

    return answer


@pytest.mark.parametrize(("refuse", "feedback", "logged"), [
    (None, Feedback.OK, f"dossier {CODE!r} attached to ticket t2 (1002), which has 1"),
    ("bad_dossier", Feedback.FAILED, f"dossier {CODE!r} refused: bad_dossier"),
])
def test_the_agent_sends_what_the_scanner_read_and_signals_the_answer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, refuse: str | None, feedback: Feedback, logged: str
) -> None:
    link, scanner = FakeLink(answering(refuse)), FakeScanner()
    terminal, hardware = terminal_on(link, tmp_path, scanner=scanner)
    with caplog.at_level(logging.INFO, logger="rating_terminal.agent"), terminal_running(terminal, link):
        scanner.scan(CODE)
        until(lambda: feedback in hardware.signals)
    sent = [json.loads(m.payload) for m in link.sent(terminal.topics.counter_command("1"))]
    assert [(body["action"], body["code"]) for body in sent] == [("dossier", CODE)]
    assert logged in caplog.messages
    assert scanner.closed, "the agent closes its scanner with the rest of its hardware"


def test_a_dossier_command_without_an_answer_is_cancelled_before_the_next_goes(tmp_path: Path) -> None:
    link, scanner = FakeLink(answering(silent_first=True)), FakeScanner()
    terminal, hardware = terminal_on(link, tmp_path, scanner=scanner)
    with terminal_running(terminal, link):
        scanner.scan(CODE)
        until(lambda: Feedback.FAILED in hardware.signals, timeout_s=10)
        scanner.scan(CODE)
        until(lambda: Feedback.OK in hardware.signals, timeout_s=10)
    sent = [json.loads(m.payload) for m in link.sent(terminal.topics.counter_command("1"))]
    assert [body["action"] for body in sent] == ["dossier", "cancel", "dossier"]
    assert sent[1]["cancels"] == sent[0]["request_id"]


def terminal_on(link: FakeLink, tmp_path: Path, scanner: FakeScanner) -> tuple[TerminalAgent, FakeTerminal]:
    path = tmp_path / "counter.toml"
    path.write_text(example_config("1", "rach-gia", tmp_path / "outbox.db", "mqtt://127.0.0.1:1883"), encoding="utf-8")
    config = load(path)
    holder: list[TerminalAgent] = []
    hardware = FakeTerminal(lambda event: holder[0].press(event))
    holder.append(TerminalAgent(config, link, hardware, Outbox(config.outbox), clock=lambda: datetime.now(ZONE),
                                scanner=scanner))
    return holder[0], hardware
