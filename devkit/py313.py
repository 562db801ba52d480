"""The code under Python 3.13 (Raspberry Pi OS / Debian 13 "trixie"): every module imports, and the pure tests pass.

    python -m devkit.py313 [--python PATH]      # `make py313`, part of `make test`

It uses a python3.13 that is already on this machine (PATH, then pyenv's versions; --python names one) and never
downloads one: where there is none it says so in one line and exits 0, so `make test` still passes on a machine
with Debian 12's Python only. The venv is `.venv/py313` (rebuilt only when pyproject.toml changes); in it every
module of the project is imported with DeprecationWarning as an error (what 3.13 removed or will remove: PEP 594's
modules, lib2to3, locale.resetlocale, typing.io ...), then the tests that need no broker, browser or database:
the protocol, the domain, the configs and the repository's own rules.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv" / "py313"
STAMP = VENV / ".qms-pyproject.sha256"
PACKAGES = ["protocol", "central_server", "kiosk", "display_board", "rating_terminal", "staff_console", "citizen_web",
            "ui", "devkit", "benchmarks", "tests"]
TESTS = ["tests/protocol", "tests/central_server/domain", "tests/central_server/test_config.py",
         "tests/firmware_configs", "tests/test_architecture.py", "tests/test_config_mistakes.py",
         "tests/test_register.py", "tests/devkit/test_pi_wheels.py", "tests/devkit/test_clock.py"]
# Tests under TESTS that start Mosquitto or real agents: the 3.11 run has them, and they are the slow ones.
SKIP = ["tests/protocol/test_link.py", "tests/protocol/test_agent.py", "tests/protocol/test_agent_loop.py"]
IMPORT_ALL = """
import importlib, pkgutil, sys
count = 0
for top in sys.argv[1:]:
    package = importlib.import_module(top)
    for module in [top] + [m.name for m in pkgutil.walk_packages(package.__path__, top + ".")]:
        importlib.import_module(module)
        count += 1
print(f"{count} modules imported")
"""


def find_python313(given: str | None) -> str | None:
    """A python3.13 that runs (pyenv's shim for a version not selected does not)."""
    candidates = [given] if given else [shutil.which("python3.13"), "/usr/bin/python3.13",
                                        *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.13*/bin/python3.13")))]
    for candidate in filter(None, candidates):
        try:
            done = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 13))"],
                                  capture_output=True, text=True, timeout=30, check=False)
        except OSError:
            continue
        if done.returncode == 0 and done.stdout.strip() == "True":
            return candidate
    return None


def run(command: list[str], **env: str) -> None:
    subprocess.run(command, cwd=ROOT, check=True, timeout=900, env={**os.environ, **env})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devkit.py313", description=__doc__.splitlines()[0])
    parser.add_argument("--python", help="the python3.13 to use (default: found on this machine)")
    args = parser.parse_args(argv)
    python = find_python313(args.python)
    if python is None:
        where = f"{args.python} is not a Python 3.13" if args.python else "no python3.13 on this machine"
        print(f"py313: {where}: the code was NOT tried under Python 3.13 (Debian 13's); "
              "install one (apt on trixie, or pyenv) or name it with --python")
        return 0
    started = time.monotonic()
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    venv_python = VENV / "bin" / "python"
    if not venv_python.exists() or not STAMP.exists() or STAMP.read_text().strip() != wanted:
        shutil.rmtree(VENV, ignore_errors=True)
        run([python, "-m", "venv", str(VENV)])
        run([str(venv_python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", ".[dev]"])
        STAMP.write_text(wanted + "\n")
    dummy = {"SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1"}
    try:
        run([str(venv_python), "-W", "error::DeprecationWarning", "-c", IMPORT_ALL, *PACKAGES], **dummy)
        run([str(venv_python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS,
             *(f"--ignore={path}" for path in SKIP)])
    except subprocess.CalledProcessError as exc:
        print(f"py313: FAILED under {python}: {' '.join(exc.cmd[:4])} ...", file=sys.stderr)
        return 1
    print(f"py313: the code imports and the pure tests pass under {python} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
