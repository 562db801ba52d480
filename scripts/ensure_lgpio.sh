#!/usr/bin/env bash
# Builds lgpio into a venv where PyPI has no wheel for it: an aarch64 machine with Python 3.13 or later
# (Raspberry Pi OS / Debian 13 "trixie"). Why a build, and why this way: scripts/platform.sh.
#
#   scripts/ensure_lgpio.sh VENV_PYTHON PYPROJECT
#
# Run before the venv's other packages are installed (make install, systemd/install.sh): pip then finds
# lgpio satisfied. Anywhere else it does nothing: on aarch64 with Python 3.11 or 3.12 pip takes lgpio's
# wheel, and pyproject.toml's marker leaves lgpio out on every other machine.
set -euo pipefail
# shellcheck source=scripts/platform.sh
source "$(dirname "${BASH_SOURCE[0]}")/platform.sh"

[ $# -eq 2 ] || {
    echo "usage: $0 VENV_PYTHON PYPROJECT" >&2
    exit 2
}
python=$1
pyproject=$2
qms_lgpio_needs_build "$python" || exit 0

# The requirement as pyproject.toml states it (its version), without the marker: one place says which lgpio.
requirement=$("$python" - "$pyproject" <<'EOF'
import sys, tomllib
with open(sys.argv[1], "rb") as file:
    dependencies = tomllib.load(file)["project"]["dependencies"]
print(next(d.split(";")[0].strip() for d in dependencies if d.split(";")[0].strip().startswith("lgpio")))
EOF
)
version=$(qms_python_version "$python")
missing=()
command -v swig >/dev/null 2>&1 || missing+=(swig)
command -v gcc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
"$python" -c 'import os, sys, sysconfig; sys.exit(not os.path.isfile(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' ||
    missing+=(python3-dev)
if [ ${#missing[@]} -gt 0 ]; then
    echo "ensure_lgpio.sh: lgpio has no wheel for Python $version on aarch64 and building it needs ${missing[*]}:" \
        "run 'sudo apt-get install -y ${missing[*]}' and then again" >&2
    exit 1
fi
if ! "$python" -c 'import importlib.metadata as m; m.version("lgpio")' >/dev/null 2>&1; then # else pip checks the version
    echo "building $requirement for Python $version (PyPI has no aarch64 wheel for it): its own C sources, statically"
fi
# PYPI=1 is lgpio's setup.py switch for the build its PyPI wheels get: src/lg*.c compiled into _lgpio, so no
# liblgpio is needed, now or at run time. pip still takes a wheel instead, should PyPI publish one.
PYPI=1 "$python" -m pip install --quiet --disable-pip-version-check "$requirement"
