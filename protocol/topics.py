"""Every MQTT topic of the contract, built and parsed in one place."""

from __future__ import annotations

import re
from dataclasses import dataclass

from protocol.errors import ConfigError

ID = re.compile(r"[a-z0-9-]+")
DEVICE_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # a kiosk or counter id in a topic
# Topics whose reading is remembered: each device sends on one or two, and asks for answers on as many. Made-up
# ones past the bound only clear what is remembered.
REMEMBERED_TOPICS = 4096
KIOSK, COUNTER, DEVICE, ADMIN, CONSOLE, WEB = "kiosk", "counter", "device", "admin", "console", "web"


@dataclass(frozen=True, slots=True)
class Inbound:
    """A parsed inbound topic: which device sent what kind of message."""

    kind: str  # "ticket_request", "command", "rating", "status", "admin", "console" or "web"
    # KIOSK, COUNTER, DEVICE (a status: any device), ADMIN (a center's manager's tool), CONSOLE (the staff's
    # web console, acting for counters) or WEB (the citizen web, asking for citizens' phones)
    device_kind: str
    device_id: str


class Topics:
    """Topic names under `qms/v1/<center_id>/`."""

    def __init__(self, center_id: str) -> None:
        if not ID.fullmatch(center_id):
            raise ConfigError(f"center id {center_id!r} must match [a-z0-9-]+")
        self.root = f"qms/v1/{center_id}"
        self._inbound: dict[str, Inbound | None] = {}

    def config(self) -> str:
        return f"{self.root}/config"

    def ticket_request(self, kiosk_id: str) -> str:
        return f"{self.root}/kiosk/{kiosk_id}/ticket/request"

    def ticket_response(self, kiosk_id: str) -> str:
        return f"{self.root}/kiosk/{kiosk_id}/ticket/response"

    def counter_command(self, counter_id: str) -> str:
        return f"{self.root}/counter/{counter_id}/command"

    def counter_command_response(self, counter_id: str) -> str:
        return f"{self.root}/counter/{counter_id}/command/response"

    def counter_rating(self, counter_id: str) -> str:
        return f"{self.root}/counter/{counter_id}/rating"

    def rating_ack(self, counter_id: str) -> str:
        return f"{self.root}/counter/{counter_id}/rating/ack"

    def counter_state(self, counter_id: str) -> str:
        return f"{self.root}/counter/{counter_id}/state"

    def board_state(self) -> str:
        return f"{self.root}/board/state"

    def board_call(self) -> str:
        return f"{self.root}/board/call"

    def device_status(self, device_id: str) -> str:
        return f"{self.root}/device/{device_id}/status"

    def server_status(self) -> str:
        return f"{self.root}/server/status"

    def admin_request(self, admin_id: str) -> str:
        """An extension: the center's manager's tools (`central_server void`), one broker user each."""
        return f"{self.root}/admin/{admin_id}/request"

    def admin_response(self, admin_id: str) -> str:
        return f"{self.root}/admin/{admin_id}/response"

    def console_request(self, console_id: str) -> str:
        """An extension: the staff console acts for a counter on behalf of its signed-in official."""
        return f"{self.root}/console/{console_id}/request"

    def console_response(self, console_id: str) -> str:
        return f"{self.root}/console/{console_id}/response"

    def floor(self) -> str:
        """An extension (retained): the manager's live floor, counters, areas, devices and the day's figures."""
        return f"{self.root}/floor"

    def web_request(self, web_id: str) -> str:
        """An extension: the citizen web looks tickets up by their token, and passes phone ratings on."""
        return f"{self.root}/web/{web_id}/request"

    def web_response(self, web_id: str) -> str:
        return f"{self.root}/web/{web_id}/response"

    def queue(self) -> str:
        """An extension (retained): each area's waiting tickets in call order with their estimates, for the
        citizen web only."""
        return f"{self.root}/queue"

    def server_subscriptions(self) -> list[str]:
        """The filters the central server listens on."""
        return [self.ticket_request("+"), self.counter_command("+"), self.counter_rating("+"), self.device_status("+"),
                self.admin_request("+"), self.console_request("+"), self.web_request("+")]

    def device_subtree(self, device_kind: str, device_id: str) -> str:
        """The prefix (with trailing slash) of every topic a device owns."""
        return f"{self.root}/{device_kind}/{device_id}/"

    def parse_inbound(self, topic: str) -> Inbound | None:
        """Which request a topic carries, or None for a topic the server does not serve (remembered: the server
        reads the topic of every request, and its Response Topic, with it)."""
        try:
            return self._inbound[topic]
        except KeyError:
            pass
        if len(self._inbound) >= REMEMBERED_TOPICS:
            self._inbound.clear()
        found = self._inbound[topic] = self._read_inbound(topic)
        return found

    def _read_inbound(self, topic: str) -> Inbound | None:
        if not topic.startswith(self.root + "/"):
            return None
        parts = topic[len(self.root) + 1 :].split("/")
        if len(parts) < 2 or not DEVICE_ID.fullmatch(parts[1]):
            return None
        match parts:
            case ["kiosk", device, "ticket", "request"]:
                return Inbound("ticket_request", KIOSK, device)
            case ["counter", device, "command"]:
                return Inbound("command", COUNTER, device)
            case ["counter", device, "rating"]:
                return Inbound("rating", COUNTER, device)
            case ["device", device, "status"]:
                return Inbound("status", DEVICE, device)
            case ["admin", device, "request"]:
                return Inbound("admin", ADMIN, device)
            case ["console", device, "request"]:
                return Inbound("console", CONSOLE, device)
            case ["web", device, "request"]:
                return Inbound("web", WEB, device)
        return None

    def is_server_inbound(self, topic: str) -> bool:
        return self.parse_inbound(topic) is not None

    def response_allowed(self, inbound: Inbound, response_topic: str) -> bool:
        """A Response Topic must lie strictly under the asking device's own subtree.

        It may hold no wildcard, and may not be one of the topics the server listens on
        (a reply there would be read back as a new request).
        """
        subtree = self.device_subtree(inbound.device_kind, inbound.device_id)
        return (
            response_topic.startswith(subtree)
            and len(response_topic) > len(subtree)
            and "+" not in response_topic
            and "#" not in response_topic
            and "\x00" not in response_topic
            and not self.is_server_inbound(response_topic)
        )
