"""systemd/install.sh into a DESTDIR, for every role: the code, the config and its secrets, the user and
its groups, the unit and its enable link, the broker's files; run again, it changes nothing; wrong
arguments and wrong configs change nothing. The laid-out unit's own command line then really runs.

The venv is made beforehand (no network in tests): a venv of this Python that sees the dev venv's
packages, and the stamp that tells the installer it was made for this pyproject.toml.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.deploy.unitfile import INSTALL, ROLES, SYSTEMD, Role, Unit, verify
from tests.harness import CENTER_TOML, ROOT

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("systemd-sysusers", "systemctl", "flock")),
    reason="the installer needs systemd-sysusers, systemctl and flock",
)

PASSWORD = "s3cret-password\n"
SOURCES = {
    "server": CENTER_TOML.format(center_id="c1", url="mqtt://127.0.0.1:1883", db="{state}/center.db",
                                 day_starts="00:00", window_s=120),
    "kiosk": """
[kiosk]
id = "k1"
center = "c1"
journal = "{state}/kiosk-journal.db"

[mqtt]
url = "mqtts://qms.local:8883"
username = "c1-kiosk-k1"
password_file = "mqtt.password"
ca_file = "ca.crt"

[printer]
connection = "network"
host = "192.0.2.10"
port = 9100
paper = "80mm"
""",
    "board": """
[board]
id = "board-1"
center = "c1"

[mqtt]
url = "mqtt://qms.local:1883"
username = "c1-board-board-1"
password_file = "mqtt.password"
""",
    "counter": """
[terminal]
counter = "1"
center = "c1"
outbox = "{state}/outbox.db"

[mqtt]
url = "mqtt://qms.local:1883"
username = "c1-counter-1"
password_file = "mqtt.password"
""",
    "console": """
[console]
id = "console-1"
center = "c1"
accounts = "{state}/console-1-accounts.db"
listen = "0.0.0.0"
port = 8443

[mqtt]
url = "mqtts://qms.local:8883"
username = "c1-console-console-1"
password_file = "mqtt.password"
ca_file = "ca.crt"
""",
    "web": """
[web]
id = "web-1"
center = "c1"
listen = "127.0.0.1"
port = 8090
trusted_proxies = ["127.0.0.1"]

[mqtt]
url = "mqtts://qms.local:8883"
username = "c1-web-web-1"
password_file = "mqtt.password"
ca_file = "ca.crt"
""",
}
CONSOLE_TLS = {"ca.crt": "CA\n", "console.crt": "CONSOLE CERT\n", "console.key": "CONSOLE KEY\n"}
BROKER_FILES = {"qms.conf": "listener 1883\n", "passwd": "c1-server:$7$hash\n", "acl": "user c1-server\n",
                "ca.crt": "CA\n", "server.crt": "CERT\n", "server.key": "KEY\n"}


def source_folder(tmp_path: Path, role: Role) -> Path:
    """What `central_server provision` hands over for one device: the config, mqtt.password [, ca.crt]
    [, mosquitto/]. Paths the agent writes point into the test's folder: --check looks at this host."""
    folder = tmp_path / "provisioned" / role.name
    folder.mkdir(parents=True)
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    text = SOURCES[role.name].replace("{state}", str(state))
    if role.name == "server":
        text = text.replace('url = "mqtt://127.0.0.1:1883"',
                            'url = "mqtt://127.0.0.1:1883"\nusername = "c1-server"\npassword_file = "mqtt.password"')
    (folder / role.config_name).write_text(text, encoding="utf-8")
    (folder / "mqtt.password").write_text(PASSWORD)
    (folder / "mqtt.password").chmod(0o600)
    if role.name in ("kiosk", "web"):
        (folder / "ca.crt").write_text("CA\n")
    if role.name == "console":  # what `provision --tls` puts beside it (its [tls] table comes with the console's)
        for name, content in CONSOLE_TLS.items():
            (folder / name).write_text(content)
        (folder / "console.key").chmod(0o600)
    if role.name == "server":
        (folder / "admin.password").write_text(PASSWORD)  # the manager's, for `central_server void`
        (folder / "mosquitto").mkdir()
        for name, content in BROKER_FILES.items():
            (folder / "mosquitto" / name).write_text(content)
    return folder / role.config_name


