"""Whether every runtime dependency installs on a 64-bit Pi: asks the package index for aarch64 wheels, installs none.

    python -m devkit.pi_wheels [--python 3.11] [--python 3.13] [--index-url URL] [-v]   # `make pi-wheels`

For each Python (3.11: Raspberry Pi OS / Debian 12 "bookworm"; 3.13: Debian 13 "trixie"), pyproject.toml's
`dependencies`, their markers evaluated for aarch64 Linux and that Python, go to `pip install --dry-run --report`
with `--only-binary=:all:` and the manylinux aarch64 platforms that release's glibc accepts. pip resolves them and
their dependencies as a Pi would, from wheels only: a package with no such wheel stops it, and the check fails
naming it, unless BUILT_FROM_SOURCE names it for that Python together with the way `make install` and
systemd/install.sh build it. For such a one the check also asks the index for its source package, and says when a
wheel has appeared (the build can then go).

pip runs with --isolated: this machine's pip configuration (local wheel folders, extra indexes, constraints) is not
what a Pi sees. Limits: pip evaluates the markers of dependencies' own dependencies for this machine, not for the
Pi; and where a dependency's newest release has no wheel pip settles on an older one that has, while a real install
would try to build the newest (the versions it chose are printed with -v).
Exit status: 0 all installable, 1 a dependency with neither a wheel nor a build path, 2 the index could not be asked.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import InvalidSdistFilename, canonicalize_name, parse_sdist_filename
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PYPI = "https://pypi.org/simple"


@dataclass(frozen=True, slots=True)
class Release:
    """What a Python version stands for: the Debian release that ships it, and that release's glibc."""

    name: str
    glibc_minor: int  # 2.<minor>: the newest manylinux_2_<minor> wheel it can take


RELEASES: dict[str, Release] = {
    "3.11": Release('Raspberry Pi OS / Debian 12 "bookworm"', 36),
    "3.13": Release('Raspberry Pi OS / Debian 13 "trixie"', 41),
}

# (package, Python) -> how it is installed without a wheel. Only what `make install` and systemd/install.sh
# really do belongs here: any other dependency that loses its aarch64 wheel fails the check.
BUILT_FROM_SOURCE: dict[tuple[str, str], str] = {
    ("lgpio", "3.13"): "built from its source package with PYPI=1 (its own C sources compiled in statically) after "
    "apt-get installs swig, gcc, libc6-dev and python3-dev: scripts/ensure_lgpio.sh, scripts/platform.sh",
}


@dataclass(frozen=True, slots=True)
class Wheel:
    name: str
    version: str
    filename: str

    @property
    def pure(self) -> bool:
        return self.filename.endswith("-none-any.whl")


@dataclass(slots=True)
class Verdict:
    python: str
    ok: bool = True
    lines: list[str] = field(default_factory=list)


def marker_environment(python: str) -> dict[str, str]:
    """The marker variables of CPython `python` on 64-bit ARM Linux."""
    return {"implementation_name": "cpython", "implementation_version": f"{python}.0", "os_name": "posix",
            "platform_machine": "aarch64", "platform_release": "", "platform_system": "Linux", "platform_version": "",
            "python_full_version": f"{python}.0", "platform_python_implementation": "CPython",
            "python_version": python, "sys_platform": "linux"}


def runtime_requirements(pyproject: Mapping[str, Any], python: str) -> list[Requirement]:
    """pyproject.toml's dependencies that apply on aarch64 Linux with `python`, their markers dropped."""
    found = []
    for line in pyproject["project"]["dependencies"]:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(marker_environment(python)):
            requirement.marker = None
            found.append(requirement)
    return found


def platforms(release: Release) -> list[str]:
    """Every manylinux aarch64 platform the release's glibc accepts (pip does not widen a --platform by itself)."""
    return ["manylinux2014_aarch64"] + [f"manylinux_2_{minor}_aarch64" for minor in range(17, release.glibc_minor + 1)]


def wheel_query(requirements: Sequence[Requirement], python: str, target: Path, index_url: str) -> list[str]:
    """The pip command that resolves `requirements` from aarch64 wheels only, and reports on stdout."""
    command = [sys.executable, "-m", "pip", "install", "--isolated", "--dry-run", "--ignore-installed", "--quiet",
               "--report", "-", "--index-url", index_url, "--only-binary=:all:", "--implementation", "cp",
               "--python-version", python, "--target", str(target)]
    for platform in platforms(RELEASES[python]):
        command += ["--platform", platform]
    return command + [str(requirement) for requirement in requirements]


