"""Topic names and what the server reads from an inbound topic: the console's (an extension, issue 15)."""

from __future__ import annotations

from protocol.topics import CONSOLE, Inbound, Topics

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
