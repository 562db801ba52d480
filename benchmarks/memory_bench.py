"""`make bench` for the central server's memory: its RSS idle, with a day of 100,000 tickets built live, and
with that day loaded from storage.

A real Mosquitto and a real `python -m central_server` process on loopback (`server_bench`'s). The server starts
on an empty day (idle); 40 kiosks and 40 counters simulated here issue 100,000 tickets through it and call all
but the last `WAITING` of them ("next", which also finishes the ticket before); then the server is restarted on
that stored day (loaded). Each figure is the server process's VmRSS (and its peak, VmHWM) a few seconds after it
settled. The run takes 4-6 minutes: the day's 200,000 requests go at ~1,000 a second (each ticket's estimate and
the floor cost more as the day grows). Prints one JSON object per line, each with a "name".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.server_bench import COUNTER_DEVICES, Server, SimDevice, center_toml, connect_devices, start
from devkit.local_broker import LocalBroker
from protocol.topics import Topics

CENTER = "bench-memory"
TICKETS = 100_000
# How many tickets wait at most: the counters keep up with the kiosks, and call all but these. (A long queue makes
# each ticket's estimate slower to play forward: with a tenth of the tickets waiting the run took much longer.)
WAITING = 200
KIOSKS = 40
IDLE_TARGET_MB = 35
DAY_TARGET_MB = 100
SETTLE_S = 3.0  # after start-up or the last request, before the RSS is read


def memory(server: Server) -> dict[str, float]:
    status = dict(line.split(":", 1) for line in Path(f"/proc/{server.proc.pid}/status").read_text().splitlines()
                  if ":" in line)
    return {"rss_mb": round(int(status["VmRSS"].split()[0]) / 1024, 1),
            "peak_mb": round(int(status["VmHWM"].split()[0]) / 1024, 1)}


async def build_day(broker: LocalBroker, topics: Topics, tickets: int) -> dict[str, Any]:
    """`tickets` tickets through the running server, each kiosk and counter sending its next request as soon as
    the last is answered; the counters keep up, calling all but the last `WAITING`."""
    devices = await connect_devices(broker, topics, COUNTER_DEVICES + KIOSKS)
    counters, kiosks = devices[:COUNTER_DEVICES], devices[COUNTER_DEVICES:]
    sent = issued = called = refused = 0
    to_call = tickets - WAITING

    async def kiosk(device: SimDevice) -> None:
        nonlocal sent, issued, refused
        while sent < tickets:
            sent += 1
            ok = (await device.request())[1]
            issued += ok
            refused += not ok
            if refused > tickets // 100:
                raise RuntimeError(f"the server refused {refused} tickets")

    async def counter(device: SimDevice) -> None:
        nonlocal called
        while called < to_call:
            if called >= issued - WAITING:
                await asyncio.sleep(0.01)  # nobody waits yet: a "next" would call nobody
                continue
            called += 1
            await device.request()

    started = time.perf_counter()
    await asyncio.gather(*(kiosk(d) for d in kiosks), *(counter(d) for d in counters))
    seconds = time.perf_counter() - started
    await asyncio.gather(*(d.client.close() for d in devices))
    return {"tickets": issued, "refused": refused, "nexts": called, "seconds": round(seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=TICKETS, help="tickets in the day (default %(default)s)")
    args = parser.parse_args()
    label = f"_at_{args.tickets}_tickets"
    with tempfile.TemporaryDirectory(prefix="qms-bench-memory-") as tmp, LocalBroker(Path(tmp)) as broker:
        folder = Path(tmp) / "center"
        folder.mkdir()
        config = center_toml(folder, broker, CENTER)
        server, ready_s = start(config, broker, CENTER)
        try:
            time.sleep(SETTLE_S)
            print(json.dumps({"name": "server_rss_idle_mb", **memory(server), "target": IDLE_TARGET_MB,
                              "ready_s": round(ready_s, 2)}), flush=True)
            built = asyncio.run(build_day(broker, Topics(CENTER), args.tickets))
            time.sleep(SETTLE_S)
            print(json.dumps({"name": f"server_rss{label}_built", **memory(server), "target": DAY_TARGET_MB,
                              **built}), flush=True)
        finally:
            server.stop()
        server, ready_s = start(config, broker, CENTER)
        try:
            time.sleep(SETTLE_S)
            print(json.dumps({"name": f"server_rss{label}_loaded", **memory(server), "target": DAY_TARGET_MB,
                              "ready_s": round(ready_s, 2)}), flush=True)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
