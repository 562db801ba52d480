"""The kiosk's device config: TOML -> frozen dataclasses; errors name the file and the key.

`[printer] model` names a printer profile (firmware_configs/printers/<model>.toml, or a path to a
center's own file, relative to the config file): its values are the defaults of the [printer] keys,
and a key written in the kiosk config wins. A wrong profile is one line naming the profile file.
"""

from __future__ import annotations

import difflib
import functools
import json
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from protocol.config import MqttSettings, Table, load_mqtt, model_file, read_toml
from protocol.gpio_header import physical_pin, pin_problem
from protocol.topics import DEVICE_ID, ID

CONNECTIONS = ("network", "serial", "usb", "file")
SCANNER_KINDS = ("keyboard", "serial")  # a QR scanner that types as a keyboard, or one that speaks serial
PAPERS = {"58mm": 384, "80mm": 576}  # the only widths the ticket layout knows (firmware_configs/printers/README.md)
LABEL = re.compile(r"[a-z0-9_-]+")
# The ticket's QR: its page on the center's citizen web (the center config's [citizen_web] url), found by the
# ticket's unguessable token. Never a ticket id: those are sequential, anyone could walk through a day's tickets.
DEFAULT_QR = "{public_url}/phieu/{token}"
PRINTER_MODELS = Path(__file__).resolve().parents[1] / "firmware_configs" / "printers"


@dataclass(frozen=True, slots=True)
class PrinterConfig:
    connection: str
    paper: str = "80mm"
    profile: str = "default"  # the python-escpos capabilities profile of the model
    host: str = "127.0.0.1"
    port: int = 9100
    device: str = "/dev/ttyUSB0"
    baudrate: int = 19200
    vendor_id: int = 0
    product_id: int = 0
    path: str = "/dev/usb/lp0"
    native_digits: bool = True
    native_qr: bool = True
    cut: bool = True
    status_query: bool = True
    model: str = ""  # the printer profile's display name ("" without `model`)

    def summary(self) -> str:
        where = {"network": f"{self.host}:{self.port}", "serial": f"{self.device} at {self.baudrate} baud",
                 "usb": f"{self.vendor_id:04x}:{self.product_id:04x}", "file": self.path}[self.connection]
        model = f"{self.model}, " if self.model else ""
        return (f"{self.connection} printer {where}, {model}{self.paper} paper ({PAPERS[self.paper]} dots), "
                f"profile {self.profile}, {'cutter' if self.cut else 'no cutter'}")


@dataclass(frozen=True, slots=True)
class PrinterModel:
    """One printer profile file: its display name and the defaults it gives the [printer] keys."""

    file: Path
    name: str
    dots: int
    defaults: dict[str, Any]  # [printer] key -> value: paper, profile, cut, and what else the file says


@dataclass(frozen=True, slots=True)
class ScannerConfig:
    """The QR scanner that reads bookings' codes (issue 18)."""

    kind: str  # one of SCANNER_KINDS
    port: str = ""  # serial: the device file (/dev/ttyACM0, or better its /dev/serial/by-id/... link)
    baudrate: int = 9600

    def summary(self) -> str:
        if self.kind == "keyboard":
            return "QR scanner typing as a keyboard into the screen"
        return f"QR scanner on {self.port} at {self.baudrate} baud"


@dataclass(frozen=True, slots=True)
class AreaPin:
    pin: int
    area: str
    priority: str = "none"


