"""devkit/pi_wheels.py without the network: which dependencies it asks about per Python, the pip command, how it reads
pip's report and errors, and its allow-list. (`make pi-wheels`, part of `make test`, asks the real index.)"""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from devkit import pi_wheels
from devkit.pi_wheels import (
    BUILT_FROM_SOURCE,
    RELEASES,
    Wheel,
    built_from_source,
    index_trouble,
    not_found,
    platforms,
    read_report,
    runtime_requirements,
    source_package,
    wheel_query,
)
from tests.harness import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def names(requirements: list[Requirement]) -> list[str]:
    return [requirement.name for requirement in requirements]


def test_the_markers_are_evaluated_for_aarch64_linux_and_each_python() -> None:
    pyproject = {"project": {"dependencies": [
        "always>=1", "pi-only>=2; platform_machine == 'aarch64'", "pc-only; platform_machine == 'x86_64'",
        "old-python; python_version < '3.13'", "windows; sys_platform == 'win32'",
        "extra[binary]>=3; os_name == 'posix'",
    ]}}
    assert names(runtime_requirements(pyproject, "3.11")) == ["always", "pi-only", "old-python", "extra"]
    assert names(runtime_requirements(pyproject, "3.13")) == ["always", "pi-only", "extra"]
    # the markers are gone from what pip is given (pip would evaluate them for this machine), extras stay
    assert [str(r) for r in runtime_requirements(pyproject, "3.13")] == ["always>=1", "pi-only>=2", "extra[binary]>=3"]


def test_the_real_pyproject_asks_for_lgpio_on_both_pythons() -> None:
    for python in RELEASES:
        assert "lgpio" in names(runtime_requirements(PYPROJECT, python)), python


def test_the_pip_command_asks_for_aarch64_wheels_only_up_to_the_releases_glibc(tmp_path: Path) -> None:
    requirements = runtime_requirements(PYPROJECT, "3.11")
    command = wheel_query(requirements, "3.11", tmp_path, "https://index.example/simple")
    assert command[1:4] == ["-m", "pip", "install"]
    for flag in ("--isolated", "--dry-run", "--ignore-installed", "--only-binary=:all:"):
        assert flag in command
    assert command[command.index("--python-version") + 1] == "3.11"
    assert command[command.index("--index-url") + 1] == "https://index.example/simple"
    given = [command[i + 1] for i, word in enumerate(command) if word == "--platform"]
    assert given == platforms(RELEASES["3.11"])
    assert given[0] == "manylinux2014_aarch64" and given[1] == "manylinux_2_17_aarch64"
    assert given[-1] == "manylinux_2_36_aarch64"  # bookworm's glibc: a manylinux_2_38 wheel would not install
    assert platforms(RELEASES["3.13"])[-1] == "manylinux_2_41_aarch64"
    assert command[-len(requirements):] == [str(r) for r in requirements]
    assert not any(";" in word for word in command)


REPORT: dict[str, Any] = {
    "version": "1",
    "pip_version": "26.3",
    "install": [
        {"metadata": {"name": "pygame-ce", "version": "2.5.8"}, "requested": True, "download_info": {
            "url": "https://files.example/pygame_ce-2.5.8-cp313-cp313-manylinux2014_aarch64.manylinux_2_17_aarch64.whl"}},
        {"metadata": {"name": "paho-mqtt", "version": "2.2.0"}, "requested": True,
         "download_info": {"url": "https://files.example/paho_mqtt-2.2.0-py3-none-any.whl"}},
    ],
    "environment": {"platform_machine": "x86_64"},
}


def test_a_report_is_read_into_its_wheels() -> None:
    wheels = read_report(REPORT)
    assert wheels == [
        Wheel("pygame-ce", "2.5.8", "pygame_ce-2.5.8-cp313-cp313-manylinux2014_aarch64.manylinux_2_17_aarch64.whl"),
        Wheel("paho-mqtt", "2.2.0", "paho_mqtt-2.2.0-py3-none-any.whl"),
    ]
    assert [wheel.pure for wheel in wheels] == [False, True]


def test_a_report_with_a_source_package_or_of_another_format_is_refused() -> None:
    source = {**REPORT, "install": [{"metadata": {"name": "lgpio", "version": "0.2.2.0"},
                                     "download_info": {"url": "https://files.example/lgpio-0.2.2.0.tar.gz"}}]}
    with pytest.raises(ValueError, match=r"lgpio: lgpio-0\.2\.2\.0\.tar\.gz is not a wheel"):
        read_report(source)
    with pytest.raises(ValueError, match="pip report version '2'"):
        read_report({**REPORT, "version": "2"})


PIP_NO_WHEEL = """\
ERROR: Ignored the following versions that require a different python version: 1.0 Requires-Python >=3.14
ERROR: Could not find a version that satisfies the requirement kiwisolver>=1.3.1 (from matplotlib) (from versions: none)
ERROR: No matching distribution found for kiwisolver>=1.3.1
"""
PIP_OFFLINE = """\
WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by \
'NewConnectionError("HTTPConnection(host='127.0.0.1', port=9): Failed to establish a new connection")': \
/simple/paho-mqtt/
ERROR: Could not find a version that satisfies the requirement paho-mqtt (from versions: none)
ERROR: No matching distribution found for paho-mqtt
"""


