"""scripts/platform.sh and what follows from it, on faked machines: a 32-bit system gets one line from `make install`
and systemd/install.sh and nothing is installed; on aarch64 with Python 3.13 (trixie) lgpio's build packages are
added and scripts/ensure_lgpio.sh builds it (PYPI=1); on x86_64, and on aarch64 with Python 3.11, nothing about lgpio
changes.

The machine is faked with small programs put first on PATH: `uname`, `getconf`, `dpkg`, `dpkg-query` and a
`python3` that answers the version question with the faked version and runs the real Python for anything else.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.deploy.unitfile import INSTALL
from tests.harness import ROOT

SCRIPTS = ROOT / "scripts"
SUPPORTED = '64-bit Raspberry Pi OS or Debian, 12 "bookworm" or 13 "trixie" (arm64 or amd64)'
BUILD_PACKAGES = "swig gcc libc6-dev python3-dev"


class Machine(NamedTuple):
    uname: str  # uname -m (the kernel's)
    dpkg: str  # dpkg --print-architecture (the userland's)
    bits: int  # getconf LONG_BIT (the userland's)
    python: str  # python3's version


PI_BOOKWORM = Machine("aarch64", "arm64", 64, "3.11")
PI_TRIXIE = Machine("aarch64", "arm64", 64, "3.13")
PC_BOOKWORM = Machine("x86_64", "amd64", 64, "3.11")
PC_TRIXIE = Machine("x86_64", "amd64", 64, "3.13")
PI_32BIT = Machine("armv7l", "armhf", 32, "3.11")  # Raspberry Pi OS 32-bit on a Pi 2 or 3
PI_32BIT_ON_64BIT_KERNEL = Machine("aarch64", "armhf", 32, "3.13")  # Raspberry Pi OS 32-bit on a Pi 4 or 5
PC_32BIT = Machine("i686", "i386", 32, "3.11")


def script(path: Path, text: str) -> None:
    path.write_text("#!/bin/bash\n" + text)
    path.chmod(0o755)


def fake_bin(tmp_path: Path, machine: Machine, installed: tuple[str, ...] = ()) -> Path:
    """A folder of fake commands for `machine`; its `dpkg-query` says only the `installed` packages are."""
    folder = tmp_path / "fake-bin"
    folder.mkdir(exist_ok=True)
    script(folder / "uname", f'if [ "$1" = -m ]; then echo {machine.uname}; else exec /bin/uname "$@"; fi\n')
    script(folder / "getconf", f'if [ "$1" = LONG_BIT ]; then echo {machine.bits}; else exit 1; fi\n')
    script(folder / "dpkg", f'if [ "$1" = --print-architecture ]; then echo {machine.dpkg}; else exit 1; fi\n')
    names = " ".join(installed)
    script(folder / "dpkg-query",  # the package is its last argument
           f'case " {names} " in *" ${{!#}} "*) printf installed ;; *) printf not-installed ;; esac\n')
    real = sys.executable
    script(folder / "python3", f'case "$*" in *version_info*) echo {machine.python} ;; *) exec {real} "$@" ;; esac\n')
    return folder


def run(tmp_path: Path, machine: Machine, command: list[str], extra: dict[str, str] | None = None,
        installed: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{fake_bin(tmp_path, machine, installed)}:{os.environ['PATH']}", **(extra or {})}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def sourced(tmp_path: Path, machine: Machine, code: str, installed: tuple[str, ...] = ()
            ) -> subprocess.CompletedProcess[str]:
    return run(tmp_path, machine, ["bash", "-c", f"source {SCRIPTS / 'platform.sh'}; {code}"], installed=installed)


@pytest.mark.parametrize("machine", [PI_BOOKWORM, PI_TRIXIE, PC_BOOKWORM, PC_TRIXIE],
                         ids=lambda m: f"{m.uname}-{m.python}")
def test_only_aarch64_with_python_3_13_needs_lgpio_built(tmp_path: Path, machine: Machine) -> None:
    done = sourced(tmp_path, machine, "qms_check_64bit test && qms_lgpio_build_packages")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout == (f"{BUILD_PACKAGES}\n" if machine == PI_TRIXIE else "")


@pytest.mark.parametrize(
    ("machine", "what"),
    [(PI_32BIT, "armhf userland on an armv7l kernel"),
     (PI_32BIT_ON_64BIT_KERNEL, "armhf userland on an aarch64 kernel"),
     (PC_32BIT, "i386 userland on an i686 kernel")],
    ids=["armv7l", "armhf-on-aarch64", "i686"],
)
def test_a_32_bit_system_is_refused_in_one_line(tmp_path: Path, machine: Machine, what: str) -> None:
    done = sourced(tmp_path, machine, "qms_check_64bit make; echo rc=$?")
    assert done.stdout == "rc=1\n"
    assert done.stderr == f"make: this system is 32-bit ({what}): the queue system installs only on {SUPPORTED}\n"


def test_a_python_older_than_3_11_is_refused_in_one_line(tmp_path: Path) -> None:
    done = sourced(tmp_path, PI_BOOKWORM._replace(python="3.9"), "qms_check_python make; echo rc=$?")
    assert done.stdout == "rc=1\n"
    assert done.stderr == (f"make: python3 is Python 3.9 here, the queue system needs 3.11 or newer: {SUPPORTED}\n")
    assert sourced(tmp_path, PI_TRIXIE, "qms_check_python make; echo rc=$?").stdout == "rc=0\n"


def test_a_package_counts_as_installed_under_its_debian_13_t64_name_too(tmp_path: Path) -> None:
    """The board's libasound2 is libasound2t64 on trixie: without this every re-install would run apt-get again."""
    done = sourced(tmp_path, PI_TRIXIE, "qms_missing_packages python3-venv libasound2 espeak-ng swig",
                   installed=("python3-venv", "libasound2t64", "swigt64x"))
    assert (done.returncode, done.stdout, done.stderr) == (0, "espeak-ng swig\n", "")
    assert sourced(tmp_path, PI_TRIXIE, "qms_missing_packages").stdout == "\n"


