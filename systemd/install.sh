#!/usr/bin/env bash
# Installs one role of the queue system on this machine as a systemd service, or upgrades it.
#
#   sudo ./systemd/install.sh server|kiosk|board|counter|console|web CONFIG
#
# CONFIG is the role's config (from `python -m central_server provision`); the mqtt.password and
# ca.crt lying beside it go with it (the console's console.crt and console.key too), and for the
# server the mosquitto/ folder beside it. The web role is the citizen web (the page a ticket's QR opens):
# it listens on 127.0.0.1 and reaches the internet through a reverse proxy with TLS that this script does
# not install (firmware_configs/nginx/citizen-web.conf is an example for nginx).
#
#   /opt/qms/app                 the code (tracked files of this checkout), run with PYTHONPATH
#   /opt/qms/venv                the Python packages (rebuilt only when pyproject.toml changes)
#   /opt/qms/venv/share/qms-voice  the board's voice clips (espeak-ng)
#   /etc/qms/<role>/             the config (server: center.toml, admin.password), mqtt.password, ca.crt
#                                (console: console.crt, console.key): root:qms 0640
#   /etc/sysusers.d/qms*.conf    the user qms and the role's device groups
#   /etc/systemd/system/qms-<role>.service, enabled and (re)started
#   /etc/mosquitto/conf.d/qms.conf, /etc/mosquitto/qms/   (server) the broker's files, group mosquitto
#   /var/lib/qms                 the state (the services' StateDirectory=; the citizen web keeps none)
#
# Running it again upgrades: new code, same venv unless pyproject.toml changed, the config
# replaced, the service restarted. With DESTDIR=/some/dir everything is laid out below that
# folder and nothing is installed with apt, started or restarted.
set -euo pipefail
umask 022

usage() {
    echo "usage: $0 server|kiosk|board|counter|console|web CONFIG" >&2
    exit 2
}
say() { echo "install.sh: $*"; }
warn() { echo "install.sh: warning: $*" >&2; }
die() {
    echo "install.sh: $*" >&2
    exit 1
}

[ $# -eq 2 ] || usage
ROLE=$1
CONFIG=$2
case "$ROLE" in
    server) MODULE=central_server CONFIG_NAME=center.toml ;;
    kiosk) MODULE=kiosk CONFIG_NAME=kiosk.toml ;;
    board) MODULE=display_board CONFIG_NAME=board.toml ;;
    counter) MODULE=rating_terminal CONFIG_NAME=counter.toml ;;
    console) MODULE=staff_console CONFIG_NAME=console.toml ;;
    web) MODULE=citizen_web CONFIG_NAME=citizen_web.toml ;;
    *)
        echo "install.sh: unknown role '$ROLE': expected server, kiosk, board, counter, console or web" >&2
        exit 2
        ;;
esac
if [ ! -f "$CONFIG" ]; then
    echo "install.sh: no config file '$CONFIG'" >&2
    exit 2
fi
CONFIG=$(realpath "$CONFIG")
CONFIG_DIR=$(dirname "$CONFIG")
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# 64-bit Raspberry Pi OS or Debian 12/13 only: one line, and nothing installed, anywhere else.
# shellcheck source=scripts/platform.sh
source "$SRC/scripts/platform.sh"
qms_check_64bit install.sh || exit 1
qms_check_python install.sh || exit 1

ROOT=""
if [ -n "${DESTDIR:-}" ]; then
    ROOT=$(realpath -m "$DESTDIR")
    [ "$ROOT" != / ] || ROOT=""
fi
IS_ROOT=0
if [ "$(id -u)" -eq 0 ]; then IS_ROOT=1; fi
if [ -z "$ROOT" ] && [ "$IS_ROOT" -eq 0 ]; then die "run it as root: sudo $0 $*"; fi
# A running systemd on this very machine: only then are services reloaded, started, restarted.
LIVE=0
if [ -z "$ROOT" ] && [ -d /run/systemd/system ]; then LIVE=1; fi

APP=/opt/qms/app
VENV=/opt/qms/venv
UNIT=qms-$ROLE.service
ETC=/etc/qms/$ROLE
PARTS=(protocol central_server kiosk display_board rating_terminal staff_console citizen_web ui firmware_configs
    systemd scripts pyproject.toml README.md LICENSE)

group_id() { # the GID of a group in the target's /etc/group (empty when there is none)
    [ -f "$ROOT/etc/group" ] || return 0
    awk -F: -v name="$1" '$1 == name { print $3; exit }' "$ROOT/etc/group"
}

# --- Debian packages (never under DESTDIR) ----------------------------------------------------

