"""The systemd units: systemd-analyze finds nothing to say about them (and does about a broken copy),
and each says what the agents and the installer rely on."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.unitfile import ROLES, SYSTEMD, Role, Unit, verify

HARDENING = {
    "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
    "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes", "RestrictSUIDSGID": "yes", "LockPersonality": "yes", "RestrictRealtime": "yes",
    "RestrictNamespaces": "yes", "CapabilityBoundingSet": "", "SystemCallArchitectures": "native",
}
needs_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")


def unit_of(role: Role) -> Unit:
    return Unit.read(SYSTEMD / role.unit)


@pytest.fixture(scope="module")
def system_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A root with this host's unit files, the repo's units in /etc/systemd/system and an executable
    where ExecStart= expects the venv's python (`verify --root` checks it is there)."""
    root = tmp_path_factory.mktemp("root")
    (root / "etc/systemd/system").mkdir(parents=True)
    python = root / "opt/qms/venv/bin/python"
    python.parent.mkdir(parents=True)
    shutil.copy(shutil.which("true") or "/bin/true", python)
    for role in ROLES.values():
        shutil.copy(SYSTEMD / role.unit, root / "etc/systemd/system" / role.unit)
    yield root


@needs_analyze
@pytest.mark.parametrize("role", ROLES.values(), ids=list(ROLES))
def test_systemd_analyze_verify_says_nothing(system_root: Path, role: Role) -> None:
    verified = verify(system_root, role.unit)
    assert (verified.returncode, verified.stdout + verified.stderr) == (0, "")


@needs_analyze
@pytest.mark.parametrize("fault", [
    ("UMask=0027", "UMask=0027\nWatchDogSec=30"),                 # a misspelt key: exit 0, one warning
    ("WatchdogSec=30", "WatchdogSec=half a minute"),             # a bad value: exit 0, one warning
    ("RestartSec=2", "RestartSec=2\n[Servise]\nUser=qms"),       # an unknown section
    ("/opt/qms/venv/bin/python", "/opt/qms/venv/bin/pyhton"),    # no such program in the root
], ids=["unknown-key", "bad-value", "unknown-section", "missing-program"])
def test_verify_speaks_up_about_a_broken_copy(system_root: Path, fault: tuple[str, str]) -> None:
    """Without this, the test above could pass by never seeing a problem at all."""
    broken = system_root / "etc/systemd/system/qms-broken.service"
    text = (SYSTEMD / "qms-counter.service").read_text(encoding="utf-8")
    assert fault[0] in text
    broken.write_text(text.replace(fault[0], fault[1], 1), encoding="utf-8")
    try:
        verified = verify(system_root, broken.name)
    finally:
        broken.unlink()
    assert (verified.stdout + verified.stderr).strip(), "systemd-analyze saw nothing wrong"


@needs_analyze
@pytest.mark.parametrize(("role", "most"), [(ROLES["server"], 2.0), (ROLES["kiosk"], 3.5), (ROLES["board"], 3.5),
                                            (ROLES["counter"], 3.5), (ROLES["console"], 2.0), (ROLES["web"], 2.0)],
                         ids=list(ROLES))
def test_exposure_stays_low(system_root: Path, role: Role, most: float) -> None:
    """systemd's own scoring of the sandbox (0 best, 10 worst): a dropped hardening line shows here."""
    scored = subprocess.run(["systemd-analyze", "security", "--offline=yes", f"--root={system_root}", "--no-pager",
                             role.unit], capture_output=True, text=True, timeout=60)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d)", scored.stdout)
    assert found is not None, scored.stdout[-600:] + scored.stderr
    assert float(found.group(1)) <= most


@pytest.mark.parametrize("role", ROLES.values(), ids=list(ROLES))
def test_unit_runs_the_role_under_systemds_watch(role: Role) -> None:
    unit = unit_of(role)
    service = dict(unit.sections["Service"])
    assert service["Type"] == "notify" and service["NotifyAccess"] == "main"
    assert service["WatchdogSec"] == "30"
    assert (service["Restart"], service["RestartSec"]) == ("always", "2")
    assert unit.get("Unit", "StartLimitIntervalSec") == "0"  # restarts never run out
    assert (service["User"], service["Group"]) == ("qms", "qms")
    assert service["ExecStart"] == f"/opt/qms/venv/bin/python -P -m {role.module} --config {role.config_path}"
    assert importlib.util.find_spec(f"{role.module}.__main__") is not None
    assert {"network-online.target"} <= set(unit.words("Unit", "After")) & set(unit.words("Unit", "Wants"))
    assert unit.words("Install", "WantedBy") == ["multi-user.target"]


def test_only_the_server_waits_for_mosquitto() -> None:
    for role in ROLES.values():
        unit = unit_of(role)
        ordered = "mosquitto.service" in unit.words("Unit", "After")
        wanted = "mosquitto.service" in unit.words("Unit", "Wants")
        assert ordered == wanted == (role.name == "server"), role.name


def test_the_server_starts_once_the_clock_is_set() -> None:
    """A Pi without a real-time clock boots at the time it last saved: the numbering day comes from the clock."""
    unit = unit_of(ROLES["server"])
    assert "time-sync.target" in unit.words("Unit", "After")
    assert "time-sync.target" not in unit.words("Unit", "Wants"), "a passive target: only its providers pull it in"