@pytest.mark.parametrize("machine", [PI_BOOKWORM, PI_TRIXIE, PC_BOOKWORM], ids=lambda m: f"{m.uname}-{m.python}")
def test_make_install_asks_for_the_lgpio_build_packages_only_on_aarch64_with_python_3_13(
    tmp_path: Path, machine: Machine
) -> None:
    """The dry run lists what is missing; `dpkg-query` says only gcc of the build packages is installed. The other
    packages it checks are this machine's (CI installs them all), so only lgpio's are compared."""
    done = run(tmp_path, machine, ["bash", str(SCRIPTS / "ensure_system_packages.sh"), "--dry-run"],
               installed=("gcc",))
    assert done.returncode == 0, done.stderr
    listed = set(done.stdout.split())
    wanted = {"swig", "libc6-dev", "python3-dev"} if machine == PI_TRIXIE else set()
    assert listed & {*BUILD_PACKAGES.split()} == wanted


@pytest.mark.parametrize("machine", [PI_32BIT, PI_32BIT_ON_64BIT_KERNEL], ids=["armv7l", "armhf-on-aarch64"])
def test_make_install_on_a_32_bit_system_stops_at_once_with_one_line(tmp_path: Path, machine: Machine) -> None:
    """The real Makefile, with its venv moved into the test's folder: our one line, make's own "***" line, and no
    venv made."""
    if not shutil.which("make"):
        pytest.skip("no make")
    venv = tmp_path / "venv"
    # as a make of its own, also under `make test` (whose MAKELEVEL would make it say "make[1]")
    plain = {name: "" for name in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    done = run(tmp_path, machine, ["make", "--no-print-directory", "-C", str(ROOT), "install", f"VENV={venv}"], plain)
    assert done.returncode != 0
    ours = [line for line in done.stderr.splitlines() if not re.match(r"make(\[\d+\])?: \*\*\* ", line)]
    assert ours == [f"make install: this system is 32-bit ({'armhf userland on an ' + machine.uname + ' kernel'}): "
                    f"the queue system installs only on {SUPPORTED}"], done.stderr
    assert done.stdout == ""
    assert not venv.exists()


def test_install_sh_on_a_32_bit_system_stops_at_once_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "counter.toml"
    config.write_text('[terminal]\ncounter = "1"\ncenter = "c1"\n')
    destdir = tmp_path / "dest"
    done = run(tmp_path, PI_32BIT_ON_64BIT_KERNEL, ["bash", str(INSTALL), "counter", str(config)],
               {"DESTDIR": str(destdir)})
    assert done.returncode == 1
    assert done.stderr == ("install.sh: this system is 32-bit (armhf userland on an aarch64 kernel): "
                           f"the queue system installs only on {SUPPORTED}\n")
    assert done.stdout == ""
    assert not destdir.exists()


class Venv(NamedTuple):
    python: Path
    log: Path


def fake_venv_python(tmp_path: Path, version: str, *, headers: bool = True, has_lgpio: bool = False) -> Venv:
    """A venv's python that answers the version question, whether Python.h is there and whether lgpio is
    installed, logs every `-m pip` call with the PYPI it was given, and runs the real Python for anything else
    (reading pyproject.toml)."""
    log = tmp_path / "pip.log"
    python = tmp_path / "venv-python"
    script(python, f'case "$*" in *version_info*) echo {version} ;;\n'
                   f'*Python.h*) exit {0 if headers else 1} ;;\n'
                   f'*importlib.metadata*) exit {0 if has_lgpio else 1} ;;\n'
                   f'"-m pip "*) echo "PYPI=${{PYPI:-}} $*" >>{log} ;;\n'
                   f'*) exec {sys.executable} "$@" ;; esac\n')
    return Venv(python, log)


def build_tools(tmp_path: Path, machine: Machine, *tools: str) -> dict[str, str]:
    """The environment of a faked `machine` whose swig and gcc are the given ones only (fakes), whatever this
    machine has."""
    folder = tmp_path / "tools"
    folder.mkdir(exist_ok=True)
    for tool in tools:
        script(folder / tool, "exit 0\n")
    base = tmp_path / "base"  # only what ensure_lgpio.sh runs besides them
    base.mkdir(exist_ok=True)
    for tool in ("bash", "dirname"):
        found = shutil.which(tool)
        assert found is not None
        if not (base / tool).exists():
            (base / tool).symlink_to(found)
    return {**os.environ, "PATH": f"{fake_bin(tmp_path, machine)}:{folder}:{base}"}


def ensure_lgpio(venv: Venv, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(env["PATH"].split(":")[-1], "bash")), str(SCRIPTS / "ensure_lgpio.sh"),
                           str(venv.python), str(ROOT / "pyproject.toml")],
                          capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.parametrize(("machine", "built"), [(PI_TRIXIE, True), (PI_BOOKWORM, False), (PC_TRIXIE, False)],
                         ids=["aarch64-3.13", "aarch64-3.11", "x86_64-3.13"])
