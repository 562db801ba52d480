"""The citizen's phone against the real citizen web, server and Mosquitto: a ticket followed in a real browser at a
phone's size from issue to call to rating; wrong, forged and finished tokens; a guesser and a flood refused while
an honest phone is served. Clients are told apart as behind the reverse proxy: by X-Forwarded-For, which the web
believes from 127.0.0.1 only (its trusted proxy)."""

from __future__ import annotations

import http.client
import json
import re
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from central_server.domain.tokens import make_token
from central_server.storage.port import TOKEN_KEY
from citizen_web import limits
from devkit.browser import chromium
from devkit.local_broker import LocalBroker
from devkit.phone_page import PhonePage
from tests.harness import (
    TIMEOUT,
    Device,
    ServerProcess,
    WebProcess,
    device,
    until,
    watching,
    write_center_config,
)

WRONG_TOKEN = "A" * 27
NOT_FOUND = "Không tìm thấy phiếu"


@pytest.fixture
def center_toml(tmp_path: Path, broker: LocalBroker, center_id: str) -> Path:
    """The tests' center, with its citizen web (the server publishes the `queue` for it)."""
    return write_center_config(tmp_path, broker, center_id, web_url="https://hang-doi.example.gov.vn")


@pytest.fixture
def web(tmp_path: Path, server: ServerProcess, broker: LocalBroker, center_id: str) -> Iterator[WebProcess]:
    process = WebProcess(tmp_path, broker, center_id)
    process.start()
    try:
        yield process
    finally:
        assert process.stop() == 0


@pytest.fixture
def tester(broker: LocalBroker, center_id: str) -> Iterator[Device]:
    with device(broker, center_id) as client:
        yield client


@pytest.fixture
def phone() -> Iterator[WebDriver]:
    with chromium(phone=True) as driver:
        yield driver


def get(web: WebProcess, path: str, client: str = "198.51.100.7") -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", web.port, timeout=TIMEOUT)
    try:
        connection.request("GET", path, headers={"X-Forwarded-For": client})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def issue(tester: Device, area: str = "dat-dai", kiosk: str = "k1") -> dict[str, Any]:
    answer = tester.ticket(area, kiosk)
    assert answer["ok"], answer
    ticket: dict[str, Any] = answer["ticket"]
    return ticket


def test_a_phone_follows_its_ticket_from_issue_to_call_to_rating(
        web: WebProcess, tester: Device, phone: WebDriver, tmp_path: Path, broker: LocalBroker, center_id: str) -> None:
    first, second, mine = issue(tester), issue(tester), issue(tester)
    assert first["id"] != mine["id"] and len(mine["token"]) == 27
    page = PhonePage(phone, TIMEOUT)
    until(lambda: get(web, f"/phieu/{mine['token']}")[0] == 200)  # the web has the center's queue
    page.open(f"{web.url}/phieu/{mine['token']}")
    page.wait_for_ahead(2)
    until(page.following)
    assert page.text("so") == mine["number"]
    assert page.status() == ("Trước Ông/Bà còn", "2", "người đang chờ")
    shots = [page.save(tmp_path / "phone-cho.png")]

    page.choose_notice(1)
    assert page.reminder() == ""
    assert tester.command("1", "next")["ticket"]["id"] == first["id"]
    page.wait_for_ahead(1)
    until(lambda: page.reminder() == "Chỉ còn 1 người phía trước Ông/Bà: vui lòng đến gần khu vực quầy.")
    assert tester.command("1", "next")["ticket"]["id"] == second["id"]
    page.wait_for("waiting")
    until(lambda: page.text("lon") == "Sắp đến lượt")
    assert tester.command("1", "next")["ticket"]["id"] == mine["id"]
    page.wait_for("called")
    assert page.status()[:2] == ("Mời công dân đến", "Quầy 1")
    shots.append(page.save(tmp_path / "phone-goi.png"))

    assert tester.command("1", "finish")["ok"]
    page.wait_for("served")
    until(lambda: page.levels() == ["Rất hài lòng", "Hài lòng", "Không hài lòng"])
    shots.append(page.save(tmp_path / "phone-danh-gia.png"))
    page.rate("satisfied")
    assert page.message() == ""
    assert page.notes() == ["Ông/Bà đã đánh giá: Hài lòng. Trân trọng cảm ơn."]
    assert page.levels() == []
    shots.append(page.save(tmp_path / "phone-da-danh-gia.png"))
    assert all(shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for shot in shots)

    # The counter's buttons come second: one rating per ticket, whatever the channel.
    pressed = {"v": 1, "rating_id": "r-1", "ticket_id": mine["id"], "level": "very_satisfied",
               "pressed_at": datetime.now(UTC).isoformat()}
    with watching(broker, center_id, "counter/1/rating/ack") as acks:
        tester.link.publish(tester.topics.counter_rating("1"), json.dumps(pressed).encode())
        _topic, ack = acks.next("counter/1/rating/ack")
    assert (ack["ok"], ack["error"]["code"]) == (False, "already_rated")