@dataclass(frozen=True, slots=True)
class KioskConfig:
    path: Path
    kiosk_id: str
    center_id: str
    mqtt: MqttSettings
    printer: PrinterConfig
    screen: bool
    width: int
    height: int
    fullscreen: bool
    qr: str
    footer: str
    save_tickets: Path | None
    buttons: tuple[AreaPin, ...]
    journal: Path | None = None  # the ticket requests not yet done, on disk (kiosk/journal.py); None: in memory
    scanner: ScannerConfig | None = None  # a QR scanner for check-in with a booking; None: the keypad only

    @property
    def client_id(self) -> str:
        return self.mqtt.client_id or f"{self.center_id}-kiosk-{self.kiosk_id}"

    def summary(self) -> str:
        size = f"{self.width}x{self.height}" if self.width and self.height else "at the display's own size"
        screen = f"screen {size}{', full screen' if self.fullscreen else ''}" if self.screen else "no screen"
        lines = [f"kiosk {self.kiosk_id} of center {self.center_id}", f"mqtt {self.mqtt.summary()}",
                 self.printer.summary(), screen,
                 f"journal {self.journal}" if self.journal else "journal in memory: a stop forgets unprinted tickets"]
        if self.scanner is not None:
            lines.append(self.scanner.summary())
        lines += [f"  GPIO {b.pin} (pin {physical_pin(b.pin)}) -> {b.area} ({b.priority})" for b in self.buttons]
        return "\n".join(lines)


def load(path: Path) -> KioskConfig:
    root = read_toml(path)
    kiosk = root.table("kiosk")
    kiosk_id = kiosk.text("id", pattern=DEVICE_ID)
    center_id = kiosk.text("center", pattern=ID)
    journal = kiosk.path("journal", None)
    kiosk.finish()
    if journal is not None and not journal.parent.is_dir():
        raise kiosk.error("journal", f"folder {journal.parent} does not exist")
    mqtt = load_mqtt(root.table("mqtt"))
    printer = _printer(root.table("printer"))
    screen = root.table("screen", required=False)
    enabled = screen.flag("enabled", True)
    width = screen.integer("width", 0, minimum=0)
    height = screen.integer("height", 0, minimum=0)
    fullscreen = screen.flag("fullscreen", True)
    screen.finish()
    ticket = root.table("ticket", required=False)
    qr = ticket.text("qr", DEFAULT_QR, pattern=re.compile(r"[^\n]{0,300}"))
    footer = ticket.text("footer", "Vui lòng theo dõi số trên màn hình và loa gọi. Xin cảm ơn!")
    save = ticket.path("save_dir", None)
    ticket.finish()
    buttons = _buttons(root) if root.has("buttons") else ()
    scanner = _scanner(root.table("scanner"), screen=enabled) if root.has("scanner") else None
    root.finish()
    if not enabled and not buttons:
        raise screen.error("enabled", "a kiosk without a screen needs [[buttons]]")
    return KioskConfig(path, kiosk_id, center_id, mqtt, printer, enabled, width, height, fullscreen, qr, footer,
                       save, buttons, journal, scanner)


def _scanner(table: Table, *, screen: bool) -> ScannerConfig:
    kind = table.text("kind")
    if kind not in SCANNER_KINDS:
        raise table.error("kind", f"expected \"keyboard\" or \"serial\", got {kind!r}")
    if not screen:  # a check-in the server refuses must be said to the citizen
        raise table.error("kind", "a QR scanner needs the screen ([screen] enabled = true): a refused booking is "
                                  "said on it")
    if kind == "keyboard":
        for key in ("port", "baudrate"):
            if table.has(key):
                raise table.error(key, "a keyboard scanner has none: it types into the kiosk's screen")
        table.finish()
        return ScannerConfig(kind)
    port = table.text("port")
    if not port.startswith("/"):
        raise table.error("port", f"expected a device file such as /dev/ttyACM0, got {port!r}")
    config = ScannerConfig(kind, port, table.integer("baudrate", 9600, minimum=1200))
    table.finish()
    return config


