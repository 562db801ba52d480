"""A Mosquitto on a free loopback port (plain or TLS), for tests, `make demo` and `make bench`."""

from __future__ import annotations

import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """A broker's TLS files: the CA certificate clients trust, and the server certificate and key it signed."""

    ca_file: Path
    cert_file: Path
    key_file: Path


_OPENSSL_CONF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = {alt_names}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""


def make_tls_files(folder: Path, *, hosts: tuple[str, ...] = ("127.0.0.1", "localhost"), days: int = 2) -> TlsFiles:
    """A throwaway CA and a server certificate for `hosts` (as subjectAltName), made with the openssl CLI.

    Mosquitto started as root drops to the user `mosquitto` before it reads these files, so they
    are made world-readable (test keys only), and `folder` and every parent must be traversable by
    that user. pytest's `tmp_path` is not (it lies under a 0700 directory); a `tempfile` one is.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        raise FileNotFoundError("the openssl command is not installed (apt-get install openssl)")
    folder.mkdir(parents=True, exist_ok=True)
    alt_names = ", ".join(f"IP:{host}" if _is_ip(host) else f"DNS:{host}" for host in hosts)
    conf = folder / "openssl.cnf"
    conf.write_text(_OPENSSL_CONF.format(alt_names=alt_names))
    ca_file, ca_key = folder / "ca.crt", folder / "ca.key"
    cert_file, key_file, csr = folder / "server.crt", folder / "server.key", folder / "server.csr"
    new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    tag = secrets.token_hex(4)  # two CAs made by this function must not share a name
    _run_openssl(openssl, "req", "-x509", "-config", conf, "-extensions", "ca", *new_key, "-keyout", ca_key,
                 "-out", ca_file, "-days", days, "-subj", f"/CN=qms test CA {tag}")
    _run_openssl(openssl, "req", "-new", "-config", conf, *new_key, "-keyout", key_file, "-out", csr,
                 "-subj", f"/CN={hosts[0]}")
    _run_openssl(openssl, "x509", "-req", "-in", csr, "-CA", ca_file, "-CAkey", ca_key,
                 "-set_serial", f"0x{secrets.token_hex(8)}", "-days", days, "-extfile", conf,
                 "-extensions", "server", "-out", cert_file)
    folder.chmod(0o755)
    for path in (ca_file, cert_file, key_file):
        path.chmod(0o644)
    return TlsFiles(ca_file=ca_file, cert_file=cert_file, key_file=key_file)


def _is_ip(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except OSError:
        return False
    return True


def _run_openssl(openssl: str, *args: object) -> None:
    done = subprocess.run([openssl, *map(str, args)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {done.stderr.strip()[-2000:]}")


class LocalBroker:
    """Mosquitto with the shipped tuning, anonymous, without persistence; restartable on its port.

    With `tls`, its one listener speaks only TLS (see `make_tls_files` for who must read the files).
    """

    def __init__(
        self, workdir: Path, port: int | None = None, *, anonymous: bool = True, tls: TlsFiles | None = None
    ) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.tls = tls
        self.conf = workdir / f"mosquitto-{self.port}.conf"
        self.log = workdir / f"mosquitto-{self.port}.log"
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