def test_a_wrong_a_forged_and_a_malformed_token_tell_nothing(web: WebProcess, tester: Device) -> None:
    mine = issue(tester)
    until(lambda: get(web, f"/phieu/{mine['token']}")[0] == 200)
    forged = mine["token"][:-1] + ("B" if mine["token"][-1] != "B" else "C")
    for token in (WRONG_TOKEN, forged, "20261202-000001", "short"):
        status, body = get(web, f"/phieu/{token}", client="203.0.113.9")
        assert (status, NOT_FOUND in body) == (404, True), token
        assert mine["number"] not in body
    status, body = get(web, f"/phieu/{mine['token']}")
    assert status == 200 and mine["number"] in body and "Đất đai" in body


def test_a_guesser_is_stopped_and_an_honest_phone_is_still_served(
        web: WebProcess, tester: Device, broker: LocalBroker, center_id: str) -> None:
    mine = issue(tester)
    until(lambda: get(web, f"/phieu/{mine['token']}")[0] == 200)
    with watching(broker, center_id, "web/+/request") as asked:
        statuses = [get(web, f"/phieu/{n:027d}", client="203.0.113.5")[0] for n in range(60)]
        honest = get(web, f"/phieu/{mine['token']}", client="198.51.100.8")
        time.sleep(0.5)  # what the guesser made the web ask the server has reached the watcher by now
        reached_server = len(asked.drain())
    assert statuses[:limits.MAX_FAILURES] == [404] * limits.MAX_FAILURES
    assert set(statuses[limits.MAX_FAILURES:]) <= {429}, statuses
    assert reached_server <= limits.MAX_FAILURES + 1, "the guesser's later tries never reach the server"
    assert honest[0] == 200 and mine["number"] in honest[1]