if [ -z "$ROOT" ]; then
    case "$ROLE" in
        server) packages=(python3-venv mosquitto mosquitto-clients avahi-daemon) ;;  # avahi: <hostname>.local
        # pygame-ce's SDL draws through GBM/EGL on KMS/DRM; pyusb needs libusb.
        kiosk) packages=(python3-venv fonts-dejavu-core libusb-1.0-0 libgbm1 libegl1 libgles2) ;;
        board) packages=(python3-venv fonts-dejavu-core espeak-ng libgbm1 libegl1 libgles2 libasound2) ;;
        # web: nginx is not installed here: the center may already run a reverse proxy (nginx, Caddy, HAProxy).
        counter | console | web) packages=(python3-venv) ;;
    esac
    apt_install() { # those of the packages not installed yet
        local missing
        read -r -a missing <<<"$(qms_missing_packages "$@")"
        [ ${#missing[@]} -gt 0 ] || return 0
        say "installing ${missing[*]} with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}"
    }
    apt_install "${packages[@]}"
    # The roles share one venv, which holds lgpio on a Pi: with Python 3.13 it is built there (scripts/platform.sh).
    # Asked once python3 is surely there (python3-venv brings it).
    read -r -a build <<<"$(qms_lgpio_build_packages python3)"
    apt_install "${build[@]}"
fi

mkdir -p "$ROOT/opt/qms"
exec 9>"$ROOT/opt/qms/.install.lock" # two installs at once (two roles on one machine) take turns
flock 9

# --- the code, staged beside the old one --------------------------------------------------------

STAGE=$(mktemp -d "$ROOT/opt/qms/.app.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
if command -v git >/dev/null 2>&1 && git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # Tracked files only: no build output, no local databases, no secrets left in the checkout.
    (cd "$SRC" && git ls-files -z -- "${PARTS[@]}" |
        while IFS= read -r -d '' file; do if [ -e "$file" ]; then printf '%s\0' "$file"; fi; done |
        xargs -0 -r cp --preserve=mode,timestamps --parents -t "$STAGE")
else
    for part in "${PARTS[@]}"; do
        if [ -e "$SRC/$part" ]; then cp -R --preserve=mode,timestamps "$SRC/$part" "$STAGE/"; fi
    done
    find "$STAGE" -name __pycache__ -prune -exec rm -rf {} +
fi
[ -f "$STAGE/pyproject.toml" ] && [ -d "$STAGE/$MODULE" ] || die "$SRC is not a QMS source tree"
# The app folder looks like a checkout after `make install`: code that finds the venv (and the
# voice clips in it) from the code's own place finds /opt/qms/venv.
ln -s ../venv "$STAGE/.venv"
chmod -R u=rwX,go=rX "$STAGE"

# --- the venv: rebuilt only when pyproject.toml changed --------------------------------------

STAMP=$ROOT$VENV/.qms-pyproject.sha256 # the sha256 of the pyproject.toml the venv was made for
wanted=$(sha256sum "$STAGE/pyproject.toml" | cut -d' ' -f1)
if [ ! -x "$ROOT$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$wanted" ]; then
    say "installing the Python packages into $VENV"
    [ -x "$ROOT$VENV/bin/python" ] || python3 -m venv "$ROOT$VENV"
    "$ROOT$VENV/bin/python" - "$STAGE/pyproject.toml" >"$STAGE/.requirements" <<'EOF'
import sys, tomllib
with open(sys.argv[1], "rb") as file:
    print("\n".join(tomllib.load(file)["project"]["dependencies"]))
EOF
    bash "$STAGE/scripts/ensure_lgpio.sh" "$ROOT$VENV/bin/python" "$STAGE/pyproject.toml"
    "$ROOT$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$STAGE/.requirements"
    rm "$STAGE/.requirements"
    echo "$wanted" >"$STAMP"
fi
PYTHON=$ROOT$VENV/bin/python
"$PYTHON" -m compileall -q -j 0 -d "$APP" "$STAGE" >/dev/null # /opt/qms/app is read-only to the service

# --- the user qms and its device groups -------------------------------------------------------

install -d -m 0755 "$ROOT/etc/sysusers.d"
install -m 0644 "$STAGE/systemd/qms.sysusers" "$ROOT/etc/sysusers.d/qms.conf"
{
    echo "# Made by systemd/install.sh: the device groups of the $ROLE role (SupplementaryGroups= of $UNIT)."
    # shellcheck disable=SC2013  # the groups are words on one line
    for group in $(sed -n 's/^SupplementaryGroups=//p' "$STAGE/systemd/$UNIT"); do
        echo "m qms $group"
    done
} >"$ROOT/etc/sysusers.d/qms-$ROLE.conf"
chmod 0644 "$ROOT/etc/sysusers.d/qms-$ROLE.conf"
systemd-sysusers ${ROOT:+--root="$ROOT"} qms.conf "qms-$ROLE.conf"
QMS_GID=$(group_id qms)
QMS_UID=$(awk -F: '$1 == "qms" { print $3; exit }' "$ROOT/etc/passwd")
[ -n "$QMS_GID" ] && [ -n "$QMS_UID" ] || die "systemd-sysusers made no user qms"
owned=() # root:qms, and qms:qms for the state, where we may (not when laying out a DESTDIR as a user)
state=()
if [ "$IS_ROOT" -eq 1 ]; then
    owned=(-o 0 -g "$QMS_GID")
    state=(-o "$QMS_UID" -g "$QMS_GID")
else
    warn "not root: the files under $ROOT keep your user and group"
fi
# The state folder exists before the first start, so that --check finds the folders it names.
if [ ! -d "$ROOT/var/lib/qms" ]; then
    install -d -m 0755 "$ROOT/var/lib"
    install -d -m 0750 "${state[@]}" "$ROOT/var/lib/qms"
fi

# --- the config: checked with the new code before anything in /etc/qms changes ----------------

if ! summary=$(cd / && PYTHONPATH="$STAGE" "$PYTHON" -P -m "$MODULE" --config "$CONFIG" --check 2>&1); then
    echo "$summary" >&2
    echo "install.sh: $CONFIG is not a valid $ROLE config: the service and /etc/qms were left as they were" >&2
    exit 2
fi
while IFS= read -r line; do echo "  $line"; done <<<"$summary"
"$PYTHON" - "$ROLE" "$CONFIG" "$ETC" "${DESTDIR:-}" <<'EOF' || { echo "install.sh: the service and /etc/qms were left as they were" >&2; exit 2; }
# A path the service writes must lie below /var/lib/qms or /var/cache/qms: the unit has
# ProtectSystem=strict, and its /tmp is private and emptied at every restart. The server's
# database elsewhere would lose the day at every restart, and the console's accounts made by
# `add-user` elsewhere would be out of its reach: refused (a warning when only laying out a
# DESTDIR, whose config may name this machine's folders for --check). The others: a warning.
# The console and the citizen web bind their port with no capability: one below 1024 is refused. The
# citizen web listening anywhere but on the loopback is worth a warning: the proxy is its TLS and its shield.
import sys, tomllib
from pathlib import Path
role, config, installed, staging = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), bool(sys.argv[4])
data = tomllib.loads(config.read_text(encoding="utf-8"))
keys = {"server": [("storage", "url")], "counter": [("terminal", "outbox")],
        "kiosk": [("kiosk", "journal"), ("ticket", "save_dir")], "board": [("screen", "screenshots")],
        "console": [("console", "accounts")], "web": []}
table, default_port, ports = {"console": ("console", 8080, "8443 with TLS, else 8080"), "web": ("web", 8090, "8090")}.get(
    role, ("", 0, ""))
port = data.get(table, {}).get("port", default_port)
if table and isinstance(port, int) and port < 1024:
    print(f"install.sh: error: {config.name}: [{table}] port = {port}: the service binds with no capability, "
          f"so its port must be 1024 or above ({ports}; a reverse proxy may serve 443)", file=sys.stderr)
    sys.exit(1)
listen = data.get("web", {}).get("listen", "127.0.0.1")
if role == "web" and listen not in ("127.0.0.1", "::1", "localhost"):
    print(f"install.sh: warning: {config.name}: [web] listen = {listen!r}: the citizen web is meant to be reached "
          "only through the reverse proxy on this machine (listen = \"127.0.0.1\")", file=sys.stderr)
for table, key in keys[role]:
    value = data.get(table, {}).get(key)
    if isinstance(value, str) and (role != "server" or value.startswith("sqlite:")):
        raw = value.removeprefix("sqlite://")
        where = Path("/" + raw.lstrip("/")) if raw.startswith("/") else installed / raw  # relative: /etc/qms/<role>
        if not any(where.is_relative_to(p) for p in ("/var/lib/qms", "/var/cache/qms")):
            refused = role in ("server", "console") and not staging
            print(f"install.sh: {'error' if refused else 'warning'}: {config.name}: [{table}] {key} = {value!r}: "
                  "the service can write only below /var/lib/qms (its /tmp is private and emptied at every restart)",
                  file=sys.stderr)
            if refused:
                sys.exit(1)
EOF

# --- the code swapped in -----------------------------------------------------------------------

if [ -d "$ROOT$APP" ]; then
    mv "$ROOT$APP" "$STAGE.old"
fi
mv "$STAGE" "$ROOT$APP"
rm -rf "$STAGE.old"
trap - EXIT

# --- /etc/qms/<role> ----------------------------------------------------------------------------

install -d -m 0755 "$ROOT/etc/qms"
install -d -m 0750 "${owned[@]}" "$ROOT$ETC"
install_secret() { # a file readable by root and the group qms only
    if [ "$1" -ef "$2" ]; then # re-run on the installed config itself
        chmod 0640 "$2"
        if [ "$IS_ROOT" -eq 1 ]; then chown "0:$QMS_GID" "$2"; fi
    else
        install -m 0640 "${owned[@]}" "$1" "$2"
    fi
}
install_secret "$CONFIG" "$ROOT$ETC/$CONFIG_NAME"
# admin.password: the server's, for `central_server void`; console.crt, console.key: the console's HTTPS
for file in mqtt.password ca.crt admin.password console.crt console.key; do
    if [ -f "$CONFIG_DIR/$file" ]; then install_secret "$CONFIG_DIR/$file" "$ROOT$ETC/$file"; fi
done

# --- the broker (server) -----------------------------------------------------------------------

if [ "$ROLE" = server ]; then
    if [ -d "$CONFIG_DIR/mosquitto" ]; then
        MOSQUITTO_GID=$(group_id mosquitto)
        broker=()
        if [ -z "$MOSQUITTO_GID" ]; then
            warn "no group mosquitto: /etc/mosquitto/qms stays root's and the broker cannot read it"
        elif [ "$IS_ROOT" -eq 1 ]; then
            broker=(-o 0 -g "$MOSQUITTO_GID")
        fi
        install -d -m 0755 "$ROOT/etc/mosquitto/conf.d"
        # Mosquitto 2 drops to its user before it reads the password file, the ACL and the TLS key.
        install -d -m 0750 "${broker[@]}" "$ROOT/etc/mosquitto/qms"
        for file in "$CONFIG_DIR"/mosquitto/*; do
            [ -f "$file" ] || continue
            if [ "$(basename "$file")" = qms.conf ]; then
                install -m 0644 "$file" "$ROOT/etc/mosquitto/conf.d/qms.conf"
            else
                install -m 0640 "${broker[@]}" "$file" "$ROOT/etc/mosquitto/qms/"
            fi
        done
        if [ "$LIVE" -eq 1 ]; then
            systemctl enable --quiet mosquitto.service
            systemctl restart mosquitto.service
            say "mosquitto restarted with /etc/mosquitto/conf.d/qms.conf"
        fi
    else
        say "no mosquitto/ folder beside $CONFIG: the broker's config was left as it was"
    fi
fi

# --- the board's voice ---------------------------------------------------------------------------

if [ "$ROLE" = board ]; then
    PYTHONPATH="$ROOT$APP" "$PYTHON" -P -m display_board.clips --out "$ROOT$VENV/share/qms-voice" | sed 's/^/  /'
fi

# --- the service ---------------------------------------------------------------------------------

install -d -m 0755 "$ROOT/etc/systemd/system"
install -m 0644 "$ROOT$APP/systemd/$UNIT" "$ROOT/etc/systemd/system/$UNIT"
if [ "$LIVE" -eq 1 ]; then
    systemctl daemon-reload
fi
if [ -n "$ROOT" ]; then
    systemctl --root="$ROOT" enable "$UNIT" 2>/dev/null # no multi-user.target there: not worth a warning
else
    systemctl enable --quiet "$UNIT"
fi
if [ "$LIVE" -eq 1 ]; then
    # --no-block: an agent is "activating" until it reaches the server, which may be down now.
    systemctl restart --no-block "$UNIT"
    for other in qms-server qms-kiosk qms-board qms-counter qms-console qms-web; do # they run the same /opt/qms/app
        if [ "$other.service" != "$UNIT" ]; then
            systemctl try-restart --no-block "$other.service" 2>/dev/null || true
        fi
    done
    say "$UNIT (re)started: 'systemctl status $UNIT' says active once it reaches the server;" \
        "its log: journalctl -u $UNIT -f"
else
    say "$UNIT installed and enabled under ${ROOT:-/} (not started: no running systemd here)"
fi

# --- the console's first admin -------------------------------------------------------------------

if [ "$ROLE" = console ]; then
    # Run as qms: the console refuses an accounts file that is not its own user's. The password is
    # asked on the terminal (twice), never given on the command line.
    say "the first admin, if there is none yet: sudo -u qms env PYTHONPATH=$APP" \
        "$VENV/bin/python -P -m staff_console add-user --config $ETC/$CONFIG_NAME --username admin" \
        "--name \"Nguyễn Văn A\" --role admin"
fi

# --- the citizen web's reverse proxy -------------------------------------------------------------

if [ "$ROLE" = web ]; then
    # It serves plain HTTP on the loopback: citizens' phones reach it only through a proxy with TLS.
    say "the citizen web serves plain HTTP on 127.0.0.1 only; put a reverse proxy with TLS in front of it:" \
        "$APP/firmware_configs/nginx/citizen-web.conf is an example for nginx (apt-get install nginx; copy it" \
        "to /etc/nginx/conf.d/, set server_name and the certificate's paths, then nginx -t && systemctl reload nginx)"
fi
