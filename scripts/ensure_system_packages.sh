#!/usr/bin/env bash
# Installs the Debian packages the project needs, when missing (idempotent).
# As root it uses apt-get; otherwise it says in one line what to run and fails.
# A 32-bit system or a Python older than 3.11 gets one line and nothing is installed (scripts/platform.sh).
#
#   scripts/ensure_system_packages.sh [--dry-run]   # --dry-run: print what is missing, on one line, and stop
set -euo pipefail
# shellcheck source=scripts/platform.sh
source "$(dirname "${BASH_SOURCE[0]}")/platform.sh"
qms_check_64bit "make install" || exit 1
qms_check_python "make install" || exit 1
dry_run=0
if [ "${1:-}" = --dry-run ]; then dry_run=1; fi
missing=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v mosquitto_rr >/dev/null 2>&1 || missing+=(mosquitto-clients)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || missing+=(postgresql)  # the tests' PostgreSQL
[ -x /usr/bin/chromium ] || missing+=(chromium)  # the staff console's pages in a real browser (tests, demo)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
command -v zbarimg >/dev/null 2>&1 || missing+=(zbar-tools)  # the demo's citizen scans the ticket's QR from its PNG
[ -x /usr/sbin/nginx ] || missing+=(nginx)  # the citizen web's reverse proxy example, run by a test
# lgpio on aarch64 with Python 3.13: built from its source package by scripts/ensure_lgpio.sh
# shellcheck disable=SC2046  # package names are words
read -r -a build <<<"$(qms_missing_packages $(qms_lgpio_build_packages python3))"
missing+=("${build[@]}")
if [ "$dry_run" -eq 1 ]; then
    echo "${missing[*]}"
    exit 0
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}"
else
    echo "missing Debian packages: run 'sudo apt-get install -y ${missing[*]}' and then make again" >&2
    exit 1
fi
