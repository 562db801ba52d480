"""The kiosk's device config: TOML -> frozen dataclasses; errors name the file and the key."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from protocol.config import MqttSettings, Table, load_mqtt, read_toml
from protocol.topics import DEVICE_ID, ID

CONNECTIONS = ("network", "serial", "usb", "file")
PAPERS = {"58mm": 384, "80mm": 576}
LABEL = re.compile(r"[a-z0-9_-]+")


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

    def summary(self) -> str:
        where = {"network": f"{self.host}:{self.port}", "serial": f"{self.device} at {self.baudrate} baud",
                 "usb": f"{self.vendor_id:04x}:{self.product_id:04x}", "file": self.path}[self.connection]
        return f"{self.connection} printer {where}, {self.paper} paper, profile {self.profile}"


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

    @property
    def client_id(self) -> str:
        return self.mqtt.client_id or f"{self.center_id}-kiosk-{self.kiosk_id}"

    def summary(self) -> str:
        size = f"{self.width}x{self.height}" if self.width and self.height else "at the display's own size"
        screen = f"screen {size}{', full screen' if self.fullscreen else ''}" if self.screen else "no screen"
        lines = [f"kiosk {self.kiosk_id} of center {self.center_id}", f"mqtt {self.mqtt.summary()}",
                 self.printer.summary(), screen]
        lines += [f"  GPIO {b.pin} -> {b.area} ({b.priority})" for b in self.buttons]
        return "\n".join(lines)


def load(path: Path) -> KioskConfig:
    root = read_toml(path)
    kiosk = root.table("kiosk")
    kiosk_id = kiosk.text("id", pattern=DEVICE_ID)
    center_id = kiosk.text("center", pattern=ID)
    kiosk.finish()
    mqtt = load_mqtt(root.table("mqtt"))
    printer = _printer(root.table("printer"))
    screen = root.table("screen", required=False)
    enabled = screen.flag("enabled", True)
    width = screen.integer("width", 0, minimum=0)
    height = screen.integer("height", 0, minimum=0)
    fullscreen = screen.flag("fullscreen", True)
    screen.finish()
    ticket = root.table("ticket", required=False)
    qr = ticket.text("qr", "", pattern=re.compile(r"[^\n]{0,300}"))
    footer = ticket.text("footer", "Vui lòng theo dõi số trên màn hình và loa gọi. Xin cảm ơn!")
    save = ticket.path("save_dir", None)
    ticket.finish()
    buttons = tuple(_button(t) for t in root.tables("buttons")) if root.has("buttons") else ()
    root.finish()
    if not enabled and not buttons:
        raise screen.error("enabled", "a kiosk without a screen needs [[buttons]]")
    return KioskConfig(path, kiosk_id, center_id, mqtt, printer, enabled, width, height, fullscreen, qr, footer,
                       save, buttons)


def _printer(table: Table) -> PrinterConfig:
    connection = table.text("connection")
    if connection not in CONNECTIONS:
        raise table.error("connection", f"expected one of {', '.join(CONNECTIONS)}, got {connection!r}")
    paper = table.text("paper", "80mm")
    if paper not in PAPERS:
        raise table.error("paper", f"expected \"58mm\" or \"80mm\", got {paper!r}")
    config = PrinterConfig(
        connection=connection, paper=paper, profile=table.text("profile", "default"),
        host=table.text("host", "127.0.0.1"), port=table.integer("port", 9100, minimum=1),
        device=table.text("device", "/dev/ttyUSB0"), baudrate=table.integer("baudrate", 19200, minimum=1200),
        vendor_id=table.integer("vendor_id", 0, minimum=0), product_id=table.integer("product_id", 0, minimum=0),
        path=table.text("path", "/dev/usb/lp0"), native_digits=table.flag("native_digits", True),
        native_qr=table.flag("native_qr", True), cut=table.flag("cut", True),
        status_query=table.flag("status_query", connection in ("network", "serial")),
    )
    if connection == "file" and config.status_query:
        raise table.error("status_query", "a printer written as a file cannot answer status queries")
    if connection == "usb" and not (config.vendor_id and config.product_id):
        raise table.error("vendor_id", "a USB printer needs vendor_id and product_id (see `lsusb`)")
    table.finish()
    return config


def _button(table: Table) -> AreaPin:
    pin = AreaPin(table.integer("pin", minimum=0), table.text("area", pattern=ID),
                  table.text("priority", "none", pattern=LABEL))
    if pin.pin > 27:
        raise table.error("pin", f"GPIO {pin.pin} is not on the 40-pin header (0-27)")
    table.finish()
    return pin
