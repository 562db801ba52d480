"""`python -m central_server provision`: device configs, passwords and the broker's security for a center.

From the center config it writes, under --out:

    server/center.toml, mqtt.password [, ca.crt]        the central server's config, with its credentials
    server/admin.password                               the manager's broker user, for `central_server void`
    server/mosquitto/qms.conf, passwd, acl [, TLS files] the broker: no anonymous access, one user per device
    kiosk-<id>/kiosk.toml, board-<id>/board.toml, counter-<id>/counter.toml, each with mqtt.password [, ca.crt]
    console-<id>/console.toml, mqtt.password [, ca.crt, console.crt, console.key]   a staff console (HTTPS with TLS)
    web-<id>/citizen_web.toml, mqtt.password [, ca.crt]  a citizen web process ([citizen_web].ids)
    ca/ca.crt, ca.key                                   with --tls: the center's own CA (keep ca.key safe)

Each folder is what `systemd/install.sh ROLE CONFIG` takes on that machine. Re-running keeps every
password (and the CA) unless --rotate is given; devices no longer in the config lose their access.
"""

from __future__ import annotations

import argparse
import base64
import grp
import hashlib
import os
import re
import secrets
import shutil
import socket
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from central_server.config import CenterConfig, load
from central_server.config_text import replace_table, set_key, toml_string
from central_server.storage.url import SqliteFile
from central_server.tls import Authority, is_ip, issue_server_certificate, make_authority
from central_server.void import ADMIN_ID, ADMIN_PASSWORD_FILE
from protocol.errors import ConfigError
from protocol.topics import Topics

TEMPLATES = Path(__file__).resolve().parents[1] / "firmware_configs"
TUNING = TEMPLATES / "mosquitto" / "tuning.conf"
PASSWORD_FILE = "mqtt.password"
CA_FILE = "ca.crt"
CONSOLE_CERT = "console"  # console.crt and console.key: the staff console's HTTPS certificate
CONSOLE_PORTS = {True: 8443, False: 8080}  # the console's port with and without TLS
# A role whose example is not firmware_configs/<role>.example.toml, and one whose config is not <role>.toml.
TEMPLATE_NAMES = {"console": "staff_console", "web": "citizen_web"}
CONFIG_NAMES = {"web": "citizen_web.toml"}
LOOPBACK = ("127.0.0.1", "localhost", "::1")
CA_DAYS = 3650  # a center's LAN runs for years; re-run provision to renew the broker's certificate
SERVER_CERT_DAYS = 3650
PBKDF2_ITERATIONS = 101  # Mosquitto's own default; see password_line


@dataclass(frozen=True, slots=True)
class Device:
    """One MQTT user of the center: its role, its id in the topics and its broker user name."""

    role: str  # "server", "kiosk", "board", "counter", "console", "web", or "admin" (the manager's tools)
    id: str  # kiosk/board/console id, counter id; the center id for the server; the admin id in admin/<id>/...
    center_id: str

    @property
    def username(self) -> str:
        """Also its client id (use_username_as_clientid): unique across roles and centers."""
        if self.role in ("server", "admin"):
            return f"{self.center_id}-{self.role}"
        return f"{self.center_id}-{self.role}-{self.id}"

    @property
    def status_id(self) -> str:
        """Its id in device/<id>/status."""
        return f"counter-{self.id}" if self.role == "counter" else self.id

    @property
    def folder(self) -> str:
        return "server" if self.role in ("server", "admin") else f"{self.role}-{self.id}"

    @property
    def password_name(self) -> str:
        """The admin's password lies beside the server's config, where `central_server void` looks."""
        return ADMIN_PASSWORD_FILE if self.role == "admin" else PASSWORD_FILE

    @property
    def config_name(self) -> str:
        return "center.toml" if self.role == "server" else CONFIG_NAMES.get(self.role, f"{self.role}.toml")

    @property
    def template(self) -> Path:
        """The shipped example its config is made from."""
        return TEMPLATES / f"{TEMPLATE_NAMES.get(self.role, self.role)}.example.toml"


