"""`central_server provision`: the files it writes, kept passwords, configs every agent accepts, bad input."""

from __future__ import annotations

import base64
import hashlib
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from paho.mqtt.client import topic_matches_sub

from central_server.__main__ import main as server_main
from central_server.config_text import replace_table, set_key
from central_server.provision import TUNING, Device, password_line
from tests.harness import CENTER_TOML, ROOT

DEVICES_TOML = """
[[kiosks]]
id = "k1"
name = "Ki-ốt sảnh chính"

[[kiosks]]
id = "k2"

[[boards]]
id = "board-1"

[[consoles]]
id = "console-1"

[citizen_web]
url = "https://hang-doi.example.gov.vn"
ids = ["web-1"]
"""
CONSOLE = "console-console-1"  # the console's folder: console-<id>
WEB = "web-web-1"  # the citizen web's folder: web-<id>


def center_file(folder: Path, extra: str = DEVICES_TOML) -> Path:
    path = folder / "center-in.toml"
    text = CENTER_TOML.format(center_id="rach-gia", url="mqtt://127.0.0.1:1883", db=folder / "center.db",
                              day_starts="00:00", window_s=120)
    path.write_text(text + extra, encoding="utf-8")
    return path


def provision(folder: Path, *extra: str, config: Path | None = None) -> Path:
    out = folder / "out"
    code = server_main(["provision", "--config", str(config or center_file(folder)), "--out", str(out),
                        "--broker-host", "qms-server.local", "--state-dir", str(folder), *extra])
    assert code == 0
    return out


def passwords(out: Path) -> dict[str, str]:
    """Every user's password by where it lies: the folder, or `admin` for the manager's."""
    found = {p.parent.name: p.read_text().strip() for p in out.glob("*/mqtt.password")}
    return {**found, "admin": (out / "server" / "admin.password").read_text().strip()}


def test_every_device_gets_a_folder_a_config_and_its_own_password(tmp_path: Path) -> None:
    out = provision(tmp_path)
    folders = {p.name for p in out.iterdir() if p.is_dir()}
    assert folders == {"server", "kiosk-k1", "kiosk-k2", "board-board-1", "counter-1", "counter-2", "counter-3",
                       CONSOLE, WEB}
    secrets = passwords(out)
    assert len(set(secrets.values())) == 10 and all(len(s) >= 32 for s in secrets.values())
    assert stat.S_IMODE((out / "kiosk-k1" / "mqtt.password").stat().st_mode) == 0o600
    assert stat.S_IMODE((out / "server" / "admin.password").stat().st_mode) == 0o600
    kiosk = tomllib.loads((out / "kiosk-k1" / "kiosk.toml").read_text())
    assert kiosk["kiosk"] == {**kiosk["kiosk"], "id": "k1", "center": "rach-gia",
                              "journal": str(tmp_path / "kiosk-journal.db")}
    assert kiosk["mqtt"] == {"url": "mqtt://qms-server.local:1883", "username": "rach-gia-kiosk-k1",
                             "password_file": "mqtt.password"}
    counter = tomllib.loads((out / "counter-2" / "counter.toml").read_text())
    assert counter["terminal"]["counter"] == "2" and counter["mqtt"]["username"] == "rach-gia-counter-2"
    assert counter["terminal"]["outbox"] == str(tmp_path / "outbox.db")
    server = tomllib.loads((out / "server" / "center.toml").read_text())
    assert server["mqtt"] == {"url": "mqtt://127.0.0.1:1883", "username": "rach-gia-server",
                              "password_file": "mqtt.password"}
    assert [a["id"] for a in server["areas"]] == ["dat-dai", "tu-phap", "nho", "dong"]  # the rest is untouched