def test_ensure_lgpio_builds_it_statically_only_where_pypi_has_no_wheel(
    tmp_path: Path, machine: Machine, built: bool
) -> None:
    venv = fake_venv_python(tmp_path, machine.python)
    done = ensure_lgpio(venv, build_tools(tmp_path, machine, "swig", "gcc"))
    assert done.returncode == 0, done.stderr
    if built:
        # the requirement is pyproject.toml's, without its marker; PYPI=1 is lgpio's switch for the static build
        assert venv.log.read_text() == ("PYPI=1 -m pip install --quiet --disable-pip-version-check lgpio>=0.2.2\n")
        assert done.stdout == ("building lgpio>=0.2.2 for Python 3.13 (PyPI has no aarch64 wheel for it): "
                               "its own C sources, statically\n")
    else:
        assert not venv.log.exists()
        assert done.stdout == ""


def test_ensure_lgpio_without_swig_says_what_to_install_in_one_line(tmp_path: Path) -> None:
    venv = fake_venv_python(tmp_path, "3.13")
    done = ensure_lgpio(venv, build_tools(tmp_path, PI_TRIXIE, "gcc"))
    assert done.returncode == 1
    assert done.stderr == ("ensure_lgpio.sh: lgpio has no wheel for Python 3.13 on aarch64 and building it needs swig: "
                           "run 'sudo apt-get install -y swig' and then again\n")
    assert not venv.log.exists()


def test_ensure_lgpio_without_the_python_headers_asks_for_python3_dev(tmp_path: Path) -> None:
    venv = fake_venv_python(tmp_path, "3.13", headers=False)
    done = ensure_lgpio(venv, build_tools(tmp_path, PI_TRIXIE, "gcc", "swig"))
    assert done.returncode == 1
    assert done.stderr == ("ensure_lgpio.sh: lgpio has no wheel for Python 3.13 on aarch64 and building it needs "
                           "python3-dev: run 'sudo apt-get install -y python3-dev' and then again\n")
    assert not venv.log.exists()


def test_ensure_lgpio_run_again_says_nothing_and_leaves_the_version_to_pip(tmp_path: Path) -> None:
    venv = fake_venv_python(tmp_path, "3.13", has_lgpio=True)
    done = ensure_lgpio(venv, build_tools(tmp_path, PI_TRIXIE, "gcc", "swig"))
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert venv.log.read_text() == "PYPI=1 -m pip install --quiet --disable-pip-version-check lgpio>=0.2.2\n"