@dataclass(frozen=True, slots=True)
class Options:
    out: Path
    tls: bool
    rotate: bool
    broker_host: str
    bind: str | None  # the listener's address; None: every interface
    port: int
    mosquitto_dir: Path  # where the broker's files live on the server machine
    state_dir: Path  # where devices keep state (the counter's outbox, the console's accounts)
    broker_host_guessed: bool = False  # no --broker-host, and the config's MQTT host is loopback


# --- the broker's files (pure) ---------------------------------------------------------------------


def devices_of(config: CenterConfig) -> list[Device]:
    """The center's broker users: the server, its devices, and the manager's tools."""
    center = config.center_id
    return ([Device("server", center, center)] + [Device("kiosk", k.id, center) for k in config.kiosks]
            + [Device("board", b.id, center) for b in config.boards]
            + [Device("counter", c.id, center) for c in config.rules.counters]
            + [Device("console", c.id, center) for c in config.consoles]
            + [Device("web", w.id, center) for w in config.webs] + [Device("admin", ADMIN_ID, center)])


def acl_lines(device: Device, status_ids: Sequence[str] = ()) -> list[str]:
    """What one user may read and write: its role's topics and nothing else (Mosquitto acl_file syntax).

    A device reads only what its agent subscribes to, never what it writes: one that could read its
    own requests could subscribe to them, stop reading, and have the broker queue its flood for it.
    `status_ids`: every device's id in device/<id>/status. A console reads the others' by name: a
    `device/+/status` rule would also let it read the status it writes itself. (Its agent may still
    subscribe to `device/+/status`: the broker grants that and delivers only what the ACL lets it read.)
    """
    topics = Topics(device.center_id)
    common = [f"topic read {topics.config()}", f"topic read {topics.server_status()}",
              f"topic write {topics.device_status(device.status_id)}"]
    if device.role == "server":
        rules = [f"topic readwrite {topics.root}/#"]
    elif device.role == "admin":  # asks the server, hears its answer; no status, no will
        rules = [f"topic write {topics.admin_request(device.id)}", f"topic read {topics.admin_response(device.id)}"]
    elif device.role == "kiosk":
        rules = [f"topic write {topics.ticket_request(device.id)}", f"topic read {topics.ticket_response(device.id)}",
                 *common]
    elif device.role == "console":  # acts for counters (console/<id>/request) and shows the live floor
        others = [f"topic read {topics.device_status(other)}" for other in status_ids if other != device.status_id]
        rules = [f"topic write {topics.console_request(device.id)}", f"topic read {topics.console_response(device.id)}",
                 f"topic read {topics.floor()}", f"topic read {topics.board_state()}",
                 f"topic read {topics.counter_state('+')}", *others, *common]
    elif device.role == "web":  # faces the internet: looks tickets up, passes phone ratings on, reads the queue
        rules = [f"topic write {topics.web_request(device.id)}", f"topic read {topics.web_response(device.id)}",
                 f"topic read {topics.queue()}", *common]
    elif device.role == "counter":
        rules = [f"topic write {topics.counter_command(device.id)}", f"topic write {topics.counter_rating(device.id)}",
                 f"topic read {topics.counter_command_response(device.id)}",
                 f"topic read {topics.rating_ack(device.id)}", f"topic read {topics.counter_state(device.id)}", *common]
    else:
        rules = [f"topic read {topics.board_state()}", f"topic read {topics.board_call()}",
                 f"topic read {topics.counter_state('+')}", *common]
    return [f"user {device.username}", *rules, ""]


def acl_text(devices: Sequence[Device]) -> str:
    header = ["# Generated by `python -m central_server provision`: re-run it rather than editing.",
              "# No pattern rules: each user gets exactly its own topics. Unlisted users and $SYS get nothing.", ""]
    status_ids = [device.status_id for device in devices if device.role not in ("server", "admin")]
    return "\n".join(header + [line for device in devices for line in acl_lines(device, status_ids)])


