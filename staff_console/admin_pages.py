"""The administrator's pages (`/quan-tri`): the live configuration shown and changed through plain forms (POST,
then a redirect; no script needed), its history with "Khôi phục phiên bản này", and its download as TOML.

Thin: each route asks the server for the live document (`config_show`), lets `admin.py` turn the form into the
new document (or say which fields are wrong), and sends it (`config_change`) naming the version the page showed.
What the server refuses is said at the top of the page in its Vietnamese words, the form's values kept.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from central_server.config import MAX_NOTICE
from central_server.config_toml import to_toml
from central_server.live_config import changes
from protocol.agent import AGENT_ZONE
from protocol.messages import RATING_LABELS, ConfigAnswer
from staff_console import admin
from staff_console.accounts import Session
from staff_console.bridge import Bridge, Refused
from staff_console.history import source_text, versions, when, who
from staff_console.users import Role, User
from ui.web import read_form

log = logging.getLogger(__name__)

ADMINS = {Role.ADMIN}
FOR_ADMINS_VI = "Trang này dành cho quản trị viên của trung tâm."
MAX_FIELDS = 200  # a counter's form has a checkbox per area
MAX_BODY = 16 * 1024
CONFLICT_VI = ("Trang đã tải lại cấu hình mới nhất (phiên bản {version}); các giá trị Ông/Bà vừa nhập vẫn còn trong "
               "ô: kiểm tra lại rồi bấm lưu lần nữa.")
UNCHANGED_VI = "Không có gì thay đổi: cấu hình vẫn như cũ."
BUTTONS_VI = ("Khi đổi thang đánh giá, các nút trên thiết bị đánh giá tại quầy được gán lại theo vị trí: nút tốt nhất "
              "là mức tốt nhất, nút kém nhất là mức kém nhất, các nút ở giữa nhận mức gần vị trí của nút nhất (nhớ "
              "đổi nhãn dán trên nút cho đúng).")  # rating_terminal/levels.py
STATUS = {"config_invalid": 400, "bad_request": 400, "config_conflict": 409, "config_refused": 409,
          "unknown_version": 404, "too_many_requests": 429, "too_large": 413}  # else 503: the center did not do it

Page = Callable[..., Response]
Handler = Callable[[Request, Session], Awaitable[Response]]
SignedIn = Callable[..., Callable[[Handler], Callable[[Request], Awaitable[Response]]]]
Edit = Callable[[Mapping[str, Any], admin.Fields, Request], admin.Document]


@dataclass(frozen=True, slots=True)
class Failed:
    """A form that was not applied: which one, what it said, what is wrong with each field."""

    form: str
    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    # The version the values were typed against, sent again with them: a change made meanwhile by someone else
    # is then a conflict, never overwritten (None: the page's current version, as after a conflict said).
    base: int | None = None


# Each form: its id on the page (where its values and errors show) and how it changes the document.
FORMS: dict[str, tuple[Callable[[Request], str], Edit]] = {
    "add_area": (lambda r: "new-area", lambda d, f, r: admin.add_area(d, f)),
    "edit_area": (lambda r: f"area:{r.path_params['area_id']}",
                  lambda d, f, r: admin.edit_area(d, r.path_params["area_id"], f)),
    "open_area": (lambda r: f"open:{r.path_params['area_id']}",
                  lambda d, f, r: admin.set_area_open(d, r.path_params["area_id"], f.get("open") == "1")),
    "add_counter": (lambda r: "new-counter", lambda d, f, r: admin.add_counter(d, f)),
    "edit_counter": (lambda r: f"counter:{r.path_params['counter_id']}",
                     lambda d, f, r: admin.edit_counter(d, r.path_params["counter_id"], f)),
    "notice": (lambda r: "notice", lambda d, f, r: admin.set_notice(d, f)),
    "levels": (lambda r: "levels", lambda d, f, r: admin.set_levels(d, f)),
    "hours": (lambda r: "hours", lambda d, f, r: admin.set_hours(d, f)),
}
SECTIONS = {"new-area": "them-linh-vuc", "new-counter": "them-quay", "notice": "thong-bao", "levels": "danh-gia",
            "hours": "gio-lam-viec"}  # where each form is on the overview (an area's and a counter's: its row)


def admin_routes(bridge: Bridge, page: Page, signed_in: SignedIn) -> list[Route]:
    admins = signed_in(ADMINS, refusal=FOR_ADMINS_VI, max_fields=MAX_FIELDS)

    def zone() -> ZoneInfo:
        try:
            return ZoneInfo(str(bridge.names().get("timezone") or AGENT_ZONE.key))
        except (ZoneInfoNotFoundError, ValueError):
            return AGENT_ZONE

    async def ask(user: User, action: str, **fields: Any) -> ConfigAnswer:
        answer: ConfigAnswer = await run_in_threadpool(lambda: bridge.config(user, action, **fields))
        return answer

    def unavailable(request: Request, session: Session, refused: Refused) -> Response:
        return page(request, "error.html", 503, session=session, title="Chưa đọc được cấu hình trung tâm",
                    message=refused.message)

    def overview_page(request: Request, session: Session, shown: ConfigAnswer, status: int = 200, *,
                      failed: Failed | None = None, refused: Refused | None = None, said: str = "") -> Response:
        current = shown.current
        return page(request, "admin.html", status, session=session, view=admin.overview(shown.document or {}),
                    current=current, at=when(current, zone()), source=source_text(current), who=who(current),
                    failed=failed, refused=refused, said=said, applied=_number(request.query_params.get("ap-dung")),
                    anchor=_anchor(failed.form) if failed else "", done_form=request.query_params.get("o", ""),
                    labels=RATING_LABELS, scales=admin.SCALES, buttons=BUTTONS_VI, day_names=admin.DAY_NAMES,
                    max_notice=MAX_NOTICE)

    @admins
    async def overview(request: Request, session: Session) -> Response:
        try:
            shown = await ask(session.user, "config_show")
        except Refused as refused:
            return unavailable(request, session, refused)
        said = UNCHANGED_VI if request.query_params.get("khong-doi") else ""
        return overview_page(request, session, shown, said=said)

    def change(kind: str) -> Callable[[Request], Awaitable[Response]]:
        form_of, edit = FORMS[kind]

        @admins
        async def handler(request: Request, session: Session) -> Response:
            form = await read_form(request, MAX_BODY, MAX_FIELDS)
            form_id = form_of(request)
            anchor = _anchor(form_id)
            kept = Failed(form_id, _values(form), base=_number(str(form.get("base_version", ""))))
            try:
                shown = await ask(session.user, "config_show")
            except Refused as refused:
                return unavailable(request, session, refused)
            try:
                document = edit(shown.document or {}, admin.Fields.of((k, str(v)) for k, v in form.multi_items()),
                                request)
            except admin.NotFound as missing:
                return page(request, "error.html", 404, session=session, title="Không tìm thấy",
                            message=missing.message)
            except admin.FormErrors as wrong:
                return overview_page(request, session, shown, 400,
                                     failed=Failed(form_id, kept.values, wrong.errors, kept.base))
            if document == shown.document:
                return RedirectResponse(f"/quan-tri?khong-doi=1&o={quote(form_id)}#{anchor}", status_code=303)
            try:
                answer = await ask(session.user, "config_change", document=document,
                                   base_version=shown.current.version if kept.base is None else kept.base)
            except Refused as refused:
                return await refused_page(request, session, shown, refused, kept)
            _log_change(session.user, answer, shown.document or {})
            return RedirectResponse(f"/quan-tri?ap-dung={answer.current.version}&o={quote(form_id)}#{anchor}",
                                    status_code=303)

        return handler

    async def refused_page(request: Request, session: Session, shown: ConfigAnswer, refused: Refused,
                           kept: Failed) -> Response:
        if refused.code == "config_conflict":  # show what the other change made, the values typed kept
            with contextlib.suppress(Refused):
                shown = await ask(session.user, "config_show")
            refused = Refused(f"{refused.message} {CONFLICT_VI.format(version=shown.current.version)}",
                              refused.code, refused.detail)
            kept = Failed(kept.form, kept.values, kept.errors)  # typed again against the version now shown
        return overview_page(request, session, shown, STATUS.get(refused.code, 503), failed=kept, refused=refused)

    async def history_page(request: Request, session: Session, status: int = 200,
                           refused: Refused | None = None) -> Response:
        try:
            shown = await ask(session.user, "config_show")
            found = await ask(session.user, "config_history")
        except Refused as failed:
            return unavailable(request, session, failed)
        rows = versions(found.current, found.history, shown.document or {}, zone())
        return page(request, "history.html", status, session=session, rows=rows, current=found.current,
                    refused=refused, applied=_number(request.query_params.get("ap-dung")),
                    restored=_number(request.query_params.get("khoi-phuc")))

    @admins
    async def history(request: Request, session: Session) -> Response:
        return await history_page(request, session)

    @admins
    async def restore(request: Request, session: Session) -> Response:
        """First the confirmation (the same POST without `confirm`), then the restore itself."""
        form = await read_form(request, MAX_BODY, MAX_FIELDS)
        version, base = _number(str(form.get("version", ""))), _number(str(form.get("base_version", "")))
        if version is None or base is None:
            return page(request, "error.html", 400, session=session, title="Yêu cầu không hợp lệ",
                        message="Thiếu số phiên bản cần khôi phục. Vui lòng mở lại trang lịch sử.")
        if form.get("confirm") != "1":
            try:
                found = await ask(session.user, "config_history")
            except Refused as refused:
                return unavailable(request, session, refused)
            chosen = next((v for v in (found.current, *found.history) if v.version == version), None)
            return page(request, "restore.html", session=session, version=version, base=base,
                        at=when(chosen, zone()) if chosen else "", source=source_text(chosen) if chosen else "",
                        who=who(chosen) if chosen else "")
        try:
            before = await ask(session.user, "config_show")
            answer = await ask(session.user, "config_restore", base_version=base, version=version)
        except Refused as refused:
            return await history_page(request, session, STATUS.get(refused.code, 503), refused)
        _log_change(session.user, answer, before.document or {}, version)
        return RedirectResponse(f"/quan-tri/lich-su?khoi-phuc={version}&ap-dung={answer.current.version}",
                                status_code=303)

    @admins
    async def download(request: Request, session: Session) -> Response:
        try:
            shown = await ask(session.user, "config_show")
        except Refused as refused:
            return unavailable(request, session, refused)
        current = shown.current
        by = f", {who(current)}" if who(current) else ""
        note = f"Phiên bản {current.version}, {when(current, zone())}, {source_text(current)}{by}."
        log.info("%s downloaded version %d of the configuration", session.user.username, current.version)
        return Response(to_toml(shown.document or {}, note=note), media_type="application/toml; charset=utf-8",
                        headers={"Content-Disposition":
                                 f'attachment; filename="cau-hinh-phien-ban-{current.version}.toml"'})

    return [
        Route("/quan-tri", overview, methods=["GET"]),
        Route("/quan-tri/linh-vuc", change("add_area"), methods=["POST"]),
        Route("/quan-tri/linh-vuc/{area_id}", change("edit_area"), methods=["POST"]),
        Route("/quan-tri/linh-vuc/{area_id}/tiep-nhan", change("open_area"), methods=["POST"]),
        Route("/quan-tri/quay", change("add_counter"), methods=["POST"]),
        Route("/quan-tri/quay/{counter_id}", change("edit_counter"), methods=["POST"]),
        Route("/quan-tri/thong-bao", change("notice"), methods=["POST"]),
        Route("/quan-tri/danh-gia", change("levels"), methods=["POST"]),
        Route("/quan-tri/gio-lam-viec", change("hours"), methods=["POST"]),
        Route("/quan-tri/lich-su", history, methods=["GET"]),
        Route("/quan-tri/khoi-phuc", restore, methods=["POST"]),
        Route("/quan-tri/tai-ve", download, methods=["GET"]),
    ]


def _log_change(user: User, answer: ConfigAnswer, before: Mapping[str, Any], restored: int | None = None) -> None:
    """One line per change: who, the version made, how many changes (the answer's, else counted here)."""
    count = len(answer.current.changes) or len(changes(before, answer.document or {}))
    what = f"restored version {restored} as" if restored is not None else "changed the configuration:"
    log.info("%s (%s) %s version %d, %d changes", user.username, user.full_name, what, answer.current.version, count)


def _anchor(form_id: str) -> str:
    """Where a form is on the overview: its row (an area's, a counter's) or its section."""
    kind, _, table_id = form_id.partition(":")
    if kind in ("area", "open"):
        return f"linh-vuc-{table_id}"
    if kind == "counter":
        return f"quay-{table_id}"
    return SECTIONS.get(kind, "")


def _values(form: FormData) -> dict[str, Any]:
    """A form's values as the page shows them again (a checkbox list as a list)."""
    values: dict[str, Any] = {}
    for key in form:
        if key in ("csrf", "base_version"):
            continue
        values[key] = [str(v) for v in form.getlist(key)] if key == "areas" else str(form.get(key, ""))[:2000]
    if "areas" not in values:
        values["areas"] = []
    return values


def _number(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and len(text) < 10 else None