def test_pips_no_matching_distribution_names_the_package_and_an_unreachable_index_is_told_apart() -> None:
    assert [str(r) for r in not_found(PIP_NO_WHEEL)] == ["kiwisolver>=1.3.1"]
    assert index_trouble(PIP_NO_WHEEL) is None
    trouble = index_trouble(PIP_OFFLINE)
    assert trouble is not None and trouble.startswith("WARNING: Retrying")
    assert not_found("") == []


def test_the_allow_list_names_lgpio_on_3_13_only_and_says_how_it_is_built() -> None:
    assert set(BUILT_FROM_SOURCE) == {("lgpio", "3.13")}
    how = built_from_source("lgpio", "3.13")
    assert how is not None and "scripts/ensure_lgpio.sh" in how and "PYPI=1" in how
    assert (ROOT / "scripts/ensure_lgpio.sh").is_file()
    assert built_from_source("LGPIO", "3.13") == how  # names compare as the index does
    assert built_from_source("lgpio", "3.11") is None  # 3.11 has a wheel: losing it must fail the check
    assert built_from_source("pillow", "3.13") is None


PAGE: dict[str, Any] = {"name": "lgpio", "files": [
    {"filename": "lgpio-0.0.0.2.tar.gz"},
    {"filename": "lgpio-0.2.2.0-cp312-cp312-manylinux_2_34_aarch64.whl"},
    {"filename": "lgpio-0.2.2.0.tar.gz"},
    {"filename": "lgpio-0.3.0.0.tar.gz", "yanked": "broken"},
    {"filename": "lgpio-0.4.0.0rc1.tar.gz"},
]}


def test_the_source_package_is_the_newest_unyanked_one_the_requirement_accepts() -> None:
    assert source_package(PAGE, Requirement("lgpio>=0.2.2")) == "lgpio-0.2.2.0.tar.gz"
    assert source_package(PAGE, Requirement("lgpio")) == "lgpio-0.2.2.0.tar.gz"
    assert source_package(PAGE, Requirement("lgpio>=0.5")) is None


def test_a_dependency_without_a_wheel_and_outside_the_allow_list_fails_the_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """check() with pip answered from canned output: pillow has no wheel on 3.13 and no build path."""

    def fake_pip(command: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 1, "", "ERROR: No matching distribution found for pillow>=9.4\n")

    monkeypatch.setattr(pi_wheels, "pip", fake_pip)
    verdict = pi_wheels.check(PYPROJECT, "3.13", "https://index.example/simple")
    assert not verdict.ok
    assert verdict.lines == ["FAIL pillow>=9.4 has no aarch64 wheel for Python 3.13 (a dependency) and no build path "
                             "in devkit/pi_wheels.py BUILT_FROM_SOURCE"]


@pytest.mark.parametrize("wheel_appeared", [False, True], ids=["still-built", "wheel-appeared"])
def test_an_allowed_dependency_passes_with_its_build_path_and_a_new_wheel_is_noticed(
    monkeypatch: pytest.MonkeyPatch, wheel_appeared: bool
) -> None:
    lgpio_wheel = "lgpio-0.2.3.0-cp313-cp313-manylinux_2_34_aarch64.whl"

    def fake_pip(command: list[str]) -> subprocess.CompletedProcess[str]:
        if command[-1].startswith("lgpio"):  # the allowed one, asked alone
            if wheel_appeared:
                report = {**REPORT, "install": [{"metadata": {"name": "lgpio", "version": "0.2.3.0"},
                                                 "download_info": {"url": f"https://files.example/{lgpio_wheel}"}}]}
                return subprocess.CompletedProcess(command, 0, json.dumps(report), "")
            no_wheel = "ERROR: No matching distribution found for lgpio>=0.2.2\n"
            return subprocess.CompletedProcess(command, 1, "", no_wheel)
        assert not any(word.startswith("lgpio") for word in command)  # the others are asked without it
        return subprocess.CompletedProcess(command, 0, json.dumps(REPORT), "")

    monkeypatch.setattr(pi_wheels, "pip", fake_pip)
    monkeypatch.setattr(pi_wheels, "index_page", lambda index_url, name: PAGE)
    verdict = pi_wheels.check(PYPROJECT, "3.13", "https://index.example/simple")
    assert verdict.ok
    assert verdict.lines[0].startswith("Python 3.13 on aarch64 (Raspberry Pi OS / Debian 13 \"trixie\", glibc 2.41): ")
    assert verdict.lines[0].endswith("2 packages, all wheels (1 built for aarch64, 1 pure Python)")
    if wheel_appeared:
        assert verdict.lines[1] == (f"  NOTE lgpio>=0.2.2 now has a wheel for Python 3.13 on aarch64 ({lgpio_wheel}): "
                                    "its BUILT_FROM_SOURCE entry and the build can go")
    else:
        assert verdict.lines[1] == (f"  lgpio>=0.2.2: no aarch64 wheel, {BUILT_FROM_SOURCE['lgpio', '3.13']} "
                                    "(lgpio-0.2.2.0.tar.gz is on the index)")