def password_line(username: str, password: str, salt: bytes) -> str:
    """A Mosquitto 2 password file line: $7$ is PBKDF2-HMAC-SHA512 (as `mosquitto_passwd` writes it).

    The passwords are 192 random bits, so key stretching adds no safety; Mosquitto checks passwords
    on its single thread, and a few iterations keep a reconnect storm of every device cheap.
    """
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ITERATIONS)
    return f"{username}:$7${PBKDF2_ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def mosquitto_conf(options: Options, center_id: str) -> str:
    where = options.mosquitto_dir
    listener = f"listener {options.port}" + (f" {options.bind}" if options.bind else "")
    tls = [f"cafile {where / CA_FILE}", f"certfile {where / 'server.crt'}", f"keyfile {where / 'server.key'}"]
    lines = [
        f"# Mosquitto for the queue system of center {center_id}.",
        "# Generated by `python -m central_server provision`: re-run it rather than editing.",
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {where / 'passwd'}",
        f"acl_file {where / 'acl'}",
        "# Listener options follow their listener: written before it, they open a default one on port 1883.",
        listener,
        *(tls if options.tls else []),
        "# The client id is the user name: nobody can take over another device's session or id.",
        "use_username_as_clientid true",
        "",
    ]
    return "\n".join(lines) + TUNING.read_text()


# --- the configs (text edits that keep the examples' comments) ----------------------------------


def mqtt_table(device: Device, options: Options) -> list[str]:
    host = options.broker_host if device.role != "server" else _server_host(options)
    scheme = "mqtts" if options.tls else "mqtt"
    shown_host = f"[{host}]" if ":" in host else host
    lines = [f"url = {toml_string(f'{scheme}://{shown_host}:{options.port}')}",
             f"username = {toml_string(device.username)}",
             f"password_file = {toml_string(PASSWORD_FILE)}    # beside this file; made by `central_server provision`"]
    if options.tls:
        lines.append(f"ca_file = {toml_string(CA_FILE)}            # the center's CA")
    return lines


def _server_host(options: Options) -> str:
    """The server runs beside the broker: it connects on loopback unless the listener is bound elsewhere."""
    if options.bind and options.bind not in ("0.0.0.0", "::"):
        return options.bind
    return "localhost" if options.tls else "127.0.0.1"


def device_config(device: Device, options: Options, center_text: str, levels: tuple[str, ...] = ()) -> str:
    """The device's config; a counter's rating buttons take the center's `levels`, best first."""
    if device.role == "server":
        text = center_text
    else:
        text = device.template.read_text(encoding="utf-8")
        section = {"kiosk": "kiosk", "board": "board", "counter": "terminal", "console": "console",
                   "web": "web"}[device.role]
        text = set_key(text, section, "counter" if device.role == "counter" else "id", toml_string(device.id))
        text = set_key(text, section, "center", toml_string(device.center_id))
        if device.role == "counter":
            text = set_key(text, section, "outbox", toml_string(str(options.state_dir / "outbox.db")))
            text = rating_levels(text, levels)
        if device.role == "kiosk":
            text = set_key(text, section, "journal", toml_string(str(options.state_dir / "kiosk-journal.db")))
        if device.role == "console":
            text = console_settings(text, device, options)
        text = _mark_generated(text.replace(f"firmware_configs/{device.template.name}",
                                            f"/etc/qms/{device.role}/{device.config_name}"))
    text = replace_table(text, "mqtt", mqtt_table(device, options))
    if device.role == "console" and options.tls:
        text = text.rstrip("\n") + "\n\n" + "\n".join(console_tls_table()) + "\n"
    _verify(text, device, options)
    return text


