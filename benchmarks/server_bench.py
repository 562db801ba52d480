"""`make bench` for the central server: request latency, sustained throughput, growth.

A real Mosquitto and a real `python -m central_server` process on loopback; the devices are
simulated in this process with a light asyncio MQTT 5 client, each on its own connection.
Prints one JSON object per line, each with a "name".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.mqtt5_client import Message, Mqtt5Client
from central_server.config import load
from central_server.domain.center import Center
from central_server.storage import open_storage
from central_server.storage.port import Batch
from devkit.local_broker import LocalBroker
from protocol.topics import Topics

ROOT = Path(__file__).resolve().parents[1]
AREAS = ("dat-dai", "xay-dung", "tu-phap", "kinh-doanh")
COUNTERS = 40
DEVICES = 200  # sending requests
COUNTER_DEVICES = 40  # of DEVICES, the rest are kiosks
IDLE_DEVICES = 800  # connected and subscribed, silent: 1,000 devices in all, as DESIGN.md's target says
TARGET_RATE = 2000.0  # operations per second offered in the sustained run
SUSTAIN_S = 10.0
SEQUENTIAL = 500
RATIO_ROUNDS = 3
RATIO_ROUND_S = 5.0


# One device here does what a whole center's do in a day: the per-device limits would refuse it.
UNLIMITED = ("[limits]\ntickets_per_minute = 10000000\npriority_per_minute = 10000000\n"
             "commands_per_minute = 10000000\nkiosk_answers_per_day = 10000000\n"
             "counter_answers_per_day = 10000000\n")


def center_toml(folder: Path, broker: LocalBroker, center_id: str) -> Path:
    areas = "".join(
        f'[[areas]]\nid = "{a}"\nname = "Lĩnh vực {i}"\nfirst = 1\nlast = 99999\nprefix = "{"ABCD"[i]}"\n\n'
        for i, a in enumerate(AREAS)
    )
    counters = "".join(
        f'[[counters]]\nid = "{n}"\nname = "Quầy {n}"\nareas = ["{AREAS[n % 4]}", "{AREAS[(n + 1) % 4]}"]\n\n'
        for n in range(1, COUNTERS + 1)
    )
    path = folder / "center.toml"
    path.write_text(
        f'[center]\nid = "{center_id}"\nname = "Trung tâm đo hiệu năng"\ntimezone = "Asia/Ho_Chi_Minh"\n\n'
        f'[mqtt]\nurl = "{broker.url}"\n\n[storage]\nurl = "sqlite:///{folder / "center.db"}"\n\n'
        f'[rating]\nlevels = ["very_satisfied", "satisfied", "dissatisfied"]\n\n{UNLIMITED}\n{areas}{counters}',
        encoding="utf-8",
    )
    return path


def prefill(config_path: Path, tickets: int) -> None:
    """Issue `tickets` tickets today, straight through the domain and storage; serve 90% of them."""
    config = load(config_path)
    storage = open_storage(config)
    now = datetime.now(config.rules.zone)
    center = Center(config.rules, now)
    rng = random.Random(7)
    for i in range(tickets):
        moment = now - timedelta(milliseconds=tickets - i)
        center.issue(rng.choice(AREAS), "elderly" if i % 20 == 0 else "none", moment, "prefill")
        if i % 10:
            counter = str(rng.randint(1, COUNTERS))
            if center.next(counter, moment) is not None:
                center.finish(counter, moment)
        if i % 2000 == 1999:
            storage.commit(Batch(center.take_changes()))
    storage.commit(Batch(center.take_changes()))
    storage.close()


def cpu_seconds(stat: str, ticks_per_s: int) -> float:
    """utime + stime of a /proc/<pid>/stat line (every thread of the process), in seconds."""
    fields = stat.rsplit(")", 1)[1].split()  # the command name, in parentheses, may hold spaces
    return (int(fields[11]) + int(fields[12])) / ticks_per_s


def process_cpu_s(pid: int) -> float:
    """The CPU time a process has used so far (user and system, every thread), in seconds."""
    return cpu_seconds(Path(f"/proc/{pid}/stat").read_text(), os.sysconf("SC_CLK_TCK"))


class Server:
    def __init__(self, config: Path, broker: LocalBroker, code: Path = ROOT) -> None:
        """`code`: the directory whose `central_server` runs (`python -m` reads its working directory first, before
        PYTHONPATH)."""
        self.log = config.parent / "server.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "central_server", "--config", str(config)],
                                         cwd=code, stdout=log, stderr=subprocess.STDOUT)

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_s(self) -> float:
        return process_cpu_s(self.proc.pid)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)


@dataclass
class SimDevice:
    """One kiosk or counter with its own MQTT connection."""

    client: Mqtt5Client
    request_topic: str
    response_topic: str
    kind: str
    waiting: dict[bytes, asyncio.Future[tuple[float, bytes]]] = field(default_factory=dict)

    def on_message(self, message: Message) -> None:
        future = self.waiting.pop(message.correlation_data or b"", None)
        if future is not None and not future.done():
            future.set_result((time.perf_counter(), message.payload))

    async def request(self) -> tuple[float, bool]:
        """One request; (latency in ms, ok)."""
        body: dict[str, Any] = {"v": 1, "request_id": uuid.uuid4().hex}
        if self.kind == "kiosk":
            body["area"] = random.choice(AREAS)
        else:
            body["action"] = "next"
        correlation = uuid.uuid4().bytes
        future: asyncio.Future[tuple[float, bytes]] = asyncio.get_running_loop().create_future()
        self.waiting[correlation] = future
        started = time.perf_counter()
        await self.client.publish(self.request_topic, json.dumps(body).encode(), response_topic=self.response_topic,
                                  correlation_data=correlation)
        finished, payload = await asyncio.wait_for(future, 30)
        return (finished - started) * 1000, json.loads(payload)["ok"] is True


async def connect_devices(broker: LocalBroker, topics: Topics, count: int) -> list[SimDevice]:
    async def one(index: int) -> SimDevice:
        client = await Mqtt5Client.connect(broker.host, broker.port, f"bench-{uuid.uuid4().hex[:10]}")
        if index < COUNTER_DEVICES:
            counter = str(index + 1)
            device = SimDevice(client, topics.counter_command(counter), topics.counter_command_response(counter),
                               "counter")
        else:
            kiosk = f"k{index}"
            device = SimDevice(client, topics.ticket_request(kiosk), topics.ticket_response(kiosk), "kiosk")
        client.on_message = device.on_message
        await client.subscribe(device.response_topic)
        return device

    return list(await asyncio.gather(*(one(i) for i in range(count))))


def percentiles(latencies: list[float]) -> dict[str, float]:
    if len(latencies) < 2:
        return {"p50_ms": float("nan"), "p95_ms": float("nan"), "p99_ms": float("nan")}
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49], 2), "p95_ms": round(cuts[94], 2), "p99_ms": round(cuts[98], 2)}


async def sequential(device: SimDevice, count: int) -> dict[str, Any]:
    latencies = []
    for _ in range(count):
        latency, _ok = await device.request()
        latencies.append(latency)
    return {"n": count, **percentiles(latencies)}


async def sustained(devices: list[SimDevice], rate: float, duration_s: float) -> dict[str, Any]:
    """Each device sends at its share of `rate` (paced, waiting for each reply); latencies of all."""
    latencies: list[float] = []
    failures = 0
    interval = len(devices) / rate
    start = time.perf_counter() + 0.2

    async def run(device: SimDevice, offset: float) -> None:
        nonlocal failures
        due = start + offset
        while due < start + duration_s:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            latency, ok = await device.request()
            latencies.append(latency)
            failures += not ok
            due += interval

    await asyncio.gather(*(run(d, i * interval / len(devices)) for i, d in enumerate(devices)))
    elapsed = time.perf_counter() - start
    return {"devices": len(devices), "offered_ops_s": rate, "ops_s": round(len(latencies) / elapsed, 1),
            "n": len(latencies), "refused": failures, **percentiles(latencies)}


async def saturate(devices: list[SimDevice], duration_s: float) -> dict[str, Any]:
    """Every device sends its next request as soon as the last is answered."""
    latencies: list[float] = []
    deadline = time.perf_counter() + duration_s

    async def run(device: SimDevice) -> None:
        while time.perf_counter() < deadline:
            latencies.append((await device.request())[0])

    started = time.perf_counter()
    await asyncio.gather(*(run(d) for d in devices))
    return {"devices": len(devices), "ops_s": round(len(latencies) / (time.perf_counter() - started), 1),
            "n": len(latencies), **percentiles(latencies)}


async def measure(broker: LocalBroker, center_id: str, label: str, server: Server) -> list[dict[str, Any]]:
    topics = Topics(center_id)
    everyone = await connect_devices(broker, topics, DEVICES + IDLE_DEVICES)
    devices = everyone[:DEVICES]
    kiosk, counter = devices[-1], devices[0]
    results = [
        {"name": f"server_ticket_latency_sequential{label}", **await sequential(kiosk, SEQUENTIAL)},
        {"name": f"server_next_latency_sequential{label}", **await sequential(counter, SEQUENTIAL)},
    ]
    cpu_before, wall_before = server.cpu_s(), time.perf_counter()
    run = await sustained(devices, TARGET_RATE, SUSTAIN_S)
    cpu = (server.cpu_s() - cpu_before) / (time.perf_counter() - wall_before)
    results.append({"name": f"server_sustained{label}", **run, "connected": len(everyone),
                    "server_cpu_cores": round(cpu, 2), "server_rss_mb": round(server.rss_mb(), 1)})
    results.append({"name": f"server_saturation{label}", **await saturate(devices, 5.0)})
    await asyncio.gather(*(d.client.close() for d in everyone))
    return results


def prepare(workdir: Path, broker: LocalBroker, center_id: str, prefilled: int) -> Path:
    workdir.mkdir()
    config = center_toml(workdir, broker, center_id)
    if prefilled:
        prefill(config, prefilled)
    return config


def start(config: Path, broker: LocalBroker, center_id: str, code: Path = ROOT) -> tuple[Server, float]:
    started = time.perf_counter()
    server = Server(config, broker, code)
    asyncio.run(wait_online(broker, Topics(center_id)))
    return server, time.perf_counter() - started


def scenario(config: Path, broker: LocalBroker, center_id: str, label: str) -> list[dict[str, Any]]:
    server, ready_s = start(config, broker, center_id)
    try:
        results = asyncio.run(measure(broker, center_id, label, server))
    finally:
        server.stop()
    results.append({"name": f"server_ready{label}", "seconds": round(ready_s, 2)})
    return results


async def interleaved(broker: LocalBroker, empty_id: str, full_id: str, count: int) -> dict[str, Any]:
    """Alternate requests to an empty day's server and a full day's, so that the noise of the
    machine falls on both alike; the ratio of their latencies is the cost of a full day."""
    empty = await connect_devices(broker, Topics(empty_id), COUNTER_DEVICES + 1)
    full = await connect_devices(broker, Topics(full_id), COUNTER_DEVICES + 1)
    figures: dict[str, Any] = {"name": "server_growth_ratio_at_100000_tickets", "target": 1.2, "n": count}
    for kind, pick in (("ticket", -1), ("next", 0)):
        latencies: dict[str, list[float]] = {"empty": [], "full": []}
        for i in range(count):
            order = (("empty", empty), ("full", full)) if i % 2 else (("full", full), ("empty", empty))
            for label, devices in order:
                latencies[label].append((await devices[pick].request())[0])
        base, grown = percentiles(latencies["empty"]), percentiles(latencies["full"])
        for cut in ("p50_ms", "p95_ms"):
            figures[f"{kind}_{cut[:3]}_ratio"] = round(grown[cut] / base[cut], 2)
    await asyncio.gather(*(d.client.close() for d in empty + full))
    return figures


def growth(empty: Path, full: Path, broker: LocalBroker) -> dict[str, Any]:
    servers = [start(empty, broker, "bench-empty")[0], start(full, broker, "bench-full")[0]]
    try:
        return asyncio.run(interleaved(broker, "bench-empty", "bench-full", 1000))
    finally:
        for server in servers:
            server.stop()


class Responder:
    """The do-nothing MQTT 5 responder (`benchmarks/responder.py`) in its own process, as the server runs."""

    def __init__(self, broker: LocalBroker, center_id: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "benchmarks.responder", broker.host, str(broker.port),
                                      center_id], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the responder did not start")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)


async def saturation_of(broker: LocalBroker, center_id: str, pid: int) -> tuple[int, float]:
    """Requests answered in a round of saturation, and the CPU time the answering process `pid` used for them."""
    devices = await connect_devices(broker, Topics(center_id), DEVICES)
    try:
        before = process_cpu_s(pid)
        answered = (await saturate(devices, RATIO_ROUND_S))["n"]
        return answered, process_cpu_s(pid) - before
    finally:
        await asyncio.gather(*(d.client.close() for d in devices))


Round = dict[Path | str, tuple[int, float]]  # "responder" or a server's code -> requests answered, CPU seconds


def alternated(broker: LocalBroker, configs: dict[Path, Path], rounds: int) -> list[Round]:
    """Rounds of saturation of the do-nothing responder, then of each server (`configs`: its code -> its config; the
    order of the servers reversed every other round), so that what else the machine does falls on all alike."""
    done: list[Round] = []
    for number in range(rounds):
        responder = Responder(broker, "bench-ref")
        try:
            this: Round = {"responder": asyncio.run(saturation_of(broker, "bench-ref", responder.proc.pid))}
        finally:
            responder.stop()
        for code in list(configs) if number % 2 == 0 else list(configs)[::-1]:
            this[code] = _server_round(configs[code], broker, code)
        done.append(this)
    return done


def _server_round(config: Path, broker: LocalBroker, code: Path) -> tuple[int, float]:
    server, _ = start(config, broker, "bench-empty", code)
    try:
        running = Path(os.readlink(f"/proc/{server.proc.pid}/cwd"))
        if running != code:
            raise RuntimeError(f"the server meant to run {code} runs from {running}")
        return asyncio.run(saturation_of(broker, "bench-empty", server.proc.pid))
    finally:
        server.stop()


def saturation_ratio(config: Path, broker: LocalBroker) -> dict[str, Any]:
    """The server's saturation over a do-nothing responder's, on the same broker with the same load generator,
    in alternating rounds. Each round's requests a second show how much the machine's hour moves them; the CPU a
    request of each process, what the server costs more."""
    rounds = alternated(broker, {ROOT: config}, RATIO_ROUNDS)
    served = {who: sum(r[key][0] for r in rounds) for who, key in (("server", ROOT), ("responder", "responder"))}
    cpu = {who: sum(r[key][1] for r in rounds) for who, key in (("server", ROOT), ("responder", "responder"))}
    seconds = RATIO_ROUNDS * RATIO_ROUND_S
    return {"name": "server_saturation_ratio_to_responder", "target": 0.6, "devices": DEVICES,
            "server_ops_s": round(served["server"] / seconds, 1),
            "responder_ops_s": round(served["responder"] / seconds, 1),
            "ratio": round(served["server"] / served["responder"], 2),
            "rounds": [{"responder_ops_s": round(r["responder"][0] / RATIO_ROUND_S),
                        "server_ops_s": round(r[ROOT][0] / RATIO_ROUND_S)} for r in rounds],
            "server_cpu_us_per_request": round(cpu["server"] / served["server"] * 1e6, 1),
            "responder_cpu_us_per_request": round(cpu["responder"] / served["responder"] * 1e6, 1)}


async def wait_online(broker: LocalBroker, topics: Topics) -> None:
    client = await Mqtt5Client.connect(broker.host, broker.port, f"bench-wait-{uuid.uuid4().hex[:8]}")
    await client.subscribe(topics.server_status())
    while json.loads((await client.next_message(timeout=60)).payload).get("online") is not True:
        pass
    await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--empty-day-only", action="store_true", help="skip the runs at 100,000 tickets")
    parser.add_argument("--ratio-only", action="store_true", help="only the saturation ratio to a responder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qms-bench-") as tmp, LocalBroker(Path(tmp)) as broker:
        empty = prepare(Path(tmp) / "empty", broker, "bench-empty", 0)
        if args.ratio_only:
            print(json.dumps(saturation_ratio(empty, broker)), flush=True)
            return
        if not args.empty_day_only:
            full = prepare(Path(tmp) / "full", broker, "bench-full", 100_000)
            print(json.dumps(growth(empty, full, broker)), flush=True)
        for line in scenario(empty, broker, "bench-empty", ""):
            print(json.dumps(line), flush=True)
        print(json.dumps(saturation_ratio(empty, broker)), flush=True)
        if not args.empty_day_only:
            for line in scenario(full, broker, "bench-full", "_at_100000_tickets"):
                print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
