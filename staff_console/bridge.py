"""The console's side of MQTT: it reads the center's retained state into `Live`, acts on counters for the
signed-in official, and reads and changes the live configuration for a signed-in administrator, through its own
topic (`console/<id>/request`, an extension of the contract)."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from protocol.errors import BadMessage
from protocol.link import Link, Message, RequestTimeout
from protocol.messages import MAX_PAYLOAD, ConfigAnswer, ConfigRequest, Refusal, iso, parse_object
from protocol.topics import Topics
from staff_console.live import Live
from staff_console.users import User

log = logging.getLogger(__name__)

TRY_S = 1.5  # one attempt; then the same request again (the server answers a retry with its first answer)
GIVE_UP_S = 4.5  # the official is told the center did not answer; the request expires at the broker by then
NO_ANSWER_VI = "Máy chủ chưa trả lời. Vui lòng thử lại; nếu vẫn không được, báo cho quản lý trung tâm."
NOT_CONNECTED_VI = "Mất kết nối với máy chủ trung tâm: lệnh chưa được gửi. Vui lòng thử lại sau giây lát."
BAD_ANSWER_VI = "Máy chủ trả lời không hợp lệ. Vui lòng báo cho quản lý trung tâm."
TOO_LARGE_VI = "Cấu hình quá lớn để gửi tới máy chủ: hãy rút ngắn tên hoặc bớt lĩnh vực, quầy."


@dataclass(slots=True)
class Shown:
    """A page's view as its streams last sent it: serialized once for every stream of that page."""

    live_version: int  # Live.version it was last checked against
    content: dict[str, Any]  # the view without its version: a change elsewhere in the center leaves it equal
    version: int  # Live.version when the content last changed: what a stream compares
    body: str  # the JSON of the view, without "now" (added per event: the page counts waits by it)


class Refused(Exception):
    """The action was not done; `message` says why, in Vietnamese, for the official (`code`: the server's error
    code, or the console's own: not_connected, no_answer, bad_answer, too_large)."""

    def __init__(self, message: str, code: str = "", detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.detail = detail  # the server's technical reason, in English (a config the server found invalid)


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

    def act(self, counter_id: str, official: User, action: str, extra: Mapping[str, str | bool]) -> dict[str, Any]:
        """Do `action` at the counter for `official` (`extra`: its fields, as ConsoleRequest names them); the
        server's answer, or Refused with why not."""
        body = {"v": 1, "request_id": uuid.uuid4().hex, "counter": counter_id, "official": official.username,
                "official_name": official.full_name, "action": action, **extra}
        what = f"{action} at counter {counter_id} for {official.username}"
        return _answer(self._request(json.dumps(body, ensure_ascii=False).encode(), what), what)

    def config(self, official: User, action: str, *, base_version: int | None = None,
               document: Mapping[str, Any] | None = None, version: int | None = None) -> ConfigAnswer:
        """An administrator's request about the live configuration (one of CONFIG_ACTIONS): the server's
        ConfigAnswer, or Refused with why not (`code` the server's: config_conflict, config_invalid, ...)."""
        request = ConfigRequest(uuid.uuid4().hex, official.username, official.full_name, action, base_version,
                                document, version)
        payload = request.to_wire()
        what = f"{action} for {official.username}"
        if len(payload) > MAX_PAYLOAD:
            log.warning("%s: the request is %d bytes, over %d", what, len(payload), MAX_PAYLOAD)
            raise Refused(TOO_LARGE_VI, "too_large")
        try:
            answer = ConfigAnswer.from_wire(self._request(payload, what))
        except BadMessage as exc:
            log.warning("%s: the answer does not decode: %s", what, exc)
            raise Refused(BAD_ANSWER_VI, "bad_answer") from None
        if isinstance(answer, Refusal):
            error = answer.error
            log.info("%s: refused (%s: %s)", what, error.code, error.detail or "")
            raise Refused(error.message or BAD_ANSWER_VI, error.code, error.detail or "")
        return answer

    def _request(self, payload: bytes, what: str) -> bytes:
        """Send a request on the console's topic and return the answer's payload, or Refused.

        Blocking (a worker thread): tried again with the same request_id every TRY_S until GIVE_UP_S. Each try
        expires at the broker and in the server's inbox by the time the console gives up (whole seconds, rounded
        down), and none is sent while the broker is not reached, so nothing is done after the official was told
        it was not."""
        give_up = time.monotonic() + GIVE_UP_S
        while (left := give_up - time.monotonic()) >= 1:
            if not self._link.ready.is_set():  # paho would send it once reconnected, long after the official was told
                raise Refused(NOT_CONNECTED_VI, "not_connected")
            try:
                reply = self._link.request(self._request_topic, payload, response_topic=self._response_topic,
                                           timeout_s=min(TRY_S, left), expiry_s=math.floor(left))
            except RequestTimeout:
                continue
            return reply.payload
        log.warning("%s: no answer within %g s", what, GIVE_UP_S)
        raise Refused(NO_ANSWER_VI, "no_answer")


def _answer(payload: bytes, what: str) -> dict[str, Any]:
    try:
        answer = parse_object(payload)
    except BadMessage:
        raise Refused(BAD_ANSWER_VI, "bad_answer") from None
    if answer.get("ok") is True:
        log.info("%s: done", what)
        return answer
    error = answer.get("error")
    message = error.get("message") if isinstance(error, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    log.info("%s: refused (%s)", what, code)
    raise Refused(message if isinstance(message, str) and message else BAD_ANSWER_VI, str(code or ""))
