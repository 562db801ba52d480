"""`make bench` for the citizen web: 2,000 phones following their tickets at once; a call -> every phone's page
updated, p95; the web's memory and CPU; the first load of the ticket's page in bytes.

Everything is real and on 127.0.0.1: Mosquitto (`devkit.local_broker`), `python -m central_server` and
`python -m citizen_web`. 2,000 tickets wait in one area served by 8 counters. 2,000 phones (raw HTTP/1.1 clients in
one asyncio loop of this process, each its own connection and its own X-Forwarded-For address as behind the
reverse proxy) each open their ticket's live stream, as the page's EventSource does. Then 40 calls (`next` at the
counters in turn, 0.5 s apart): every call changes how many are ahead of every phone, so every phone gets an
event. A phone's time is from the command's answer (the call is done) to the event arriving whole; p50/p95/max
over every phone and call. CPU is the web's, over the calls; its RSS before the phones came and after the calls.

The first load: the ticket page's HTML with its stylesheet and script, as a phone fetches them (no compression:
the reverse proxy may add it).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.console_bench import center_toml
from benchmarks.kiosk_bench import rss_mb
from benchmarks.server_bench import Server, percentiles, process_cpu_s, wait_online
from devkit.local_broker import LocalBroker, free_port
from protocol.config import MqttSettings
from protocol.link import MqttLink
from protocol.topics import Topics

ROOT = Path(__file__).resolve().parents[1]
CENTER = "bench-phones"
PHONES = 2000
COUNTERS = 8
CALLS = 40
GAP_S = 0.5
TIMEOUT = 30.0
HOST = "127.0.0.1"


class Web:
    def __init__(self, folder: Path, broker: LocalBroker) -> None:
        self.port = free_port()
        config = folder / "citizen_web.toml"
        config.write_text(f'[web]\nid = "web-1"\ncenter = "{CENTER}"\nport = {self.port}\nmax_phones = {PHONES + 100}\n'
                          f'[mqtt]\nurl = "{broker.url}"\n', encoding="utf-8")
        self.log = folder / "citizen_web.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "citizen_web", "--config", str(config)], cwd=ROOT,
                                         stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + TIMEOUT
        while "citizen_web: serving" not in self.log.read_text(errors="replace"):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(self.log.read_text(errors="replace")[-2000:])
            time.sleep(0.05)

    def get(self, path: str) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=TIMEOUT)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(TIMEOUT)


class Phones:
    """The phones: one asyncio loop on a thread, one connection each reading its ticket's event stream."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.arrivals: list[list[float]] = []  # per phone: when each event arrived (time.monotonic)
        self.states: list[str] = []  # per phone: the state its page shows now
        self.refused = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="phones", daemon=True)
        self._thread.start()
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: list[asyncio.Future[None]] = []

    def open_all(self, tokens: list[str]) -> None:
        asyncio.run_coroutine_threadsafe(self._open_all(tokens), self._loop).result(120)

    async def _open_all(self, tokens: list[str]) -> None:
        opened = [asyncio.Event() for _ in tokens]
        for n, token in enumerate(tokens):
            self.arrivals.append([])
            self.states.append("")
            self._tasks.append(asyncio.ensure_future(self._follow(n, token, opened[n])))
            if n % 100 == 99:
                await asyncio.gather(*(event.wait() for event in opened[n - 99:n + 1]))
        await asyncio.gather(*(event.wait() for event in opened))

    async def _follow(self, n: int, token: str, opened: asyncio.Event) -> None:
        reader, writer = await asyncio.open_connection(HOST, self.port)
        self._writers.append(writer)
        writer.write(f"GET /phieu/{token}/luong HTTP/1.1\r\nHost: {HOST}\r\nAccept: text/event-stream\r\n"
                     f"X-Forwarded-For: 10.{n >> 16}.{(n >> 8) & 255}.{n & 255}\r\n\r\n".encode())
        status = await reader.readline()
        if b" 200 " not in status:
            self.refused += 1
            opened.set()
            return
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        buffer = b""
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            buffer += chunk
            while b"\n\n" in buffer:
                event, buffer = buffer.split(b"\n\n", 1)
                start = event.find(b"data: ")  # after a chunk's size line (the body is chunked)
                if start >= 0:
                    self.arrivals[n].append(time.monotonic())
                    self.states[n] = json.loads(event[start + 6:].split(b"\n", 1)[0])["state"]
                    opened.set()

    def close(self) -> None:
        async def end() -> None:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            for writer in self._writers:
                writer.close()

        asyncio.run_coroutine_threadsafe(end(), self._loop).result(TIMEOUT)
        self._loop.call_soon_threadsafe(self._loop.stop)