def console_settings(text: str, device: Device, options: Options) -> str:
    """The staff console's [console]: its accounts in the state folder, served to the center's network."""
    text = set_key(text, "console", "accounts", toml_string(str(options.state_dir / f"{device.id}-accounts.db")))
    text = set_key(text, "console", "listen", toml_string("0.0.0.0"))
    return set_key(text, "console", "port", str(CONSOLE_PORTS[options.tls]))


def console_tls_table() -> list[str]:
    """[tls]: the console serves HTTPS with the certificate provision made for it (beside its config)."""
    return ["[tls]                               # HTTPS: the certificate provision made, signed by the center's CA",
            f"cert_file = {toml_string(CONSOLE_CERT + '.crt')}",
            f"key_file = {toml_string(CONSOLE_CERT + '.key')}          # readable by the console's user only"]


RATING_LEVEL = re.compile(r'(?m)^level = "[^"]*"')


def rating_levels(text: str, levels: tuple[str, ...]) -> str:
    """Label the example's rating buttons (their stickers) with the center's levels, best first, when there are
    as many: each button then means the level at its place.

    Otherwise the example's labels stay, and provision says so: the buttons still take the levels by position,
    and the terminal logs which stickers to change.
    """
    found = RATING_LEVEL.findall(text)
    if len(found) != len(levels):
        return text
    names = iter(levels)
    return RATING_LEVEL.sub(lambda _match: f"level = {toml_string(next(names))}", text)


def _mark_generated(text: str) -> str:
    note = "# Made by `python -m central_server provision` from the shipped example: edit the hardware below.\n"
    return note + text


def _verify(text: str, device: Device, options: Options) -> None:
    """The template edits really gave this device's identity (a changed example must not slip by)."""
    data = tomllib.loads(text)
    mqtt = data["mqtt"]
    wanted_id = {"server": ("center", "id"), "kiosk": ("kiosk", "id"), "board": ("board", "id"),
                 "counter": ("terminal", "counter"), "console": ("console", "id"), "web": ("web", "id")}[device.role]
    if data[wanted_id[0]][wanted_id[1]] != device.id or mqtt["username"] != device.username:
        raise RuntimeError(f"the {device.role} template did not take the device's identity")
    if device.role == "console":
        wanted_tls = {"cert_file": f"{CONSOLE_CERT}.crt", "key_file": f"{CONSOLE_CERT}.key"} if options.tls else None
        if data.get("tls") != wanted_tls or data["console"].get("port") != CONSOLE_PORTS[options.tls]:
            raise RuntimeError("the console template did not take its [tls] table and port")


# --- writing it all -------------------------------------------------------------------------------


def provision(config: CenterConfig, options: Options) -> list[str]:
    """Write every file; returns the summary lines to print."""
    devices = devices_of(config)
    if not options.out.exists():
        options.out.mkdir(parents=True)
        options.out.chmod(0o755)  # the broker's files below must be reachable by the user mosquitto
    passwords = {d: _password(options.out / d.folder / d.password_name, options.rotate) for d in devices}
    center_text, notes = _database_in_state_dir(config, config.path.read_text(encoding="utf-8"), options.state_dir)
    authority = _authority(options.out / "ca", config.center_id) if options.tls else None
    for device in devices:
        folder = options.out / device.folder
        folder.mkdir(exist_ok=True)
        folder.chmod(0o755)
        _write(folder / device.password_name, passwords[device] + "\n", 0o600)
        if device.role == "admin":
            continue
        _write(folder / device.config_name, device_config(device, options, center_text, config.rules.rating_levels),
               0o644)
        if authority is not None:
            shutil.copyfile(authority.cert_file, folder / CA_FILE)
            if device.role == "console":  # HTTPS for the staff's browsers, which trust the center's CA
                issue_server_certificate(authority, folder, _certificate_hosts(options), days=SERVER_CERT_DAYS,
                                         name=CONSOLE_CERT)
    broker = options.out / "server" / "mosquitto"
    broker.mkdir(exist_ok=True)
    passwd = "".join(password_line(d.username, passwords[d], secrets.token_bytes(12)) + "\n" for d in devices)
    _write(broker / "passwd", passwd, 0o640)
    _write(broker / "acl", acl_text(devices), 0o640)
    _write(broker / "qms.conf", mosquitto_conf(options, config.center_id), 0o644)
    if authority is not None:
        shutil.copyfile(authority.cert_file, broker / CA_FILE)
        issue_server_certificate(authority, broker, _certificate_hosts(options), days=SERVER_CERT_DAYS)
        (broker / "server.key").chmod(0o640)
    notes += _share_with_mosquitto(broker)
    return _summary(config, options, devices) + notes