def test_the_password_file_holds_every_user_hashed_as_mosquitto_checks_it(tmp_path: Path) -> None:
    out = provision(tmp_path)
    secrets = passwords(out)
    lines = (out / "server" / "mosquitto" / "passwd").read_text().splitlines()
    by_user = dict(line.split(":", 1) for line in lines)
    assert set(by_user) == {"rach-gia-server", "rach-gia-kiosk-k1", "rach-gia-kiosk-k2", "rach-gia-board-board-1",
                            "rach-gia-counter-1", "rach-gia-counter-2", "rach-gia-counter-3",
                            "rach-gia-console-console-1", "rach-gia-web-web-1", "rach-gia-admin"}
    _, kind, rounds, salt, digest = by_user["rach-gia-kiosk-k1"].split("$")
    assert kind == "7"
    expected = hashlib.pbkdf2_hmac("sha512", secrets["kiosk-k1"].encode(), base64.b64decode(salt), int(rounds))
    assert base64.b64decode(digest) == expected
    assert secrets["kiosk-k1"] not in (out / "server" / "mosquitto" / "passwd").read_text()
    _, _, rounds, salt, digest = by_user["rach-gia-console-console-1"].split("$")
    assert base64.b64decode(digest) == hashlib.pbkdf2_hmac("sha512", secrets[CONSOLE].encode(),
                                                            base64.b64decode(salt), int(rounds))
    _, _, rounds, salt, digest = by_user["rach-gia-admin"].split("$")
    assert base64.b64decode(digest) == hashlib.pbkdf2_hmac("sha512", secrets["admin"].encode(),
                                                            base64.b64decode(salt), int(rounds))


def test_our_hash_is_the_one_mosquitto_passwd_writes(tmp_path: Path) -> None:
    made = subprocess.run(["mosquitto_passwd", "-c", "-b", str(tmp_path / "pw"), "alice", "s3cret"],
                          capture_output=True, text=True, check=True)
    assert made.returncode == 0
    theirs = (tmp_path / "pw").read_text().strip()
    salt = base64.b64decode(theirs.split("$")[3])
    assert password_line("alice", "s3cret", salt) == theirs


def test_rerunning_keeps_passwords_and_rotate_replaces_them(tmp_path: Path) -> None:
    first = passwords(provision(tmp_path))
    assert passwords(provision(tmp_path)) == first
    rotated = passwords(provision(tmp_path, "--rotate"))
    assert set(rotated) == set(first) and not set(rotated.values()) & set(first.values())


def acl_rules(out: Path) -> dict[str, list[tuple[str, str]]]:
    """The written ACL: each user's (access, topic) rules, in order."""
    rules: dict[str, list[tuple[str, str]]] = {}
    for line in (out / "server" / "mosquitto" / "acl").read_text().splitlines():
        match line.split():
            case ["user", user]:
                rules[user] = []
            case ["topic", access, topic]:
                rules[user].append((access, topic))
            case ["pattern", *_]:
                raise AssertionError(f"a pattern rule: {line}")  # %c patterns are spoofable (DESIGN.md)
    return rules


def test_no_device_may_read_what_it_writes(tmp_path: Path) -> None:
    """A device that could read its own requests would have the broker queue its own flood for it (issue 13).
    A read rule with a wildcard counts for every topic it matches: `device/+/status` reads one's own status."""
    rules = acl_rules(provision(tmp_path))
    devices = {user: found for user, found in rules.items() if user != "rach-gia-server"}
    assert len(devices) == 9
    for user, found in devices.items():
        read = {topic for access, topic in found if access in ("read", "readwrite")}
        written = {topic for access, topic in found if access in ("write", "readwrite")}
        assert written and not any(topic_matches_sub(r, w) for r in read for w in written), user
        assert not any(topic.endswith("#") for topic in read), user
    assert {t for a, t in devices["rach-gia-counter-1"] if a == "read"} == {
        f"qms/v1/rach-gia/{t}" for t in ("config", "server/status", "counter/1/command/response",
                                         "counter/1/rating/ack", "counter/1/state")}
    assert devices["rach-gia-admin"] == [("write", "qms/v1/rach-gia/admin/manager/request"),
                                         ("read", "qms/v1/rach-gia/admin/manager/response")]