def first_load(web: Web, token: str) -> int:
    """Bytes a phone fetches for the ticket's page: the HTML and what it links (stylesheet, script)."""
    status, html = web.get(f"/phieu/{token}")
    assert status == 200, status
    total = len(html)
    for asset in ("/tep/phieu.css", "/tep/phieu.js"):
        assert asset.encode() in html, asset
        status, body = web.get(asset)
        assert status == 200, asset
        total += len(body)
    return total


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="qms-phones-") as tmp, LocalBroker(Path(tmp)) as broker:
        folder = Path(tmp)
        web_table = '[citizen_web]\nurl = "https://hang-doi.example.gov.vn"\nids = ["web-1"]\n'
        server = Server(center_toml(folder, broker, CENTER, COUNTERS, web_table), broker)
        topics = Topics(CENTER)
        link = MqttLink(MqttSettings(broker.host, broker.port), client_id=f"{CENTER}-bench",
                        status_topic=topics.device_status("bench"))
        link.start()
        web: Web | None = None
        phones: Phones | None = None
        try:
            asyncio.run(wait_online(broker, topics))
            assert link.wait_ready(TIMEOUT)
            tokens = [_issue(link, topics) for _ in range(PHONES)]
            web = Web(folder, broker)
            deadline = time.monotonic() + TIMEOUT
            while web.get(f"/phieu/{tokens[-1]}")[0] != 200:  # the web has the center and its queue
                if time.monotonic() > deadline:
                    raise RuntimeError(web.log.read_text(errors="replace")[-2000:])
                time.sleep(0.2)
            page_bytes = first_load(web, tokens[0])
            idle_rss = rss_mb(web.proc.pid)
            phones = Phones(web.port)
            started = time.monotonic()
            phones.open_all(tokens)
            open_s = time.monotonic() - started
            time.sleep(1.0)
            cpu_before, wall_before = process_cpu_s(web.proc.pid), time.monotonic()
            latencies: list[float] = []
            for call in range(CALLS):
                counts = [len(a) for a in phones.arrivals]
                time.sleep(0.05)  # nothing arrives between calls: `counts` and `states` are settled
                answer = _ask(link, topics.counter_command(str(call % COUNTERS + 1)),
                              topics.counter_command_response(str(call % COUNTERS + 1)),
                              {"v": 1, "request_id": uuid.uuid4().hex, "action": "next"})
                called_at = time.monotonic()
                assert answer["ok"] and answer["ticket"], answer
                deadline = called_at + TIMEOUT
                # every waiting phone's page changes (one fewer ahead, or called); the others' need not
                following = [n for n, state in enumerate(phones.states) if state == "waiting"]
                while any(len(phones.arrivals[n]) <= counts[n] for n in following):
                    if time.monotonic() > deadline:
                        raise RuntimeError("a phone's page was not updated within 30 s of a call")
                    time.sleep(0.005)
                latencies.extend((phones.arrivals[n][counts[n]] - called_at) * 1000 for n in following)
                time.sleep(GAP_S)
            cpu = (process_cpu_s(web.proc.pid) - cpu_before) / (time.monotonic() - wall_before) * 100
            print(json.dumps({"name": "phones_call_to_page_ms", "phones": PHONES - phones.refused,
                              "refused": phones.refused, "calls": CALLS, **percentiles(latencies),
                              "max_ms": round(max(latencies), 1), "target_p95_ms": 1000}))
            print(json.dumps({"name": "phones_web_footprint", "phones": PHONES,
                              "rss_mb_idle": round(idle_rss, 1),
                              "rss_mb": round(rss_mb(web.proc.pid), 1), "cpu_percent_during_calls": round(cpu, 1),
                              "open_all_s": round(open_s, 2)}))
            print(json.dumps({"name": "phone_page_first_load_bytes", "bytes": page_bytes, "target": 50 * 1024}))
        finally:
            if phones is not None:
                phones.close()
            if web is not None:
                web.stop()
            link.stop()
            server.stop()


def _issue(link: MqttLink, topics: Topics) -> str:
    answer = _ask(link, topics.ticket_request("k1"), topics.ticket_response("k1"),
                  {"v": 1, "request_id": uuid.uuid4().hex, "area": "dat-dai"})
    assert answer["ok"], answer
    token: str = answer["ticket"]["token"]
    return token


def _ask(link: MqttLink, topic: str, response_topic: str, body: dict[str, Any]) -> dict[str, Any]:
    reply = link.request(topic, json.dumps(body).encode(), response_topic=response_topic, timeout_s=TIMEOUT)
    answer: dict[str, Any] = json.loads(reply.payload)
    return answer


if __name__ == "__main__":
    main()
