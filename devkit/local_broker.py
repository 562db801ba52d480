"""A Mosquitto on a free loopback port (plain or TLS), for tests, `make demo` and `make bench`."""

from __future__ import annotations

import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from central_server.tls import TlsFiles, issue_server_certificate, make_authority

TUNING = Path(__file__).resolve().parents[1] / "firmware_configs" / "mosquitto" / "tuning.conf"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(found).exists():
        raise FileNotFoundError("mosquitto is not installed: run `make install` (apt-get install mosquitto)")
    return found


def make_tls_files(folder: Path, *, hosts: tuple[str, ...] = ("127.0.0.1", "localhost"), days: int = 2) -> TlsFiles:
    """A throwaway CA and a server certificate for `hosts` (as subjectAltName).

    Mosquitto started as root drops to the user `mosquitto` before it reads these files, so they
    are made world-readable (test keys only), and `folder` and every parent must be traversable by
    that user. pytest's `tmp_path` is not (it lies under a 0700 directory); a `tempfile` one is.
    """
    authority = make_authority(folder, f"qms test CA {secrets.token_hex(4)}", days=days)  # unique: no two alike
    files = issue_server_certificate(authority, folder, hosts, days=days)
    folder.chmod(0o755)
    for path in (files.ca_file, files.cert_file, files.key_file):
        path.chmod(0o644)
    return files


class LocalBroker:
    """Mosquitto with the shipped tuning, anonymous, without persistence; restartable on its port.

    With `tls`, its one listener speaks only TLS (see `make_tls_files` for who must read the files).
    """

    def __init__(
        self, workdir: Path, port: int | None = None, *, anonymous: bool = True, tls: TlsFiles | None = None,
        config: Path | None = None,
    ) -> None:
        """`config`: run a ready conf file (e.g. one `central_server provision` wrote) that listens on `port`."""
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.tls = tls
        self.log = workdir / f"mosquitto-{self.port}.log"
        if config is not None:
            self.conf = config
        else:
            self.conf = workdir / f"mosquitto-{self.port}.conf"
            tls_lines = (
                f"cafile {tls.ca_file}\ncertfile {tls.cert_file}\nkeyfile {tls.key_file}\n" if tls is not None else ""
            )
            self.conf.write_text(
                f"listener {self.port} {self.host}\n{tls_lines}allow_anonymous {'true' if anonymous else 'false'}\n"
                f"persistence false\nlog_dest stderr\n{TUNING.read_text()}"
            )
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls is not None else 'mqtt'}://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        """The running broker's process id (its memory is in /proc/<pid>/status)."""
        if self._proc is None:
            raise RuntimeError("the broker is not running")
        return self._proc.pid

    def start(self, timeout_s: float = 10.0) -> None:
        with self.log.open("ab") as log:
            self._proc = subprocess.Popen(
                [mosquitto_binary(), "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                socket.create_connection((self.host, self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.02)  # polling the port until the broker listens
        raise RuntimeError(f"mosquitto did not listen on {self.port} within {timeout_s} s")

    def stop(self, *, kill: bool = False) -> None:
        if self._proc is None:
            return
        if kill:
            self._proc.kill()
        else:
            self._proc.terminate()
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(10)
        self._proc = None

    def freeze(self, frozen: bool) -> None:
        """Stop (SIGSTOP) or continue (SIGCONT) the broker: connections stay open but nothing moves."""
        if self._proc is not None:
            self._proc.send_signal(signal.SIGSTOP if frozen else signal.SIGCONT)

    def __enter__(self) -> LocalBroker:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