def preseed_venv(destdir: Path) -> Path:
    """/opt/qms/venv as install.sh would leave it, without pip or the network: a venv of this Python
    (copies, so that `systemd-analyze verify --root` finds a real program inside the root) whose
    site-packages also holds the dev venv's packages, but not the project itself."""
    venv = destdir / "opt/qms/venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--copies", str(venv)], check=True, timeout=60)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    (venv / "lib" / version / "site-packages" / "dev-packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    stamp = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    (venv / ".qms-pyproject.sha256").write_text(stamp + "\n")
    return venv


def install(destdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DESTDIR": str(destdir)}
    return subprocess.run(["bash", str(INSTALL), *args], capture_output=True, text=True, env=env, timeout=120)


def installed(
    tmp_path: Path, role: Role, *, etc_group: str = ""
) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    destdir = tmp_path / "dest"
    preseed_venv(destdir)
    if etc_group:
        (destdir / "etc").mkdir(parents=True, exist_ok=True)
        (destdir / "etc/group").write_text(etc_group)
    config = source_folder(tmp_path, role)
    done = install(destdir, role.name, str(config))
    assert done.returncode == 0, done.stdout + done.stderr
    return destdir, config, done


class Installed(NamedTuple):
    role: Role
    destdir: Path
    config: Path
    done: subprocess.CompletedProcess[str]


def group_table(destdir: Path) -> dict[str, tuple[int, set[str]]]:
    groups = {}
    for line in (destdir / "etc/group").read_text().splitlines():
        name, _, gid, members = line.split(":")
        groups[name] = (int(gid), set(filter(None, members.split(","))))
    return groups


def owner_mode(path: Path) -> tuple[int, int, int]:
    info = path.lstat()
    return info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)


def snapshot(destdir: Path) -> dict[str, tuple[object, ...]]:
    """Every path below destdir: owner, group, mode and content (or link target)."""
    seen: dict[str, tuple[object, ...]] = {}
    for path in sorted(destdir.rglob("*")):
        info = path.lstat()
        content: object = None
        if path.is_symlink():
            content = os.readlink(path)
        elif path.is_file():
            content = hashlib.sha256(path.read_bytes()).hexdigest()
        seen[str(path.relative_to(destdir))] = (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode), content)
    return seen


def unit_command(destdir: Path, role: Role) -> tuple[list[str], dict[str, str]]:
    """The installed unit's ExecStart= and Environment=, with /opt/qms and /etc/qms moved into destdir."""
    unit = Unit.read(destdir / "etc/systemd/system" / role.unit)
    exec_start = unit.get("Service", "ExecStart")
    assert exec_start is not None

    def moved(text: str) -> str:
        return re.sub(r"(?<![\w/])/(opt|etc)/qms\b", lambda m: f"{destdir}/{m.group(1)}/qms", text)

    env = {name: moved(value) for name, value in unit.environment().items()}
    return [moved(word) for word in shlex.split(exec_start)], env