def test_the_console_gets_exactly_its_topics(tmp_path: Path) -> None:
    """Issue 15: it asks for counters on its own request topic and shows the live floor; it reads every other
    device's status by name (not `device/+/status`, which would include the one it writes)."""
    found = acl_rules(provision(tmp_path))["rach-gia-console-console-1"]
    root = "qms/v1/rach-gia"
    assert {t for a, t in found if a == "write"} == {f"{root}/console/console-1/request",
                                                     f"{root}/device/console-1/status"}
    assert {t for a, t in found if a == "read"} == {f"{root}/{t}" for t in (
        "config", "server/status", "floor", "board/state", "counter/+/state", "console/console-1/response",
        "device/k1/status", "device/k2/status", "device/board-1/status", "device/counter-1/status",
        "device/counter-2/status", "device/counter-3/status", "device/web-1/status")}
    assert {a for a, _ in found} == {"read", "write"}  # never readwrite


def test_the_citizen_web_gets_exactly_its_topics(tmp_path: Path) -> None:
    """Issue 16: it faces the internet, so it may only look tickets up and pass phone ratings on (its own request
    topic), and read its answers, the config, the queue and the server's status: no counter, no floor, no board."""
    found = acl_rules(provision(tmp_path))["rach-gia-web-web-1"]
    root = "qms/v1/rach-gia"
    assert {t for a, t in found if a == "write"} == {f"{root}/web/web-1/request", f"{root}/device/web-1/status"}
    assert {t for a, t in found if a == "read"} == {f"{root}/{t}" for t in (
        "config", "server/status", "queue", "web/web-1/response")}
    assert {a for a, _ in found} == {"read", "write"}


def test_the_citizen_webs_config_is_made_from_its_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = provision(tmp_path, "--tls")
    folder = out / WEB
    assert {p.name for p in folder.iterdir()} == {"citizen_web.toml", "mqtt.password", "ca.crt"}
    written = (folder / "citizen_web.toml").read_text(encoding="utf-8")
    config = tomllib.loads(written)
    example = tomllib.loads((ROOT / "firmware_configs" / "citizen_web.example.toml").read_text(encoding="utf-8"))
    assert config["web"] == {**example["web"], "id": "web-1", "center": "rach-gia"}  # listens behind its proxy
    assert config["mqtt"] == {"url": "mqtts://qms-server.local:8883", "username": "rach-gia-web-web-1",
                              "password_file": "mqtt.password", "ca_file": "ca.crt"}
    assert "firmware_configs/citizen_web" not in written and "/etc/qms/web/citizen_web.toml" in written
    assert f"sudo ./systemd/install.sh web {folder / 'citizen_web.toml'}" in capsys.readouterr().out


def test_several_citizen_webs_each_get_their_own_user(tmp_path: Path) -> None:
    extra = DEVICES_TOML.replace('ids = ["web-1"]', 'ids = ["web-1", "web-2"]')
    rules = acl_rules(provision(tmp_path, config=center_file(tmp_path, extra)))
    assert "qms/v1/rach-gia/web/web-2/request" not in {t for _, t in rules["rach-gia-web-web-1"]}
    assert ("write", "qms/v1/rach-gia/web/web-2/request") in rules["rach-gia-web-web-2"]


def test_two_consoles_read_each_others_status_and_not_their_own(tmp_path: Path) -> None:
    out = provision(tmp_path, config=center_file(tmp_path, DEVICES_TOML + '[[consoles]]\nid = "console-2"\n'))
    rules = acl_rules(out)
    for one, other in (("console-1", "console-2"), ("console-2", "console-1")):
        read = {t for a, t in rules[f"rach-gia-console-{one}"] if a == "read"}
        assert f"qms/v1/rach-gia/device/{other}/status" in read
        assert f"qms/v1/rach-gia/device/{one}/status" not in read
    assert {p.name for p in out.glob("console-*")} == {"console-console-1", "console-console-2"}