def _database_in_state_dir(config: CenterConfig, text: str, state_dir: Path) -> tuple[str, list[str]]:
    """The server may write only its state folder (systemd's ProtectSystem=strict) and its /tmp is private
    and emptied at every restart: a SQLite file anywhere else would lose the day. Move it there."""
    if not isinstance(config.storage, SqliteFile):  # PostgreSQL: a server elsewhere keeps it
        return text, []
    database = config.storage.path
    if database.is_relative_to(state_dir):
        return text, []
    moved = state_dir / "center.db"
    text = set_key(text, "storage", "url", toml_string(f"sqlite:///{moved}"))
    return text, [f"note: the server's database is {moved} (the service keeps and may write only {state_dir})"]


def _password(existing: Path, rotate: bool) -> str:
    if not rotate and existing.is_file():
        kept = existing.read_text(encoding="utf-8").strip()
        if kept:
            return kept
    return secrets.token_urlsafe(24)


def _authority(folder: Path, center_id: str) -> Authority:
    authority = Authority(folder / "ca.crt", folder / "ca.key")
    if authority.cert_file.is_file() and authority.key_file.is_file():
        return authority  # devices already trust it
    made = make_authority(folder, f"QMS {center_id} CA {secrets.token_hex(4)}", days=CA_DAYS)
    folder.chmod(0o700)
    return made


def _certificate_hosts(options: Options) -> tuple[str, ...]:
    hosts = [options.broker_host, *([options.bind] if options.bind else []), "localhost", "127.0.0.1"]
    return tuple(dict.fromkeys(h for h in hosts if h not in ("0.0.0.0", "::")))


def _write(path: Path, text: str, mode: int) -> None:
    """Atomically, and never readable by others in between: created 0600, then given `mode`."""
    temporary = path.with_name(f".{path.name}.new")
    temporary.unlink(missing_ok=True)
    with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as out:
        out.write(text)
    temporary.chmod(mode)
    temporary.replace(path)


def _share_with_mosquitto(broker: Path) -> list[str]:
    """Mosquitto drops to its own user before reading its files: give them its group where we can."""
    try:
        group = grp.getgrnam("mosquitto").gr_gid
    except KeyError:
        return ["note: no 'mosquitto' group here; systemd/install.sh gives the broker's files to it on the server"]
    if os.geteuid() != 0:
        return ["note: not root, so the broker's files keep your group; systemd/install.sh gives them to mosquitto"]
    broker.chmod(0o750)
    os.chown(broker, -1, group)
    for path in broker.iterdir():
        os.chown(path, -1, group)
    return []


