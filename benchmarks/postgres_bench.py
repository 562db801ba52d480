"""`make bench`: the server on PostgreSQL, with one and with two instances sharing a center's load.

Both runs offer the same saturating load (200 devices, each sending again as soon as it is
answered) for 5 s to a center on a fresh PostgreSQL database; figures: operations per second
and latencies. Instances take requests in turns (a shared subscription) and hold the center's
advisory lock for each batch, so a second instance adds availability (one may die) rather than
throughput on one database.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import uuid
from pathlib import Path

import psycopg

from benchmarks.server_bench import DEVICES, Server, center_toml, connect_devices, saturate, wait_online
from devkit.local_broker import LocalBroker
from devkit.local_postgres import LocalPostgres
from protocol.topics import Topics

SATURATE_S = 5.0


def postgres_center(folder: Path, broker: LocalBroker, postgres: LocalPostgres, center_id: str) -> Path:
    """The bench's center, on a fresh database of its own."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres.url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")  # a name we made
    folder.mkdir()
    config = center_toml(folder, broker, center_id)
    text = config.read_text(encoding="utf-8")
    start = text.index('url = "sqlite:///')
    end = text.index("\n", start)
    config.write_text(text[:start] + f'url = "{postgres.url.rsplit("/", 1)[0]}/{name}"' + text[end:],
                      encoding="utf-8")
    return config


def run(folder: Path, broker: LocalBroker, postgres: LocalPostgres, instances: int) -> dict[str, object]:
    center_id = f"bench-pg-{instances}"
    config = postgres_center(folder, broker, postgres, center_id)
    servers = []
    for n in range(instances):
        own = folder / f"instance-{n}"
        own.mkdir()
        (own / "center.toml").write_text(config.read_text(encoding="utf-8"), encoding="utf-8")
        servers.append(Server(own / "center.toml", broker))
    try:
        asyncio.run(wait_online(broker, Topics(center_id)))

        async def load() -> dict[str, object]:
            devices = await connect_devices(broker, Topics(center_id), DEVICES)
            result = await saturate(devices, SATURATE_S)
            await asyncio.gather(*(d.client.close() for d in devices))
            return result

        return {"name": f"server_postgresql_{instances}_instance{'s' if instances > 1 else ''}", **asyncio.run(load())}
    finally:
        for server in servers:
            server.stop()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="qms-bench-pg-") as tmp, LocalBroker(Path(tmp)) as broker, \
            LocalPostgres() as postgres:
        for instances in (1, 2):
            print(json.dumps(run(Path(tmp) / f"run-{instances}", broker, postgres, instances)), flush=True)


if __name__ == "__main__":
    main()
