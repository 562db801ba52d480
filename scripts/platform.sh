# Which systems the queue system installs on, and what lgpio needs there.
# Sourced by scripts/ensure_system_packages.sh (make install), scripts/ensure_lgpio.sh and systemd/install.sh.
#
# 64-bit only: Raspberry Pi OS (64-bit) or Debian, 12 "bookworm" (Python 3.11) or 13 "trixie" (Python 3.13),
# on arm64 or amd64. A 32-bit system gets one line and nothing is installed: several of our packages
# (pygame-ce, psycopg's binary, argon2-cffi's bindings, ...) have no 32-bit ARM wheel on PyPI, and pip would
# end in a compiler error far from the cause.
#
# lgpio (gpiozero's pin factory on a Pi) has aarch64 wheels on PyPI for CPython 3.9-3.12 only. On Python 3.13
# (trixie) pip would take its source package, which needs swig and, built the default way, the lgpio C library
# (-llgpio) that Debian 13 does not ship (only Raspberry Pi OS's own archive has liblgpio and python3-lgpio).
# We build it instead the way its PyPI wheels are built (PYPI=1: its own C sources compiled into the module,
# statically): that needs only swig, gcc and the Python headers, all in Debian 12 and 13, and it works the same
# on Raspberry Pi OS and on plain Debian. The venv stays self-contained (no --system-site-packages, nothing of
# /usr/lib/python3/dist-packages in it), pip knows lgpio and its version, and pyproject.toml keeps one
# dependency line for every aarch64 Python. See scripts/ensure_lgpio.sh.

QMS_SUPPORTED="64-bit Raspberry Pi OS or Debian, 12 \"bookworm\" or 13 \"trixie\" (arm64 or amd64)"
QMS_LGPIO_BUILD_PACKAGES=(swig gcc libc6-dev python3-dev)

# The userland's word size decides (getconf is part of it), not the kernel's: Raspberry Pi OS 32-bit on a Pi 4
# or 5 runs a 64-bit kernel (uname -m says aarch64) under an armhf userland, whose Python and pip are 32-bit.
qms_system() { # "<uname -m> <dpkg architecture or -> <userland bits>"
    local arch
    arch=$(dpkg --print-architecture 2>/dev/null) || arch=-
    echo "$(uname -m) ${arch:--} $(getconf LONG_BIT)"
}

# Prints nothing and returns 0 on a 64-bit system; prints one line and returns 1 on a 32-bit one.
qms_check_64bit() { # $1: who speaks ("make install", "install.sh")
    local machine arch bits
    read -r machine arch bits <<<"$(qms_system)"
    if [ "$bits" != 64 ]; then
        local what=$machine
        [ "$arch" = - ] || what="$arch userland on an $machine kernel"
        echo "$1: this system is 32-bit ($what): the queue system installs only on $QMS_SUPPORTED" >&2
        return 1
    fi
}

# "3.13": the minor version of a Python ($1, default python3).
qms_python_version() {
    "${1:-python3}" -c 'import sys; print("%d.%d" % sys.version_info[:2])'
}

# Prints nothing and returns 0 where python3 ($2, default python3) is 3.11 or newer (pyproject.toml's
# requires-python) or absent (apt's python3-venv brings it); prints one line and returns 1 where it is older
# (Debian 11 has 3.9).
qms_check_python() { # $1: who speaks
    command -v "${2:-python3}" >/dev/null 2>&1 || return 0
    local version
    version=$(qms_python_version "${2:-python3}")
    if [ "${version%%.*}" -lt 3 ] || { [ "${version%%.*}" -eq 3 ] && [ "${version#*.}" -lt 11 ]; }; then
        echo "$1: ${2:-python3} is Python $version here, the queue system needs 3.11 or newer: $QMS_SUPPORTED" >&2
        return 1
    fi
}

# True where lgpio must be built from its source package: an aarch64 machine whose Python ($1, default
# python3) has no lgpio wheel on PyPI (3.13 and later).
qms_lgpio_needs_build() {
    [ "$(uname -m)" = aarch64 ] || return 1
    local version
    version=$(qms_python_version "${1:-python3}") || return 1
    [ "${version%%.*}" -eq 3 ] && [ "${version#*.}" -ge 13 ]
}

# The Debian packages that build needs, one line (empty where no build is needed).
qms_lgpio_build_packages() {
    if qms_lgpio_needs_build "${1:-python3}"; then echo "${QMS_LGPIO_BUILD_PACKAGES[*]}"; fi
}

# Those of the Debian packages given that are not installed, on one line. Debian 13 renamed some libraries for its
# 64-bit time_t (libasound2 is libasound2t64 there, and apt-get install libasound2 installs that): either name counts.
qms_missing_packages() {
    local package name missing=()
    for package in "$@"; do
        for name in "$package" "${package}t64"; do
            [ "$(dpkg-query -W -f='${db:Status-Status}' "$name" 2>/dev/null)" = installed ] && continue 2
        done
        missing+=("$package")
    done
    echo "${missing[*]}"
}
