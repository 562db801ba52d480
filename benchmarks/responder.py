"""A do-nothing MQTT 5 responder: the reference the server's saturation is compared with.

It listens where the server listens for kiosks' and counters' requests and answers each at once, on its
Response Topic with its Correlation Data, with a fixed reply of a real reply's size: no domain, no
storage, no log. What it relays per second on a broker is what that broker and the load generator allow;
the server's saturation divided by it is the share of that the server uses (DESIGN.md's target: ≥ 0.6).

Run as its own process (`python -m benchmarks.responder HOST PORT CENTER_ID`), as the server is; it prints
"ready" once subscribed and runs until SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import uuid

from benchmarks.mqtt5_client import Message, Mqtt5Client
from protocol.topics import Topics

# About the size of the server's answer to a ticket request (`TicketIssued`, with its token and estimate).
REPLY = b'{"v":1,"ok":true,"ticket":{"id":"20261203-000001","number":"A0001","area":"dat-dai"},' + b'"pad":"' + (
    b"x" * 200) + b'"}'


async def serve(host: str, port: int, center_id: str) -> None:
    topics = Topics(center_id)
    client = await Mqtt5Client.connect(host, port, f"bench-responder-{uuid.uuid4().hex[:8]}")
    loop = asyncio.get_running_loop()
    replies: set[asyncio.Task[None]] = set()

    def answer(message: Message) -> None:
        if message.response_topic is None:
            return
        task = loop.create_task(client.publish(message.response_topic, REPLY,
                                               correlation_data=message.correlation_data))
        replies.add(task)
        task.add_done_callback(replies.discard)

    client.on_message = answer
    for topic_filter in (topics.ticket_request("+"), topics.counter_command("+")):
        await client.subscribe(topic_filter)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    await stop.wait()
    await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("center_id")
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.center_id))


if __name__ == "__main__":
    main()