def _summary(config: CenterConfig, options: Options, devices: list[Device]) -> list[str]:
    scheme = "mqtts" if options.tls else "mqtt"
    lines = [f"provisioned center {config.center_id} in {options.out}: devices connect to "
             f"{scheme}://{options.broker_host}:{options.port}"]
    for device in devices:
        if device.role == "admin":
            lines.append(f"  {device.role:8} {device.username:32} central_server void, with "
                         f"{options.out / device.folder / device.password_name}")
            continue
        config_file = options.out / device.folder / device.config_name
        lines.append(f"  {device.role:8} {device.username:32} sudo ./systemd/install.sh {device.role} {config_file}")
    consoles = [device for device in devices if device.role == "console"]
    for console in consoles:
        scheme, port = ("https", CONSOLE_PORTS[True]) if options.tls else ("http", CONSOLE_PORTS[False])
        lines.append(f"  staff reach console {console.id} at {scheme}://{options.broker_host}:{port}"
                     + (f" once their browsers trust {options.out / 'ca' / CA_FILE}" if options.tls else ""))
    if not options.tls:
        lines.append("warning: without --tls the passwords cross the center's network in clear text"
                     + (", and so do the staff's sign-ins to the console (plain http)" if consoles else ""))
    if options.broker_host_guessed:
        lines.append(f"warning: devices will look for the broker at {options.broker_host}; if that is not how the "
                     "center's network names the server, run again with --broker-host")
    lines.extend(_rating_buttons_warning(config.rules.rating_levels))
    lines.append("kiosk and board configs keep the example's hardware sections: edit [printer], [screen] and [leds]")
    return lines


def _rating_buttons_warning(levels: tuple[str, ...]) -> list[str]:
    """When the counter example has not one rating button per level: the buttons take the levels by position."""
    buttons = len(RATING_LEVEL.findall((TEMPLATES / "counter.example.toml").read_text(encoding="utf-8")))
    if buttons == len(levels):
        return []
    which = "some levels cannot be given" if buttons < len(levels) else "some buttons stay dark"
    return [f"warning: the center has {len(levels)} rating levels and the counter example {buttons} rating buttons: "
            f"the buttons take the levels by position ({which}); `python -m rating_terminal --check --center` shows "
            "each button's level and the stickers to change"]


# --- the command ----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = load(Path(args.config), on_this_host=False)
    except ConfigError as exc:
        print(f"central_server provision: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        print(f"central_server provision: --out {out} is not a folder", file=sys.stderr)
        return 2
    default_port = 8883 if args.tls else (config.mqtt.port if not config.mqtt.tls else 1883)
    options = Options(out=out.resolve(), tls=args.tls, rotate=args.rotate,
                      broker_host=args.broker_host or _default_broker_host(config), bind=args.bind,
                      port=args.port or default_port, mosquitto_dir=Path(args.mosquitto_dir),
                      state_dir=Path(args.state_dir),
                      broker_host_guessed=not args.broker_host and _is_loopback(config.mqtt.host))
    for line in provision(config, options):
        print(line)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="central_server provision",
                                     description="Write device configs, passwords and the broker's files for a center.")
    parser.add_argument("--config", required=True, metavar="FILE", help="the center config")
    parser.add_argument("--out", required=True, metavar="DIR", help="where to write (re-running keeps passwords)")
    parser.add_argument("--tls", action="store_true", help="a CA and a broker certificate; devices use mqtts://")
    parser.add_argument("--rotate", action="store_true", help="new passwords for every device and the server")
    parser.add_argument("--broker-host", metavar="HOST",
                        help="how devices reach the broker (default: the config's MQTT host, else <hostname>.local)")
    parser.add_argument("--bind", metavar="ADDRESS", help="the broker listens only on this address (default: all)")
    parser.add_argument("--port", type=_port, metavar="PORT", help="the broker's port (default 1883, 8883 with --tls)")
    parser.add_argument("--mosquitto-dir", default="/etc/mosquitto/qms", metavar="DIR",
                        help="where the broker's files are installed on the server (default /etc/mosquitto/qms)")
    parser.add_argument("--state-dir", default="/var/lib/qms", metavar="DIR",
                        help="where devices keep their state (default /var/lib/qms)")
    return parser


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port 1-65535, got {text!r}")
    return int(text)


def _default_broker_host(config: CenterConfig) -> str:
    if not _is_loopback(config.mqtt.host):
        return config.mqtt.host
    return f"{socket.gethostname()}.local"  # mDNS: Raspberry Pi OS and Debian resolve it with avahi


def _is_loopback(host: str) -> bool:
    return host in LOOPBACK or (is_ip(host) and host.startswith("127."))