def test_a_device_removed_from_the_config_loses_its_access(tmp_path: Path) -> None:
    out = provision(tmp_path)
    provision(tmp_path, config=center_file(tmp_path, extra='[[kiosks]]\nid = "k1"\n'))
    users = {line.split(":")[0] for line in (out / "server" / "mosquitto" / "passwd").read_text().splitlines()}
    assert "rach-gia-kiosk-k2" not in users and "rach-gia-board-board-1" not in users
    assert "rach-gia-console-console-1" not in users and "rach-gia-kiosk-k1" in users
    assert "rach-gia-web-web-1" not in users
    acl = (out / "server" / "mosquitto" / "acl").read_text()
    assert "user rach-gia-kiosk-k2" not in acl and "user rach-gia-console-console-1" not in acl
    assert "console" not in acl  # nobody keeps a right on the console's topics


CHECKED = [("central_server", "server/center.toml"), ("kiosk", "kiosk-k1/kiosk.toml"),
           ("display_board", "board-board-1/board.toml"), ("rating_terminal", "counter-3/counter.toml"),
           ("staff_console", f"{CONSOLE}/console.toml")]


@pytest.mark.parametrize(("agent", "config", "tls"), [
    pytest.param(agent, config, tls, id=f"{agent}-{'tls' if tls else 'plain'}")
    for agent, config in CHECKED for tls in (False, True)])