def open_stream(web: WebProcess, token: str, client: str) -> tuple[socket.socket, bytes]:
    """A live page's stream, held open, and its response's head (a refusal's body too)."""
    sock = socket.create_connection(("127.0.0.1", web.port), timeout=TIMEOUT)
    sock.sendall(f"GET /phieu/{token}/luong HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: {client}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    length = re.search(rb"content-length: (\d+)", head, re.IGNORECASE)
    if length is not None:  # a refusal: its body too (a stream sends none until its first event)
        while len(head.split(b"\r\n\r\n", 1)[1]) < int(length.group(1)):
            head += sock.recv(4096)
    return sock, head


def test_live_pages_are_bounded_per_client(web: WebProcess, tester: Device) -> None:
    # from many kiosks: one kiosk may not issue so many at once
    tokens = [issue(tester, kiosk=f"k{n}")["token"] for n in range(limits.STREAMS_PER_CLIENT + 1)]
    until(lambda: get(web, f"/phieu/{tokens[0]}")[0] == 200)
    opened: list[socket.socket] = []
    try:
        heads = []
        for n, token in enumerate(tokens):
            if n >= limits.BURST - 5:  # past its burst, at the client's rate (that limit is not what is tried here)
                time.sleep(1.2 / limits.RATE_PER_S)
            sock, head = open_stream(web, token, "198.51.100.30")
            opened.append(sock)
            heads.append(head)
        assert all(head.startswith(b"HTTP/1.1 200") for head in heads[:-1]), [h[:40] for h in heads]
        assert heads[-1].startswith(b"HTTP/1.1 429") and "Quá nhiều trang đang mở." in heads[-1].decode()
    finally:
        for sock in opened:
            sock.close()


def test_all_live_pages_together_are_bounded(tmp_path: Path, server: ServerProcess, broker: LocalBroker,
                                             center_id: str, tester: Device) -> None:
    web = WebProcess(tmp_path, broker, center_id, max_phones=100)
    web.start()
    opened: list[socket.socket] = []
    try:
        tokens = [issue(tester, kiosk=f"k{n}")["token"] for n in range(26)]  # 4 pages each: 104
        until(lambda: get(web, f"/phieu/{tokens[0]}")[0] == 200)
        heads = []
        for n in range(104):
            sock, head = open_stream(web, tokens[n // 4], f"198.51.{n // 4}.{n % 4 + 1}")
            opened.append(sock)
            heads.append(head)
        assert all(head.startswith(b"HTTP/1.1 200") for head in heads[:100])
        assert all(head.startswith(b"HTTP/1.1 503") for head in heads[100:]), [h[:40] for h in heads[100:]]
    finally:
        for sock in opened:
            sock.close()
        assert web.stop() == 0


def test_without_javascript_the_page_still_says_where_the_ticket_is_and_takes_the_rating(
        web: WebProcess, tester: Device) -> None:
    mine = issue(tester)
    url = f"{web.url}/phieu/{mine['token']}"
    until(lambda: get(web, f"/phieu/{mine['token']}")[0] == 200)
    with chromium(phone=True, javascript=False) as driver:
        page = PhonePage(driver, TIMEOUT)
        page.open(url)
        assert page.state() == "waiting" and page.status()[1] == "Sắp đến lượt"
        assert not driver.find_element(By.ID, "bao-truoc").is_displayed(), "no script ran (it shows the chooser)"
        assert '<meta http-equiv="refresh" content="30">' in driver.page_source  # it reloads itself
        assert tester.command("1", "next")["ticket"]["id"] == mine["id"]
        reload_until(page, url, lambda: page.state() == "called")
        assert page.status()[:2] == ("Mời công dân đến", "Quầy 1")
        assert tester.command("1", "finish")["ok"]
        reload_until(page, url, lambda: page.levels() != [])
        # the form as the browser would send it (a click in a browser without scripts waits out chromedriver's
        # 30 s: it learns of the next page by a script): its action, method and button read from the page
        form = driver.find_element(By.ID, "danh-gia")
        assert form.get_attribute("method") == "post"
        button = form.find_element(By.CSS_SELECTOR, "button[value='dissatisfied']")
        assert button.get_attribute("name") == "level"
        status = post_form(web, str(form.get_attribute("action")), {"level": "dissatisfied"})
        assert status == 200
        reload_until(page, url, lambda: page.notes() == ["Ông/Bà đã đánh giá: Không hài lòng. Trân trọng cảm ơn."])


def post_form(web: WebProcess, action: str, fields: dict[str, str]) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", web.port, timeout=TIMEOUT)
    try:
        connection.request("POST", urlsplit(action).path, urlencode(fields),
                           {"Content-Type": "application/x-www-form-urlencoded", "Origin": web.url,
                            "Host": f"127.0.0.1:{web.port}", "X-Forwarded-For": "198.51.100.7"})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def reload_until(page: PhonePage, url: str, shown: Callable[[], bool]) -> None:
    """Reload the page until it shows what is awaited, as its own refresh would (every 30 s; here every 0.3 s,
    within the client's rate: a faster reload is refused as too many requests, rightly)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        page.open(url)
        if shown():
            return
        assert time.monotonic() < deadline, f"not shown within {TIMEOUT:g} s"
        time.sleep(0.3)


def test_yesterdays_token_says_so_and_a_token_of_no_ticket_says_nothing(
        web: WebProcess, tester: Device, center_toml: Path, center_id: str) -> None:
    mine = issue(tester)
    until(lambda: get(web, f"/phieu/{mine['token']}")[0] == 200)
    with sqlite3.connect(center_toml.parent / "center.db") as db:
        key = bytes(db.execute("SELECT value FROM secrets WHERE name = ?", (TOKEN_KEY,)).fetchone()[0])
    today = date.fromisoformat(mine["issued_at"][:10])
    yesterday = today - timedelta(days=1)
    status, body = get(web, f"/phieu/{make_token(key, center_id, yesterday, 1)}")
    assert status == 410 and f"Phiếu này là của ngày {yesterday:%d/%m/%Y}, đã hết hiệu lực." in body
    status, body = get(web, f"/phieu/{make_token(key, center_id, today, 999)}")  # genuine, but no such ticket
    assert status == 404 and NOT_FOUND in body
