"""Topic names and what the server reads from an inbound topic: the console's (an extension, issue 15)."""

from __future__ import annotations

from protocol.topics import CONSOLE, REMEMBERED_TOPICS, Inbound, Topics

TOPICS = Topics("rach-gia")


def test_the_console_topics_lie_under_the_center() -> None:
    assert TOPICS.console_request("console-1") == "qms/v1/rach-gia/console/console-1/request"
    assert TOPICS.console_response("console-1") == "qms/v1/rach-gia/console/console-1/response"
    assert TOPICS.floor() == "qms/v1/rach-gia/floor"


def test_the_server_listens_to_the_consoles_requests() -> None:
    assert "qms/v1/rach-gia/console/+/request" in TOPICS.server_subscriptions()
    assert TOPICS.parse_inbound("qms/v1/rach-gia/console/console-1/request") == Inbound("console", CONSOLE,
                                                                                          "console-1")
    assert TOPICS.parse_inbound("qms/v1/rach-gia/console/console-1/response") is None
    assert TOPICS.parse_inbound("qms/v1/rach-gia/floor") is None


def test_a_consoles_response_topic_must_lie_strictly_under_its_own_subtree() -> None:
    inbound = Inbound("console", CONSOLE, "console-1")
    assert TOPICS.response_allowed(inbound, TOPICS.console_response("console-1"))
    assert not TOPICS.response_allowed(inbound, "qms/v1/rach-gia/console/console-1/")
    assert not TOPICS.response_allowed(inbound, TOPICS.console_response("console-2"))
    assert not TOPICS.response_allowed(inbound, "qms/v1/rach-gia/counter/1/command/response")
    assert not TOPICS.response_allowed(inbound, TOPICS.console_request("console-1"))  # it would read it back
    assert not TOPICS.response_allowed(inbound, "qms/v1/rach-gia/console/console-1/+")


def test_what_is_remembered_of_topics_read_is_bounded_and_reads_the_same() -> None:
    topics = Topics("c1")
    made_up = [f"qms/v1/c1/kiosk/k{n}/ticket/request" for n in range(REMEMBERED_TOPICS + 10)]
    for topic in made_up:
        assert topics.parse_inbound(topic) == Inbound("ticket_request", "kiosk", topic.split("/")[4])
    assert len(topics._inbound) <= REMEMBERED_TOPICS
    assert topics.parse_inbound(made_up[0]) == Inbound("ticket_request", "kiosk", "k0")
    assert topics.parse_inbound("qms/v1/c1/kiosk/k0/ticket/nothing") is None
    assert topics.parse_inbound("qms/v1/c1/kiosk/k0/ticket/nothing") is None
