"""A ticket's public token: what its QR code carries, so that a phone can find it (pure: no I/O, no clock).

`token = base64url_nopad(day_u32 || seq_u32 || mac12)`: 20 bytes, 27 characters. `day_u32` is the ticket's
service day as the integer YYYYMMDD, `seq_u32` its sequence number of that day (they make its id), and `mac12`
the first 12 bytes of HMAC-SHA256(key, b"qms-ticket-v1|" + center_id + b"|" + ticket_id). The key never leaves
the server, so a token cannot be made up from a ticket's number or id (DESIGN.md: sequential ids are
guessable), and nothing per ticket is stored: the token is checked by making its MAC again.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import re
import struct
from dataclasses import dataclass
from datetime import date

KEY_BYTES = 32
MAC_BYTES = 12
TOKEN_CHARS = 27
_TOKEN = re.compile(r"[A-Za-z0-9_-]{27}")
_DOMAIN = b"qms-ticket-v1|"


@dataclass(frozen=True, slots=True)
class TokenTicket:
    """What a genuine token names: a ticket of a service day, by its sequence number."""

    day: date
    seq: int

    @property
    def ticket_id(self) -> str:
        return ticket_id(self.day, self.seq)


def ticket_id(day: date, seq: int) -> str:
    return f"{_digits(day)}-{seq:06d}"


@functools.lru_cache(maxsize=8)
def _digits(day: date) -> str:
    """20261203: a few days are in use at a time, and strftime is slow."""
    return f"{day:%Y%m%d}"


def make_token(key: bytes, center_id: str, day: date, seq: int) -> str:
    """The token of ticket `seq` of `day` at the center."""
    day_number = int(_digits(day))
    raw = struct.pack(">II", day_number, seq) + _mac(key, center_id, ticket_id(day, seq))
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def read_token(key: bytes, center_id: str, token: str) -> TokenTicket | None:
    """The ticket a token names, or None when it is no token this center gave (a wrong shape, a MAC that does
    not match). The MAC is checked before anything else is read of it: a made-up token tells nothing."""
    if not _TOKEN.fullmatch(token):
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=")
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 8 + MAC_BYTES or base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != token:
        return None  # a non-canonical spelling of some token's bytes: not what was handed out
    day_number, seq = struct.unpack(">II", raw[:8])
    claimed = f"{day_number:08d}-{seq:06d}"
    if not hmac.compare_digest(raw[8:], _mac(key, center_id, claimed)):
        return None
    try:
        day = date(day_number // 10_000, day_number // 100 % 100, day_number % 100)
    except ValueError:
        return None  # only a key that signed a wrong day could come here
    return TokenTicket(day, seq)


def _mac(key: bytes, center_id: str, ticket: str) -> bytes:
    inner, outer = _pads(key)
    mac = inner.copy()
    mac.update(_DOMAIN + center_id.encode() + b"|" + ticket.encode())
    result = outer.copy()
    result.update(mac.digest())
    return result.digest()[:MAC_BYTES]


@functools.lru_cache(maxsize=4)
def _pads(key: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    """HMAC-SHA256's two keyed states (RFC 2104), made once for the key: `hmac.digest` makes them again at every
    call, which took half of a token's time."""
    block = key if len(key) <= _BLOCK else hashlib.sha256(key).digest()
    block = block.ljust(_BLOCK, b"\0")
    return hashlib.sha256(block.translate(_IPAD)), hashlib.sha256(block.translate(_OPAD))


_BLOCK = 64  # SHA-256's block, in bytes
_IPAD = bytes(b ^ 0x36 for b in range(256))
_OPAD = bytes(b ^ 0x5C for b in range(256))
