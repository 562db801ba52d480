"""How much one client may ask of the citizen web, and all clients together: pure, no I/O, no clock of its own.

The web faces the internet. A client is its address (behind the reverse proxy, the one the proxy saw). Many
phones share an address (the center's Wi-Fi, a carrier's NAT), so what a person does is allowed generously;
what only a guesser does is not: a token that is no ticket's counts as a failure, and a client with
`MAX_FAILURES` of them in `FAILURE_WINDOW_S` may look nothing new up until they age out. An IPv6 client is its
/64 (one host holds a whole one). Tokens are 27 characters with a 96-bit MAC: guessing one is hopeless, and this
keeps trying from costing the server; guessers spread over many addresses meet the server's own bound on the
web's look-ups. (A bound on all clients' wrong tokens together would let anyone stop new phones at will.)
Every table is bounded: past `MAX_CLIENTS` the client seen least recently is forgotten.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict, deque
from dataclasses import dataclass, field

RATE_PER_S = 5.0  # requests a client may make each second, on average
BURST = 40  # ... and at once (a page, its script, its stream, a reload or two; a few phones behind one NAT)
MAX_FAILURES = 10  # tokens that are no ticket's, per client, in FAILURE_WINDOW_S
FAILURE_WINDOW_S = 600.0
STREAMS_PER_CLIENT = 50  # live pages open from one address
STREAMS_PER_TOKEN = 4  # live pages of one ticket (a reload, a second tab, a relative's phone)
MAX_CLIENTS = 50_000
TOO_MANY_VI = "Ông/Bà thao tác quá nhanh. Vui lòng thử lại sau ít phút."  # what a client past its rate is told


@dataclass(slots=True)
class _Client:
    tokens: float = float(BURST)
    at: float = 0.0
    failures: deque[float] = field(default_factory=deque)
    streams: int = 0


class ClientLimits:
    def __init__(self) -> None:
        self._clients: OrderedDict[str, _Client] = OrderedDict()

    def _client(self, address: str, now: float) -> _Client:
        client = self._clients.get(address)
        if client is None:
            client = self._clients[address] = _Client(at=now)
            while len(self._clients) > MAX_CLIENTS:
                self._clients.popitem(last=False)
        self._clients.move_to_end(address)
        return client

    def request(self, address: str, now: float) -> bool:
        """One request from `address`: False past its rate."""
        client = self._client(address, now)
        client.tokens = min(float(BURST), client.tokens + (now - client.at) * RATE_PER_S)
        client.at = now
        if client.tokens < 1:
            return False
        client.tokens -= 1
        return True

    def may_look_up(self, address: str, now: float) -> bool:
        """Whether `address` may have a token the web does not know looked up (it has not failed too often)."""
        client = self._client(address, now)
        _forget(client.failures, now - FAILURE_WINDOW_S)
        return len(client.failures) < MAX_FAILURES

    def failed(self, address: str, now: float) -> None:
        """`address` gave a token that is no ticket's (or no token at all)."""
        failures = self._client(address, now).failures
        failures.append(now)
        while len(failures) > MAX_FAILURES:
            failures.popleft()

    def open_stream(self, address: str, now: float) -> bool:
        client = self._client(address, now)
        if client.streams >= STREAMS_PER_CLIENT:
            return False
        client.streams += 1
        return True

    def close_stream(self, address: str) -> None:
        client = self._clients.get(address)
        if client is not None and client.streams > 0:
            client.streams -= 1

    @property
    def clients(self) -> int:
        return len(self._clients)


def _forget(times: deque[float], before: float) -> None:
    while times and times[0] < before:
        times.popleft()


def client_of(address: str) -> str:
    """Who a request counts for: its IPv4 address, or the /64 of its IPv6 one."""
    if ":" not in address:
        return address
    try:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    except ValueError:
        return address