def index_page(index_url: str, name: str) -> dict[str, Any]:
    """The index's JSON page of a project (the simple API, PEP 691)."""
    request = urllib.request.Request(f"{index_url.rstrip('/')}/{canonicalize_name(name)}/",
                                     headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        page: dict[str, Any] = json.load(response)
    return page


def source_package(page: Mapping[str, Any], requirement: Requirement) -> str | None:
    """The newest source package on a project's index page that `requirement` accepts (yanked ones left out)."""
    found: list[tuple[Version, str]] = []
    for file in page["files"]:
        if file.get("yanked") or not file["filename"].endswith((".tar.gz", ".zip")):
            continue
        try:
            _, version = parse_sdist_filename(file["filename"])
        except InvalidSdistFilename:
            continue
        if requirement.specifier.contains(version, prereleases=False):
            found.append((version, file["filename"]))
    return max(found)[1] if found else None


def read_report(report: Mapping[str, Any]) -> list[Wheel]:
    """The wheels of a pip installation report (its format version 1); anything else in it is an error."""
    if report.get("version") != "1":
        raise ValueError(f"pip report version {report.get('version')!r}: expected '1'")
    wheels = []
    for item in report["install"]:
        filename = item["download_info"]["url"].rsplit("/", 1)[-1]
        if not filename.endswith(".whl"):
            raise ValueError(f"{item['metadata']['name']}: {filename} is not a wheel")
        wheels.append(Wheel(item["metadata"]["name"], item["metadata"]["version"], filename))
    return wheels


NOT_FOUND = re.compile(r"^ERROR: No matching distribution found for (\S+)", re.MULTILINE)


def not_found(stderr: str) -> list[Requirement]:
    """The requirements pip said it found no distribution for."""
    return [Requirement(match) for match in NOT_FOUND.findall(stderr)]


TROUBLE = re.compile(r"^(?:WARNING: Retrying|WARNING: Could not fetch URL|ERROR: Could not fetch URL|.*SSLError|"
                     r".*ProxyError).*$", re.MULTILINE)


def index_trouble(stderr: str) -> str | None:
    """The first line where pip says it could not reach the index: its "no matching distribution" then means
    nothing about wheels."""
    match = TROUBLE.search(stderr)
    return match.group(0) if match else None


def built_from_source(name: str, python: str) -> str | None:
    return BUILT_FROM_SOURCE.get((canonicalize_name(name), python))


def pip(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def check(pyproject: Mapping[str, Any], python: str, index_url: str, *, verbose: bool = False) -> Verdict:
    verdict = Verdict(python)
    release = RELEASES[python]
    requirements = runtime_requirements(pyproject, python)
    allowed = [r for r in requirements if built_from_source(r.name, python)]
    wanted = [r for r in requirements if r not in allowed]
    with tempfile.TemporaryDirectory() as target:
        done = pip(wheel_query(wanted, python, Path(target), index_url))
        trouble = index_trouble(done.stderr)
        if done.returncode != 0 and trouble:
            raise RuntimeError(f"pip could not reach the index for Python {python}: {trouble}")
        missing = not_found(done.stderr)
        if done.returncode != 0 and missing:
            verdict.ok = False
            for requirement in missing:
                direct = any(canonicalize_name(r.name) == canonicalize_name(requirement.name) for r in requirements)
                verdict.lines.append(f"FAIL {requirement} has no aarch64 wheel for Python {python} "
                                     f"({'a dependency' if direct else 'needed by a dependency'}) and no build path "
                                     "in devkit/pi_wheels.py BUILT_FROM_SOURCE")
            return verdict
        if done.returncode != 0:
            raise RuntimeError(f"pip failed for Python {python}: {done.stderr.strip()}")
        wheels = read_report(json.loads(done.stdout))
        native = sum(not wheel.pure for wheel in wheels)
        verdict.lines.append(f"Python {python} on aarch64 ({release.name}, glibc 2.{release.glibc_minor}): "
                             f"{len(wanted)} dependencies and what they need, {len(wheels)} packages, all wheels "
                             f"({native} built for aarch64, {len(wheels) - native} pure Python)")
        if verbose:
            verdict.lines += [f"  {wheel.filename}" for wheel in sorted(wheels, key=lambda w: w.name.lower())]
        for requirement in allowed:
            has_wheel = pip(wheel_query([requirement], python, Path(target), index_url))
            trouble = index_trouble(has_wheel.stderr)
            if has_wheel.returncode != 0 and trouble:
                raise RuntimeError(f"pip could not reach the index for Python {python}: {trouble}")
            source = source_package(index_page(index_url, requirement.name), requirement)
            if source is None:
                verdict.ok = False
                verdict.lines.append(f"FAIL {requirement}: no aarch64 wheel for Python {python}, and no source "
                                     "package on the index either")
                continue
            how = built_from_source(requirement.name, python)
            verdict.lines.append(f"  {requirement}: no aarch64 wheel, {how} ({source} is on the index)")
            if has_wheel.returncode == 0:
                (wheel,) = (w for w in read_report(json.loads(has_wheel.stdout))
                            if canonicalize_name(w.name) == canonicalize_name(requirement.name))
                verdict.lines[-1] = (f"  NOTE {requirement} now has a wheel for Python {python} on aarch64 "
                                     f"({wheel.filename}): its BUILT_FROM_SOURCE entry and the build can go")
    return verdict


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devkit.pi_wheels", description=__doc__.splitlines()[0])
    parser.add_argument("--python", action="append", choices=sorted(RELEASES), help="default: all of them")
    parser.add_argument("--index-url", default=PYPI)
    parser.add_argument("--pyproject", type=Path, default=ROOT / "pyproject.toml")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every wheel")
    args = parser.parse_args(argv)
    pyproject = tomllib.loads(args.pyproject.read_text(encoding="utf-8"))
    started = time.monotonic()
    with ThreadPoolExecutor() as pool:
        futures = [pool.submit(check, pyproject, python, args.index_url, verbose=args.verbose)
                   for python in args.python or sorted(RELEASES)]
        try:
            verdicts = [future.result() for future in futures]
        except (RuntimeError, ValueError, OSError, urllib.error.URLError, subprocess.TimeoutExpired) as exc:
            print(f"pi_wheels: could not ask {args.index_url}: {exc}", file=sys.stderr)
            return 2
    for verdict in verdicts:
        print("\n".join(verdict.lines))
    ok = all(verdict.ok for verdict in verdicts)
    print(f"pi_wheels: {'every runtime dependency installs' if ok else 'NOT every runtime dependency installs'} "
          f"on a 64-bit Pi ({time.monotonic() - started:.0f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
