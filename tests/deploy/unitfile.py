"""What the deploy tests share: the roles, a systemd unit file reader, `systemd-analyze verify` in a root."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.harness import ROOT

SYSTEMD = ROOT / "systemd"
INSTALL = SYSTEMD / "install.sh"
HOST_UNITS = Path("/usr/lib/systemd/system")


@dataclass(frozen=True, slots=True)
class Role:
    name: str
    module: str
    config_name: str
    groups: frozenset[str]  # its device groups: SupplementaryGroups= and the qms user's memberships

    @property
    def unit(self) -> str:
        return f"qms-{self.name}.service"

    @property
    def config_path(self) -> str:
        return f"/etc/qms/{self.name}/{self.config_name}"


ROLES = {
    "server": Role("server", "central_server", "center.toml", frozenset()),
    "kiosk": Role("kiosk", "kiosk", "kiosk.toml", frozenset({"gpio", "lp", "dialout", "video", "render", "input"})),
    "board": Role("board", "display_board", "board.toml", frozenset({"video", "render", "audio", "dialout"})),
    "counter": Role("counter", "rating_terminal", "counter.toml", frozenset({"gpio", "input", "dialout"})),
    "console": Role("console", "staff_console", "console.toml", frozenset()),
    "web": Role("web", "citizen_web", "citizen_web.toml", frozenset()),
}


class Unit:
    """A unit file as systemd reads it: sections of `Key=value` lines; a key may repeat (Environment=)."""

    def __init__(self, text: str) -> None:
        self.sections: dict[str, list[tuple[str, str]]] = {}
        section: list[tuple[str, str]] | None = None
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("[") and line.endswith("]"):
                section = self.sections.setdefault(line[1:-1], [])
                continue
            assert section is not None, f"a setting before any section: {line!r}"
            assert not line.endswith("\\"), "no continuation lines: keep each setting on one line"
            key, sep, value = line.partition("=")
            assert sep, f"not a Key=value line: {line!r}"
            section.append((key.strip(), value.strip()))

    @classmethod
    def read(cls, path: Path) -> Unit:
        return cls(path.read_text(encoding="utf-8"))

    def values(self, section: str, key: str) -> list[str]:
        return [v for k, v in self.sections.get(section, []) if k == key]

    def get(self, section: str, key: str) -> str | None:
        """The setting's value; None when it is not set (a repeated key is an error here)."""
        found = self.values(section, key)
        assert len(found) <= 1, f"{key}= is set {len(found)} times in [{section}]"
        return found[0] if found else None

    def words(self, section: str, key: str) -> list[str]:
        """A list setting (After=, SupplementaryGroups=…): every line's words, in order."""
        return [w for value in self.values(section, key) for w in value.split()]

    def environment(self) -> dict[str, str]:
        env: dict[str, str] = {}
        for value in self.values("Service", "Environment"):
            for assignment in shlex.split(value):
                name, _, setting = assignment.partition("=")
                env[name] = setting
        return env


def verify(root: Path, *units: str) -> subprocess.CompletedProcess[str]:
    """`systemd-analyze verify` of units installed in `root` (its /etc/systemd/system), with the unit
    files systemd needs around them (sysinit.target, network-online.target…) copied from this host.

    `--root` makes it look for every unit and every ExecStart= binary inside `root`, never on the host.
    It exits 0 on unknown keys and bad values (it only warns), so callers must look at its output.
    """
    kill = root / "bin/kill"  # the server's ExecReload=: a program of the system itself, which every root has
    if not kill.exists():
        kill.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shutil.which("kill") or "/bin/kill", kill)
    system = root / "usr/lib/systemd/system"
    if not system.is_dir():
        system.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(HOST_UNITS, system, symlinks=True)
    return subprocess.run(["systemd-analyze", "verify", f"--root={root}", "--man=no", "--generators=no", *units],
                          capture_output=True, text=True, timeout=60)
