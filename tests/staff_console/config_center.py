"""A stand-in for the server's side of the console's config requests (issue 17), for the console's tests: it keeps
the versions of a live document in memory and answers `config_show`, `config_history`, `config_change` and
`config_restore` as the contract says, validating a change as `--check` validates a file
(`central_server.config.with_document`) and saying what changed (`central_server.live_config.changes`).

Counter actions get the plain "done" answer. `refuse` makes the next config change or restore refused with that
code (e.g. `config_refused`, as the server refuses a valid change the live state forbids)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from central_server.config import CenterConfig, load, with_document
from central_server.live_config import changes
from protocol.errors import ConfigError
from protocol.link import Message
from protocol.messages import (
    CONFIG_ACTIONS,
    ConfigAnswer,
    ConfigRequest,
    ConfigVersion,
    ErrorInfo,
    Refusal,
    decode,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "firmware_configs" / "center.example.toml"
REFUSED_VI = {
    "config_conflict": "Cấu hình vừa được người khác thay đổi. Vui lòng tải lại trang rồi làm lại.",
    "config_refused": "Không thể thay đổi lúc này: lĩnh vực vẫn còn công dân đang chờ.",
    "no_change": "Cấu hình không có gì thay đổi.",
    "unknown_version": "Không có phiên bản này.",
}


class ConfigCenter:
    """Answers a console's requests (the FakeLink's `answer`): config ones as the server does, others "done"."""

    def __init__(self, path: Path = EXAMPLE) -> None:
        self.config: CenterConfig = load(path, on_this_host=False)
        first = ConfigVersion(1, datetime.now(UTC), "file", path.name, "")
        self.versions: list[tuple[ConfigVersion, dict[str, Any]]] = [(first, self.config.document)]
        self.asked: list[dict[str, Any]] = []
        self.answered: dict[str, bytes] = {}
        self.refuse: str | None = None
        self.silent = False  # no answer at all (a stalled server)
        self._lock = threading.Lock()

    @property
    def current(self) -> tuple[ConfigVersion, dict[str, Any]]:
        return self.versions[-1]

    @property
    def document(self) -> dict[str, Any]:
        return self.versions[-1][1]

    def __call__(self, message: Message) -> bytes | None:
        body = json.loads(message.payload)
        with self._lock:
            self.asked.append(body)
            if self.silent:
                return None
            if body.get("action") not in CONFIG_ACTIONS:
                return json.dumps({"v": 1, "request_id": body["request_id"], "ok": True, "ticket": None,
                                   "status": "idle"}).encode()
            if body["request_id"] in self.answered:
                return self.answered[body["request_id"]]
            request = ConfigRequest.from_body(decode(message.payload))
            answer = self._answer(request)
            if request.action in ("config_change", "config_restore"):
                self.answered[request.request_id] = answer
            return answer

    def _answer(self, request: ConfigRequest) -> bytes:
        current, document = self.current
        if request.action == "config_show":
            return ConfigAnswer(request.request_id, current, document).to_wire()
        if request.action == "config_history":
            older = tuple(version for version, _ in reversed(self.versions[:-1]))
            return ConfigAnswer(request.request_id, current, history=older).to_wire()
        if self.refuse is not None:
            code, self.refuse = self.refuse, None
            return self._refusal(request, code)
        if request.base_version != current.version:
            return self._refusal(request, "config_conflict")
        restored_from = None
        if request.action == "config_restore":
            old = next((d for v, d in self.versions if v.version == request.version), None)
            if old is None:
                return self._refusal(request, "unknown_version")
            new, restored_from = old, request.version
        else:
            new = json.loads(json.dumps(request.document))
        if new == document:
            return self._refusal(request, "no_change")
        try:
            with_document(self.config, new)
        except ConfigError as exc:
            return Refusal(request.request_id, ErrorInfo("config_invalid", exc.vietnamese or "Cấu hình không hợp lệ.",
                                                         str(exc))).to_wire()
        version = ConfigVersion(current.version + 1, datetime.now(UTC),
                                "restore" if restored_from is not None else "console", request.official,
                                request.official_name, changes(document, new), restored_from)
        self.versions.append((version, new))
        return ConfigAnswer(request.request_id, version, new).to_wire()

    def _refusal(self, request: ConfigRequest, code: str) -> bytes:
        return Refusal(request.request_id, ErrorInfo(code, REFUSED_VI.get(code, "Không thực hiện được."),
                                                     f"refused: {code}")).to_wire()

    def retained_config(self, center_id: str) -> bytes:
        """The retained `config` the server would publish for the current version."""
        from central_server.config import config_message

        whole = with_document(self.config, self.document)
        message = config_message(whole)
        body = json.loads(message.to_wire())
        body["center"]["id"] = center_id
        return json.dumps(body, ensure_ascii=False).encode()