def test_each_written_config_passes_its_agents_check(tmp_path: Path, agent: str, config: str, tls: bool) -> None:
    out = provision(tmp_path, *(["--tls"] if tls else []))
    checked = subprocess.run([sys.executable, "-m", agent, "--config", str(out / config), "--check"],
                             capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert checked.returncode == 0, checked.stderr
    assert ("mqtts://" in checked.stdout) == tls


def test_tls_writes_a_ca_and_a_broker_certificate_for_the_broker_host(tmp_path: Path) -> None:
    out = provision(tmp_path, "--tls")
    broker = out / "server" / "mosquitto"
    shown = subprocess.run(["openssl", "x509", "-in", str(broker / "server.crt"), "-noout", "-ext", "subjectAltName"],
                           capture_output=True, text=True, check=True).stdout
    assert "DNS:qms-server.local" in shown and "DNS:localhost" in shown and "IP Address:127.0.0.1" in shown
    verified = subprocess.run(["openssl", "verify", "-CAfile", str(out / "kiosk-k1" / "ca.crt"),
                               str(broker / "server.crt")], capture_output=True, text=True)
    assert verified.returncode == 0, verified.stderr
    assert stat.S_IMODE((out / "ca" / "ca.key").stat().st_mode) == 0o600
    conf = (broker / "qms.conf").read_text()
    assert "listener 8883\n" in conf and "certfile /etc/mosquitto/qms/server.crt" in conf
    assert tomllib.loads((out / "kiosk-k1" / "kiosk.toml").read_text())["mqtt"]["url"] == "mqtts://qms-server.local:8883"
    ca_before = (out / "ca" / "ca.crt").read_bytes()
    provision(tmp_path, "--tls")
    assert (out / "ca" / "ca.crt").read_bytes() == ca_before  # devices already trust it


def subject_alt_names(certificate: Path) -> set[str]:
    shown = subprocess.run(["openssl", "x509", "-in", str(certificate), "-noout", "-ext", "subjectAltName"],
                           capture_output=True, text=True, check=True).stdout
    return {name.strip() for name in shown.splitlines()[-1].split(",")}


def test_with_tls_the_console_serves_https_with_a_certificate_of_the_center_ca(tmp_path: Path) -> None:
    out = provision(tmp_path, "--tls", "--bind", "10.0.0.5")
    folder = out / CONSOLE
    assert {p.name for p in folder.iterdir()} == {"console.toml", "mqtt.password", "ca.crt", "console.crt",
                                                  "console.key"}
    for name, mode in (("mqtt.password", 0o600), ("console.key", 0o600), ("console.toml", 0o644)):
        assert stat.S_IMODE((folder / name).stat().st_mode) == mode, name
    # the names the broker's certificate has: staff reach the console on the server's machine
    broker = out / "server" / "mosquitto" / "server.crt"
    assert subject_alt_names(folder / "console.crt") == subject_alt_names(broker)
    assert {"DNS:qms-server.local", "IP Address:10.0.0.5"} <= subject_alt_names(folder / "console.crt")
    verified = subprocess.run(["openssl", "verify", "-CAfile", str(folder / "ca.crt"), str(folder / "console.crt")],
                              capture_output=True, text=True)
    assert verified.returncode == 0, verified.stderr
    purpose = subprocess.run(["openssl", "x509", "-in", str(folder / "console.crt"), "-noout", "-ext",
                              "extendedKeyUsage,basicConstraints"], capture_output=True, text=True, check=True).stdout
    assert "TLS Web Server Authentication" in purpose and "CA:FALSE" in purpose
    key = subprocess.run(["openssl", "pkey", "-in", str(folder / "console.key"), "-pubout"], capture_output=True,
                         text=True, check=True).stdout
    cert = subprocess.run(["openssl", "x509", "-in", str(folder / "console.crt"), "-noout", "-pubkey"],
                          capture_output=True, text=True, check=True).stdout
    assert key == cert  # the key is the certificate's
    config = tomllib.loads((folder / "console.toml").read_text())
    assert config["console"] == {**config["console"], "id": "console-1", "center": "rach-gia", "listen": "0.0.0.0",
                                 "port": 8443, "accounts": str(tmp_path / "console-1-accounts.db")}
    assert config["mqtt"] == {"url": "mqtts://qms-server.local:8883", "username": "rach-gia-console-console-1",
                              "password_file": "mqtt.password", "ca_file": "ca.crt"}
    assert config["tls"] == {"cert_file": "console.crt", "key_file": "console.key"}
    assert not list(folder.glob("*.csr")) and not list(folder.glob("*.cnf"))  # openssl's leftovers removed


def test_without_tls_the_console_serves_http_on_8080_and_provision_warns(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = provision(tmp_path)
    folder = out / CONSOLE
    assert {p.name for p in folder.iterdir()} == {"console.toml", "mqtt.password"}
    config = tomllib.loads((folder / "console.toml").read_text())
    assert "tls" not in config and (config["console"]["listen"], config["console"]["port"]) == ("0.0.0.0", 8080)
    assert config["mqtt"]["url"] == "mqtt://qms-server.local:1883"
    said = capsys.readouterr().out
    assert (f"  console  rach-gia-console-console-1       sudo ./systemd/install.sh console "
            f"{folder / 'console.toml'}") in said
    assert "staff reach console console-1 at http://qms-server.local:8080" in said
    assert ("warning: without --tls the passwords cross the center's network in clear text, and so do the staff's "
            "sign-ins to the console") in said


def test_the_consoles_config_keeps_the_examples_comments(tmp_path: Path) -> None:
    example = (ROOT / "firmware_configs" / "staff_console.example.toml").read_text(encoding="utf-8")
    written = (provision(tmp_path, "--tls") / CONSOLE / "console.toml").read_text(encoding="utf-8")
    comments = [line[line.index("#"):] for line in example.splitlines()
                if "#" in line and not line.lstrip().startswith(("# username", "# password_file"))
                and not line.startswith("[mqtt]")]
    mqtt_comment = next(line for line in example.splitlines() if line.startswith("url = "))
    comments.remove(mqtt_comment[mqtt_comment.index("#"):])  # [mqtt] is provision's, as for every device
    comments = [c.replace("firmware_configs/staff_console.example.toml", "/etc/qms/console/console.toml")
                for c in comments]
    assert comments and all(comment in written for comment in comments), [c for c in comments if c not in written]
    assert "firmware_configs/" not in written


def test_the_console_with_tls_is_reached_by_https_and_the_center_ca(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = provision(tmp_path, "--tls")
    said = capsys.readouterr().out
    assert (f"staff reach console console-1 at https://qms-server.local:8443 once their browsers trust "
            f"{out / 'ca' / 'ca.crt'}") in said
    assert "in clear text" not in said


def test_rerunning_keeps_the_console_password_and_reissues_its_certificate(tmp_path: Path) -> None:
    out = provision(tmp_path, "--tls")
    password = (out / CONSOLE / "mqtt.password").read_text()
    certificate = (out / CONSOLE / "console.crt").read_bytes()
    provision(tmp_path, "--tls")
    assert (out / CONSOLE / "mqtt.password").read_text() == password
    assert (out / CONSOLE / "console.crt").read_bytes() != certificate  # re-issued, as the broker's is
    verified = subprocess.run(["openssl", "verify", "-CAfile", str(out / "ca" / "ca.crt"),
                               str(out / CONSOLE / "console.crt")], capture_output=True, text=True)
    assert verified.returncode == 0, verified.stderr
    provision(tmp_path, "--tls", "--rotate")
    assert (out / CONSOLE / "mqtt.password").read_text() != password


def test_the_broker_conf_locks_the_broker_down(tmp_path: Path) -> None:
    conf = (provision(tmp_path, "--bind", "10.0.0.5", "--port", "1884") / "server" / "mosquitto" / "qms.conf")
    lines = conf.read_text().splitlines()
    for wanted in ("allow_anonymous false", "use_username_as_clientid true", "listener 1884 10.0.0.5",
                   "password_file /etc/mosquitto/qms/passwd", "acl_file /etc/mosquitto/qms/acl"):
        assert wanted in lines
    tuning = [line for line in TUNING.read_text().splitlines() if line and not line.startswith("#")]
    assert {"set_tcp_nodelay true", "upgrade_outgoing_qos true"} <= set(tuning)
    assert {line.split()[0] for line in tuning} >= {"max_queued_messages", "max_queued_bytes", "max_inflight_bytes",
                                                    "max_packet_size"}  # every client's memory bounded (issue 13)
    assert set(tuning) <= set(lines)  # the shipped tuning, every line of it
    server = tomllib.loads((conf.parents[1] / "center.toml").read_text())
    assert server["mqtt"]["url"] == "mqtt://10.0.0.5:1884"  # the server reaches the broker where it listens


@pytest.mark.parametrize(("extra", "says"), [
    ('[[kiosks]]\nid = "counter-1"\n', "center-in.toml: [[kiosks]] #1.id: id 'counter-1' is already another device's"),
    ('[[kiosks]]\nid = "k1"\n[[boards]]\nid = "k1"\n', "[[boards]] #1.id: id 'k1' is already another device's"),
    ('[[kiosks]]\nid = "k 1"\n', "kiosks"),
    ('[[boards]]\nid = "b1"\ncolour = "red"\n', "colour: unknown key"),
    ('[[kiosks]]\nid = "k1"\n[[consoles]]\nid = "k1"\n', "[[consoles]] #1.id: id 'k1' is already another device's"),
    ('[[consoles]]\nid = "counter-2"\n', "[[consoles]] #1.id: id 'counter-2' is already another device's"),
    ('[[consoles]]\nid = "c1"\n[[consoles]]\nid = "c1"\n', "[[consoles]] #2.id: id 'c1' is already another device's"),
    ('[[consoles]]\nid = "c/1"\n', "[[consoles]] #1.id"),
    ('[[console]]\nid = "c1"\n', "did you mean [[consoles]]?"),
])
def test_a_wrong_device_list_is_one_line_and_exit_2(tmp_path: Path, extra: str, says: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    code = server_main(["provision", "--config", str(center_file(tmp_path, extra)), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and says in err, err
    assert not (tmp_path / "o").exists()


def test_out_must_be_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("x")
    code = server_main(["provision", "--config", str(center_file(tmp_path)), "--out", str(tmp_path / "file")])
    assert code == 2 and "is not a folder" in capsys.readouterr().err


def test_set_key_keeps_the_comment_and_replace_table_stops_at_the_blank_line() -> None:
    text = '[a]\nid = "x"   # the id\n\n[mqtt]\nurl = "mqtt://h"\n# username = "u"\n\n# keys\n[keys]\nn = 1\n'
    text = set_key(text, "a", "id", '"y"')
    assert '\nid = "y"   # the id\n' in text
    text = replace_table(text, "mqtt", ['url = "mqtts://z:8883"'])
    assert text == '[a]\nid = "y"   # the id\n\n[mqtt]\nurl = "mqtts://z:8883"\n\n# keys\n[keys]\nn = 1\n'


def test_user_names_are_unique_across_roles_and_centers() -> None:
    names = {Device(role, "1", center).username for role in ("kiosk", "board", "counter", "console")
             for center in ("a", "b")}
    assert len(names) == 8 and Device("server", "a", "a").username == "a-server"
    assert Device("console", "console-1", "a").username == "a-console-console-1"
    assert Device("admin", "manager", "a").username == "a-admin"


def test_a_database_outside_the_state_folder_moves_into_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state"
    out = tmp_path / "out"
    assert server_main(["provision", "--config", str(center_file(tmp_path)), "--out", str(out),
                        "--broker-host", "qms-server.local", "--state-dir", str(state)]) == 0
    server = tomllib.loads((out / "server" / "center.toml").read_text())
    assert server["storage"]["url"] == f"sqlite:///{state / 'center.db'}"
    assert f"the server's database is {state / 'center.db'}" in capsys.readouterr().out


def test_secrets_are_never_readable_by_others_and_an_existing_out_keeps_its_mode(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir(mode=0o700)
    provision(tmp_path)
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert stat.S_IMODE((out / "server" / "mqtt.password").stat().st_mode) == 0o600
    assert not list(out.rglob(".*.new"))


def test_counters_rating_buttons_take_the_centers_levels(tmp_path: Path) -> None:
    config = center_file(tmp_path)
    config.write_text(config.read_text().replace('levels = ["very_satisfied", "satisfied", "dissatisfied"]',
                                                 'levels = ["hai-long", "binh-thuong", "khong-hai-long"]'))
    out = provision(tmp_path, config=config)
    counter = tomllib.loads((out / "counter-1" / "counter.toml").read_text())
    assert [r["level"] for r in counter["ratings"]] == ["hai-long", "binh-thuong", "khong-hai-long"]


def test_a_guessed_broker_host_and_a_level_count_mismatch_are_said(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    config = center_file(tmp_path)
    config.write_text(config.read_text().replace('levels = ["very_satisfied", "satisfied", "dissatisfied"]',
                                                 'levels = ["hai-long", "khong-hai-long"]'))
    assert server_main(["provision", "--config", str(config), "--out", str(tmp_path / "o"),
                        "--state-dir", str(tmp_path)]) == 0
    said = capsys.readouterr().out
    assert "warning: devices will look for the broker at" in said and "run again with --broker-host" in said
    assert "the center has 2 rating levels and the counter example 3 rating buttons" in said


def test_the_center_check_lists_the_consoles(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = center_file(tmp_path, DEVICES_TOML + '[[consoles]]\nid = "quay-xem"\nname = "Trang quản lý"\n')
    assert server_main(["--config", str(config), "--check"]) == 0
    said = capsys.readouterr().out.splitlines()
    assert "  console console-1: console-1" in said and "  console quay-xem: Trang quản lý" in said
