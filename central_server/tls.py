"""A certificate authority and broker certificates, made with the openssl command line tool.

Used by `central_server provision --tls` (a center's own CA, kept beside the provisioned files)
and by the tests' and demo's TLS brokers (a throwaway CA).
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Authority:
    """A CA: the certificate every device trusts, and the key that signs broker certificates."""

    cert_file: Path
    key_file: Path


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
_NEW_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")


def make_authority(folder: Path, name: str, *, days: int) -> Authority:
    """A new self-signed CA in `folder` (ca.crt, ca.key with mode 0600)."""
    folder.mkdir(parents=True, exist_ok=True)
    conf = _conf(folder, "IP:127.0.0.1")
    authority = Authority(folder / "ca.crt", folder / "ca.key")
    _openssl("req", "-x509", "-config", conf, "-extensions", "ca", *_NEW_KEY, "-keyout", authority.key_file,
             "-out", authority.cert_file, "-days", days, "-subj", f"/CN={name}")
    authority.key_file.chmod(0o600)
    conf.unlink()
    return authority


def issue_server_certificate(authority: Authority, folder: Path, hosts: tuple[str, ...], *, days: int,
                             name: str = "server") -> TlsFiles:
    """A server certificate for `hosts` (its subjectAltName) signed by `authority`: `name`.crt, `name`.key (0600).

    The broker's is server.crt; the staff console's HTTPS one is console.crt."""
    folder.mkdir(parents=True, exist_ok=True)
    alt_names = ", ".join(f"IP:{host}" if is_ip(host) else f"DNS:{host}" for host in hosts)
    conf = _conf(folder, alt_names)
    cert_file, key_file, csr = folder / f"{name}.crt", folder / f"{name}.key", folder / f"{name}.csr"
    _openssl("req", "-new", "-config", conf, *_NEW_KEY, "-keyout", key_file, "-out", csr, "-subj", f"/CN={hosts[0]}")
    _openssl("x509", "-req", "-in", csr, "-CA", authority.cert_file, "-CAkey", authority.key_file,
             "-set_serial", f"0x{secrets.token_hex(8)}", "-days", days, "-extfile", conf, "-extensions", "server",
             "-out", cert_file)
    csr.unlink()
    conf.unlink()
    key_file.chmod(0o600)
    return TlsFiles(ca_file=authority.cert_file, cert_file=cert_file, key_file=key_file)


def is_ip(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except OSError:
        return False
    return True


def _conf(folder: Path, alt_names: str) -> Path:
    conf = folder / f"openssl-{secrets.token_hex(4)}.cnf"
    conf.write_text(_OPENSSL_CONF.format(alt_names=alt_names))
    return conf


def _openssl(*args: object) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise FileNotFoundError("the openssl command is not installed (apt-get install openssl)")
    done = subprocess.run([openssl, *map(str, args)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {done.stderr.strip()[-2000:]}")