@pytest.fixture(scope="module", params=list(ROLES.values()), ids=list(ROLES))
def laid_out(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """One install per role (no group mosquitto), shared by the tests that only look at it."""
    role: Role = request.param
    destdir, config, done = installed(tmp_path_factory.mktemp(role.name), role)
    return Installed(role, destdir, config, done)


def test_install_lays_out_the_role(laid_out: Installed) -> None:
    role, destdir, config = laid_out.role, laid_out.destdir, laid_out.config
    app = destdir / "opt/qms/app"
    # the code: tracked source only, the venv beside it where code that looks for ".venv" finds it
    assert (app / role.module / "__main__.py").is_file() and (app / "protocol/agent.py").is_file()
    assert (app / f"systemd/{role.unit}").read_bytes() == (SYSTEMD / role.unit).read_bytes()
    assert not (app / "tests").exists() and not (app / "benchmarks").exists() and not (app / "devkit").exists()
    assert os.readlink(app / ".venv") == "../venv" and (app / ".venv/bin/python").exists()
    assert all(not stat.S_IMODE(p.lstat().st_mode) & 0o022 for p in app.rglob("*") if not p.is_symlink())
    assert list(app.glob(f"{role.module}/__pycache__/*.pyc")), "compiled: /opt/qms/app is read-only to the service"
    # the user and the role's device groups
    groups = group_table(destdir)
    passwd = {line.split(":")[0]: line.split(":") for line in (destdir / "etc/passwd").read_text().splitlines()}
    assert passwd["qms"][6] == "/usr/sbin/nologin"
    qms_gid = groups["qms"][0]
    assert int(passwd["qms"][3]) == qms_gid
    assert {name for name, (_, members) in groups.items() if "qms" in members} == role.groups
    # the config and its secrets: root:qms, not world-readable
    etc = destdir / "etc/qms" / role.name
    assert owner_mode(etc) == (0, qms_gid, 0o750)
    assert (etc / role.config_name).read_bytes() == config.read_bytes()
    beside = {"kiosk": ["ca.crt"], "server": ["admin.password"], "console": list(CONSOLE_TLS),
              "web": ["ca.crt"]}.get(role.name, [])
    secrets = [role.config_name, "mqtt.password", *beside]
    assert sorted(p.name for p in etc.iterdir()) == sorted(secrets)
    for name in secrets:
        assert owner_mode(etc / name) == (0, qms_gid, 0o640), name
    assert (etc / "mqtt.password").read_text() == PASSWORD
    if role.name == "console":
        assert all((etc / name).read_text() == content for name, content in CONSOLE_TLS.items())
    # the state, before the first start (--check needs the folders a config names)
    assert owner_mode(destdir / "var/lib/qms") == (int(passwd["qms"][2]), qms_gid, 0o750)
    # the unit, enabled
    unit = destdir / "etc/systemd/system" / role.unit
    assert unit.read_bytes() == (SYSTEMD / role.unit).read_bytes()
    wants = destdir / "etc/systemd/system/multi-user.target.wants" / role.unit
    assert os.readlink(wants) == f"/etc/systemd/system/{role.unit}"
    # the test's configs keep the database and the outbox in its own folder: the installer warns that
    # the service could not write there (ProtectSystem=strict, a private /tmp)
    writes_outside = "the service can write only below /var/lib/qms" in laid_out.done.stderr
    assert writes_outside == (role.name in ("server", "counter", "kiosk", "console"))
    # only the console says how to make its first admin, only the citizen web how to put the proxy in front
    assert ("the first admin, if there is none yet" in laid_out.done.stdout) == (role.name == "console")
    assert ("put a reverse proxy with TLS in front of it" in laid_out.done.stdout) == (role.name == "web")
    assert "[web] listen" not in laid_out.done.stderr
    # the broker's files: without a group mosquitto here they stay root's, and the installer says so
    assert ("no group mosquitto" in laid_out.done.stderr) == (role.name == "server")
    if role.name == "server":
        assert owner_mode(destdir / "etc/mosquitto/qms/server.key") == (0, 0, 0o640)
    if shutil.which("systemd-analyze"):
        verified = verify(destdir, role.unit)  # the unit as laid out: its ExecStart= program is in the root
        assert (verified.returncode, verified.stdout + verified.stderr) == (0, "")


def test_the_installed_units_command_line_runs(laid_out: Installed, tmp_path: Path) -> None:
    """The unit's ExecStart= and Environment=, moved into DESTDIR: the config checks, and the code that
    runs is the copy in /opt/qms/app (the venv does not hold the project)."""
    role, destdir = laid_out.role, laid_out.destdir
    command, env = unit_command(destdir, role)
    assert command[0] == str(destdir / "opt/qms/venv/bin/python")
    run_env = {"PATH": os.environ["PATH"], **env}
    checked = subprocess.run([*command, "--check"], capture_output=True, text=True, env=run_env, cwd=tmp_path,
                             timeout=60)
    assert checked.returncode == 0, checked.stderr
    assert "c1" in checked.stdout
    where = subprocess.run([command[0], "-P", "-c", f"import {role.module}; print({role.module}.__file__)"],
                           capture_output=True, text=True, env=run_env, cwd=tmp_path, timeout=60)
    assert Path(where.stdout.strip()).is_relative_to(destdir / "opt/qms/app"), where.stdout + where.stderr
    bare = subprocess.run([command[0], "-P", "-c", f"import {role.module}"], capture_output=True, env={}, timeout=60)
    assert bare.returncode != 0, "without the unit's PYTHONPATH the code must not be found"
    if role.name == "board":  # the clips the installer made are where the board looks for them
        found = re.search(r"^voice from (\S+)", checked.stdout, re.MULTILINE)
        assert found is not None, checked.stdout
        assert (Path(found.group(1)) / "chime.wav").is_file()
        assert len(list((destdir / "opt/qms/venv/share/qms-voice").glob("*.wav"))) > 50


def test_server_install_gives_the_broker_its_files_and_running_it_again_changes_nothing(tmp_path: Path) -> None:
    destdir, config, first = installed(tmp_path, ROLES["server"], etc_group="mosquitto:x:4242:\n")
    conf = destdir / "etc/mosquitto/conf.d/qms.conf"
    assert conf.read_text() == BROKER_FILES["qms.conf"] and owner_mode(conf) == (0, 0, 0o644)
    broker = destdir / "etc/mosquitto/qms"
    assert owner_mode(broker) == (0, 4242, 0o750)  # Mosquitto reads them after dropping to its user
    assert sorted(p.name for p in broker.iterdir()) == sorted(set(BROKER_FILES) - {"qms.conf"})
    for path in broker.iterdir():
        assert path.read_text() == BROKER_FILES[path.name]
        assert owner_mode(path) == (0, 4242, 0o640), path.name
    assert "installing the Python packages" not in first.stdout  # the pre-seeded venv was kept
    before = snapshot(destdir)
    again = install(destdir, "server", str(config))
    assert again.returncode == 0, again.stderr
    assert "installing the Python packages" not in again.stdout
    assert snapshot(destdir) == before


def test_running_it_on_the_installed_config_keeps_it(tmp_path: Path) -> None:
    destdir, config, _ = installed(tmp_path, ROLES["counter"])
    target = destdir / "etc/qms/counter/counter.toml"
    before = snapshot(destdir)
    again = install(destdir, "counter", str(target))
    assert again.returncode == 0, again.stderr
    assert target.read_bytes() == config.read_bytes()
    assert snapshot(destdir) == before


def test_a_config_that_does_not_check_changes_nothing(tmp_path: Path) -> None:
    destdir, config, _ = installed(tmp_path, ROLES["counter"])
    before = snapshot(destdir)
    config.write_text(config.read_text().replace('counter = "1"', 'counter = "1 2"'))
    refused = install(destdir, "counter", str(config))
    assert refused.returncode == 2
    assert "not a valid counter config" in refused.stderr and "counter.toml" in refused.stderr
    assert snapshot(destdir) == before


@pytest.mark.parametrize("args", [[], ["kiosk"], ["kiosk", "a.toml", "extra"]], ids=["none", "one", "three"])
def test_wrong_arguments_print_the_usage(tmp_path: Path, args: list[str]) -> None:
    done = install(tmp_path / "dest", *args)
    assert done.returncode == 2
    assert done.stderr.startswith("usage: ") and done.stderr.count("\n") == 1
    assert not (tmp_path / "dest").exists()


def test_an_unknown_role_or_a_missing_config_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(SOURCES["kiosk"])
    unknown = install(tmp_path / "dest", "printer", str(config))
    missing = install(tmp_path / "dest", "kiosk", str(tmp_path / "nowhere.toml"))
    assert (unknown.returncode, missing.returncode) == (2, 2)
    assert unknown.stderr == ("install.sh: unknown role 'printer': expected server, kiosk, board, counter, "
                              "console or web\n")
    assert missing.stderr == f"install.sh: no config file '{tmp_path / 'nowhere.toml'}'\n"
    assert not (tmp_path / "dest").exists()


def test_the_console_install_says_how_to_make_the_first_admin_and_that_command_works(tmp_path: Path) -> None:
    """The line it prints, run with its paths moved into DESTDIR (and as this user rather than `sudo -u qms`)."""
    destdir, _, done = installed(tmp_path, ROLES["console"])
    said = re.search(r"^install.sh: the first admin, if there is none yet: (.+)$", done.stdout, re.MULTILINE)
    assert said is not None, done.stdout
    words = shlex.split(said.group(1))
    assert words[:3] == ["sudo", "-u", "qms"]  # the console refuses an accounts file not its own user's
    assert words[3:5] == ["env", "PYTHONPATH=/opt/qms/app"] and words[5] == "/opt/qms/venv/bin/python"
    assert words[words.index("--config") + 1] == "/etc/qms/console/console.toml"

    def moved(text: str) -> str:
        return re.sub(r"(?<![\w/])/(opt|etc)/qms\b", lambda m: f"{destdir}/{m.group(1)}/qms", text)

    made = subprocess.run([moved(word) for word in words[3:]], input="mật khẩu đủ dài 12\n", capture_output=True,
                          text=True, cwd=tmp_path, env={"PATH": os.environ["PATH"]}, timeout=60)
    accounts = tmp_path / "state" / "console-1-accounts.db"
    assert made.returncode == 0, made.stderr
    assert made.stdout == f"staff_console: added admin (Nguyễn Văn A) as admin in {accounts}\n"
    assert stat.S_IMODE(accounts.stat().st_mode) == 0o600


def test_a_console_on_a_privileged_port_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    destdir, config, _ = installed(tmp_path, ROLES["console"])
    before = snapshot(destdir)
    config.write_text(config.read_text().replace("port = 8443", "port = 443"))
    refused = install(destdir, "console", str(config))
    assert refused.returncode == 2
    assert "[console] port = 443: the service binds with no capability" in refused.stderr
    assert snapshot(destdir) == before


def test_the_web_install_points_to_the_reverse_proxy_example_which_it_installed(tmp_path: Path) -> None:
    """The citizen web serves plain HTTP on the loopback: the installer says where the nginx example is, and it is
    there (a tracked file of the checkout, copied with the code)."""
    destdir, _, done = installed(tmp_path, ROLES["web"])
    said = re.search(r"^install.sh: the citizen web serves plain HTTP on 127.0.0.1 only; .*?(/opt/qms/app/\S+\.conf) ",
                     done.stdout, re.MULTILINE)
    assert said is not None, done.stdout
    example = destdir / said.group(1).lstrip("/")
    assert example.read_bytes() == (ROOT / "firmware_configs/nginx/citizen-web.conf").read_bytes()
    assert "proxy_pass http://qms_citizen_web;" in example.read_text(encoding="utf-8")


def test_a_web_listening_beyond_the_loopback_is_warned_about_and_one_on_a_privileged_port_refused(
    tmp_path: Path,
) -> None:
    destdir, config, _ = installed(tmp_path, ROLES["web"])
    text = config.read_text()
    config.write_text(text.replace('listen = "127.0.0.1"', 'listen = "0.0.0.0"'))
    warned = install(destdir, "web", str(config))
    assert warned.returncode == 0, warned.stderr
    assert "[web] listen = '0.0.0.0': the citizen web is meant to be reached only through the reverse proxy" in (
        warned.stderr)
    before = snapshot(destdir)
    config.write_text(text.replace("port = 8090", "port = 443"))
    refused = install(destdir, "web", str(config))
    assert refused.returncode == 2
    assert "[web] port = 443: the service binds with no capability" in refused.stderr
    assert snapshot(destdir) == before
