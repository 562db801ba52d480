"""The console's side of MQTT: it reads the center's retained state into `Live`, and acts on counters for the
signed-in official through its own topic (`console/<id>/request`, an extension of the contract)."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from protocol.errors import BadMessage
from protocol.link import Link, Message, RequestTimeout
from protocol.messages import iso, parse_object
from protocol.topics import Topics
from staff_console.live import Live
from staff_console.users import User

log = logging.getLogger(__name__)

TRY_S = 1.5  # one attempt; then the same request again (the server answers a retry with its first answer)
GIVE_UP_S = 4.5  # the official is told the center did not answer; the request expires at the broker by then
NO_ANSWER_VI = "Máy chủ chưa trả lời. Vui lòng thử lại; nếu vẫn không được, báo cho quản lý trung tâm."
NOT_CONNECTED_VI = "Mất kết nối với máy chủ trung tâm: lệnh chưa được gửi. Vui lòng thử lại sau giây lát."
BAD_ANSWER_VI = "Máy chủ trả lời không hợp lệ. Vui lòng báo cho quản lý trung tâm."


@dataclass(slots=True)
class Shown:
    """A page's view as its streams last sent it: serialized once for every stream of that page."""

    live_version: int  # Live.version it was last checked against
    content: dict[str, Any]  # the view without its version: a change elsewhere in the center leaves it equal
    version: int  # Live.version when the content last changed: what a stream compares
    body: str  # the JSON of the view, without "now" (added per event: the page counts waits by it)


class Refused(Exception):
    """The action was not done; `message` says why, in Vietnamese, for the official."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class Bridge:
    def __init__(self, link: Link, topics: Topics, console_id: str, woken: Callable[[], None],
                 clock: Callable[[], datetime]) -> None:
        """`clock`: the center's time, which the pages count waits by (the real one in production)."""
        self._link = link
        self._clock = clock
        self._topics = topics
        self._request_topic = topics.console_request(console_id)
        self._response_topic = topics.console_response(console_id)
        self._live = Live(topics)
        self._lock = threading.Lock()
        self._shown: dict[str, Shown] = {}
        self._woken = woken
        for topic_filter in (topics.config(), topics.floor(), topics.counter_state("+"),
                             topics.device_status("+"), topics.server_status()):
            link.subscribe(topic_filter, self._on_message)
        link.expect_replies(self._response_topic)

    def start(self) -> None:
        self._link.start()

    def stop(self) -> None:
        self._link.stop()

    def _on_message(self, message: Message) -> None:  # paho's thread
        with self._lock:
            changed = self._live.take(message.topic, message.payload)
            changed = self._live.set_connected(self._link.ready.is_set()) or changed
        if changed:
            self._woken()

    def follow_connection(self) -> None:
        """Called every second: the pages say when the console has lost the broker."""
        with self._lock:
            changed = self._live.set_connected(self._link.ready.is_set())
        if changed:
            self._woken()

    def counter_view(self, counter_id: str) -> dict[str, Any]:
        with self._lock:
            return {**self._live.counter_view(counter_id), "now": iso(self._clock())}

    def floor_view(self) -> dict[str, Any]:
        with self._lock:
            return {**self._live.floor_view(), "now": iso(self._clock())}

    def counter_event(self, counter_id: str) -> tuple[int, str]:
        """What a counter page's stream sends, as (version, JSON): the version changes only when the view does."""
        return self._event(f"quay/{counter_id}", lambda: self._live.counter_view(counter_id))

    def floor_event(self) -> tuple[int, str]:
        """What the floor's stream sends, as (version, JSON)."""
        return self._event("san", self._live.floor_view)

    def _event(self, page: str, build: Callable[[], dict[str, Any]]) -> tuple[int, str]:
        """Built and serialized once per change for all the streams of `page`, not once per stream; a change that
        leaves the page's view equal (another counter's state, for a counter page) sends nothing."""
        with self._lock:
            version = self._live.version
            shown = self._shown.get(page)
            if shown is None or shown.live_version != version:
                view = build()
                content = {key: value for key, value in view.items() if key != "version"}
                if shown is not None and shown.content == content:
                    shown.live_version = version
                else:
                    shown = Shown(version, content, version, json.dumps(view, ensure_ascii=False))
                    if view.get("known", True):  # a made-up counter id in a URL is not kept
                        self._shown[page] = shown
            now = json.dumps(iso(self._clock()))
        return shown.version, f'{shown.body[:-1]}, "now": {now}}}'

    def names(self) -> dict[str, Any]:
        with self._lock:
            return self._live.names()

    def act(self, counter_id: str, official: User, action: str, extra: dict[str, str]) -> dict[str, Any]:
        """Do `action` at the counter for `official`; the server's answer, or Refused with why not.

        Blocking (a worker thread): tried again with the same request_id every TRY_S until GIVE_UP_S. Each try
        expires at the broker and in the server's inbox by the time the console gives up (whole seconds, rounded
        down), and none is sent while the broker is not reached, so no action is done after the official was
        told it was not."""
        body = {"v": 1, "request_id": uuid.uuid4().hex, "counter": counter_id, "official": official.username,
                "official_name": official.full_name, "action": action, **extra}
        payload = json.dumps(body, ensure_ascii=False).encode()
        give_up = time.monotonic() + GIVE_UP_S
        while (left := give_up - time.monotonic()) >= 1:
            if not self._link.ready.is_set():  # paho would send it once reconnected, long after the official was told
                raise Refused(NOT_CONNECTED_VI, "not_connected")
            try:
                reply = self._link.request(self._request_topic, payload, response_topic=self._response_topic,
                                           timeout_s=min(TRY_S, left), expiry_s=math.floor(left))
            except RequestTimeout:
                continue
            return _answer(reply.payload, action, counter_id, official)
        log.warning("%s at counter %s for %s: no answer within %g s", action, counter_id, official.username, GIVE_UP_S)
        raise Refused(NO_ANSWER_VI, "no_answer")


def _answer(payload: bytes, action: str, counter_id: str, official: User) -> dict[str, Any]:
    try:
        answer = parse_object(payload)
    except BadMessage:
        raise Refused(BAD_ANSWER_VI, "bad_answer") from None
    if answer.get("ok") is True:
        log.info("%s at counter %s by %s: done", action, counter_id, official.username)
        return answer
    error = answer.get("error")
    message = error.get("message") if isinstance(error, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    log.info("%s at counter %s by %s: refused (%s)", action, counter_id, official.username, code)
    raise Refused(message if isinstance(message, str) and message else BAD_ANSWER_VI, str(code or ""))