def _printer(table: Table) -> PrinterConfig:
    model = load_printer_model(model_file(table, PRINTER_MODELS, "printer")) if table.has("model") else None
    given = model.defaults if model is not None else {}
    connection = table.text("connection")
    if connection not in CONNECTIONS:
        raise table.error("connection", f"expected one of {', '.join(CONNECTIONS)}, got {connection!r}")
    paper = table.text("paper", given.get("paper", "80mm"))
    if paper not in PAPERS:
        raise table.error("paper", f"expected \"58mm\" or \"80mm\", got {paper!r}")
    profile = table.text("profile", given.get("profile", "default"))
    if table.has("profile"):
        _check_escpos_profile(table, "profile", profile)
    answers = given.get("status_query", True) and connection in ("network", "serial")
    config = PrinterConfig(
        connection=connection, paper=paper, profile=profile,
        host=table.text("host", "127.0.0.1"), port=table.integer("port", 9100, minimum=1),
        device=table.text("device", "/dev/ttyUSB0"),
        baudrate=table.integer("baudrate", given.get("baudrate", 19200), minimum=1200),
        vendor_id=table.integer("vendor_id", given.get("vendor_id", 0), minimum=0),
        product_id=table.integer("product_id", given.get("product_id", 0), minimum=0),
        path=table.text("path", "/dev/usb/lp0"),
        native_digits=table.flag("native_digits", given.get("native_digits", True)),
        native_qr=table.flag("native_qr", given.get("native_qr", True)), cut=table.flag("cut", given.get("cut", True)),
        status_query=table.flag("status_query", answers), model=model.name if model is not None else "",
    )
    if connection == "file" and config.status_query:
        raise table.error("status_query", "a printer written as a file cannot answer status queries")
    if connection == "usb" and not (config.vendor_id and config.product_id):
        raise table.error("vendor_id", "a USB printer needs vendor_id and product_id (see `lsusb`)")
    table.finish()
    return config


def load_printer_model(path: Path) -> PrinterModel:
    """Read one printer profile; a mistake is one line naming the profile file and its key."""
    table = read_toml(path)
    name = table.text("name")
    paper = table.text("paper")
    if paper not in PAPERS:
        raise table.error("paper", f"expected \"58mm\" or \"80mm\", got {paper!r}")
    dots = table.integer("dots", minimum=1)
    if dots not in PAPERS.values():
        raise table.error("dots", f"{dots} dots a line: tickets are laid out for 384 (58mm) or 576 (80mm) dots "
                                  "only (firmware_configs/printers/README.md)")
    if dots != PAPERS[paper]:
        raise table.error("dots", f"{dots} dots a line is not {paper} paper ({PAPERS[paper]} dots)")
    defaults: dict[str, Any] = {"paper": paper, "profile": table.text("profile"), "cut": table.flag("cut")}
    _check_escpos_profile(table, "profile", defaults["profile"])
    for key in ("native_qr", "native_digits", "status_query"):
        if table.has(key):
            defaults[key] = table.flag(key)
    for key, minimum in (("baudrate", 1200), ("vendor_id", 0), ("product_id", 0)):
        if table.has(key):
            defaults[key] = table.integer(key, minimum=minimum)
    table.finish()
    return PrinterModel(path, name, dots, defaults)


@functools.cache
def escpos_profiles() -> frozenset[str] | None:
    """The capabilities profiles python-escpos knows (None when they cannot be read here)."""
    try:
        named = os.environ.get("ESCPOS_CAPABILITIES_FILE")  # python-escpos reads this one instead, if set
        text = (Path(named).read_text(encoding="utf-8") if named
                else (resources.files("escpos") / "capabilities.json").read_text(encoding="utf-8"))
        return frozenset(json.loads(text)["profiles"])
    except (ImportError, OSError, ValueError, KeyError, TypeError):
        return None


def _check_escpos_profile(table: Table, key: str, value: str) -> None:
    known = escpos_profiles()
    if known is None or value in known:
        return
    close = difflib.get_close_matches(value, sorted(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise table.error(key, f"{value!r} is not a python-escpos capabilities profile{hint} "
                           "(firmware_configs/printers/README.md lists them)")


def _buttons(root: Table) -> tuple[AreaPin, ...]:
    buttons: list[AreaPin] = []
    used: dict[int, str] = {}
    for table in root.tables("buttons"):
        button = _button(table)
        if button.pin in used:
            raise table.error("pin", f"GPIO {button.pin} is already the pin of {used[button.pin]}")
        used[button.pin] = table.where
        buttons.append(button)
    return tuple(buttons)


def _button(table: Table) -> AreaPin:
    pin = AreaPin(table.integer("pin", minimum=0), table.text("area", pattern=ID),
                  table.text("priority", "none", pattern=LABEL))
    problem = pin_problem(pin.pin)
    if problem is not None:
        raise table.error("pin", problem)
    table.finish()
    return pin