@pytest.mark.parametrize("role", ROLES.values(), ids=list(ROLES))
def test_unit_is_hardened_yet_reaches_its_devices(role: Role) -> None:
    unit = unit_of(role)
    for key, value in HARDENING.items():
        assert unit.get("Service", key) == value, key
    families = set(unit.words("Service", "RestrictAddressFamilies"))
    groups = set(unit.words("Service", "SupplementaryGroups"))
    assert groups == role.groups
    if not role.groups:  # the server and the web processes: the network and their own files, no devices at all
        assert unit.get("Service", "PrivateDevices") == "yes" and unit.get("Service", "ProtectClock") == "yes"
        assert unit.get("Service", "SystemCallFilter") == "@system-service"
        assert families == {"AF_UNIX", "AF_INET", "AF_INET6"}
    else:
        # PrivateDevices= hides /dev/gpiochip*, /dev/ttyUSB*, /dev/dri…; ProtectClock= implies a DeviceAllow=
        # list, and any DeviceAllow= list shuts out every device not on it. The groups decide instead.
        for key in ("PrivateDevices", "ProtectClock", "DeviceAllow", "DevicePolicy"):
            assert unit.get("Service", key) in (None, "no"), key
        assert families == {"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"}


@pytest.mark.parametrize("role", ROLES.values(), ids=list(ROLES))
def test_unit_environment(role: Role) -> None:
    env = unit_of(role).environment()
    assert env["PYTHONPATH"] == "/opt/qms/app"
    assert env["QMS_LOG_LEVEL"] == "INFO"
    assert env["PYTHONFAULTHANDLER"] == "1"  # a watchdog SIGABRT leaves every thread's stack in the journal
    assert ("GPIOZERO_PIN_FACTORY" in env) == (role.name in ("kiosk", "counter"))
    assert env.get("GPIOZERO_PIN_FACTORY", "lgpio") == "lgpio"
    assert env.get("SDL_VIDEODRIVER") == ("kmsdrm" if role.name in ("kiosk", "board") else None)
    assert env.get("SDL_AUDIODRIVER") == ("alsa" if role.name == "board" else None)
    assert env.get("ESCPOS_CAPABILITIES_PICKLE_DIR") == ("/var/cache/qms" if role.name == "kiosk" else None)


@pytest.mark.parametrize("role", ROLES.values(), ids=list(ROLES))
def test_unit_writes_only_where_it_may(role: Role) -> None:
    """ProtectSystem=strict leaves writable only the unit's own directories: the state (not the citizen web's: it
    keeps nothing), the cache the escpos pickle goes to, and a working directory for lgpio's FIFO, which is the
    unit's own."""
    unit = unit_of(role)
    keeps_state = role.name != "web"
    assert unit.get("Service", "StateDirectory") == ("qms" if keeps_state else None)
    assert unit.get("Service", "RuntimeDirectory") == f"qms-{role.name}"
    assert unit.get("Service", "WorkingDirectory") == f"/run/qms-{role.name}"
    writable = {f"/run/qms-{role.name}"} | ({"/var/lib/qms"} if keeps_state else set())
    if unit.get("Service", "CacheDirectory") is not None:
        assert unit.get("Service", "CacheDirectory") == "qms"
        writable.add("/var/cache/qms")
    env = unit.environment()
    for name in ("ESCPOS_CAPABILITIES_PICKLE_DIR", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR"):
        if name in env:
            assert env[name] in writable, name
    assert unit.get("Service", "UMask") == "0027"


def test_the_console_binds_its_port_with_no_capability_and_keeps_its_accounts_in_the_state() -> None:
    """Its ports (8443 with TLS, else 8080) are above 1023; its accounts database lies in /var/lib/qms, which
    `add-user`, run as qms, writes outside the sandbox and the service inside it."""
    unit = unit_of(ROLES["console"])
    assert unit.get("Service", "CapabilityBoundingSet") == "" and unit.get("Service", "AmbientCapabilities") == ""
    assert unit.get("Service", "StateDirectory") == "qms" and unit.get("Service", "User") == "qms"
    for key in ("SocketBindDeny", "SocketBindAllow", "IPAddressDeny", "PrivateNetwork"):
        assert unit.get("Service", key) is None, key  # staff PCs on the center's network reach it


def test_the_citizen_web_binds_with_no_capability_and_may_write_nowhere_but_its_working_directory() -> None:
    """It faces the internet (through the proxy): no capability (its port, 8090, is above 1023), no state or cache
    directory, no device; the broker and the proxy are reached over the network."""
    unit = unit_of(ROLES["web"])
    assert unit.get("Service", "CapabilityBoundingSet") == "" and unit.get("Service", "AmbientCapabilities") == ""
    for key in ("StateDirectory", "CacheDirectory", "LogsDirectory", "ReadWritePaths", "SupplementaryGroups"):
        assert unit.get("Service", key) is None, key
    assert unit.get("Service", "PrivateDevices") == "yes" and unit.get("Service", "ProtectProc") == "invisible"
    assert unit.get("Service", "RuntimeDirectoryMode") == "0700" and unit.get("Service", "UMask") == "0027"
