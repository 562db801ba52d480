"""firmware_configs/nginx/citizen-web.conf really run: Debian's nginx (unprivileged, in a folder of the test) with
the example file, only its ports, certificate paths and upstream port replaced, in front of a real
`python -m citizen_web`, which serves without the server and the broker (its pages say the center is not reached).

Checked through the proxy: HTTPS with the test's own certificate, HSTS, no version in `Server:`, gzip, the small
body limit, the HTTP -> HTTPS redirect; and that the citizen web counts the client by the address nginx saw, not by
an X-Forwarded-For the client made up (its per-address limit on wrong ticket codes trips, and its log names
127.0.0.1).
"""

from __future__ import annotations

import http.client
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from citizen_web.limits import MAX_FAILURES
from devkit.local_broker import free_port
from tests.harness import ROOT, STARTUP_S, terminate, until

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
EXAMPLE = ROOT / "firmware_configs/nginx/citizen-web.conf"
TIMEOUT = 10.0
pytestmark = pytest.mark.skipif(not Path(NGINX).exists() or shutil.which("openssl") is None,
                                reason="needs Debian's nginx and openssl (scripts/ensure_system_packages.sh)")

MAIN_CONF = """daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{
    worker_connections 256;
}}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    types {{
        text/html html;
    }}
    include {folder}/citizen-web.conf;
}}
"""


def example_for_test(folder: Path, http_port: int, https_port: int, web_port: int) -> str:
    """The example with what differs on a test machine replaced, each exactly where the example has it."""
    text = EXAMPLE.read_text(encoding="utf-8")
    replacements = [
        ("    listen 80;\n", f"    listen 127.0.0.1:{http_port};\n"),
        ("    listen 443 ssl;\n", f"    listen 127.0.0.1:{https_port} ssl;\n"),
        ("server 127.0.0.1:8090;", f"server 127.0.0.1:{web_port};"),
        ("/etc/letsencrypt/live/hangdoi.example.gov.vn/fullchain.pem", str(folder / "cert.pem")),
        ("/etc/letsencrypt/live/hangdoi.example.gov.vn/privkey.pem", str(folder / "key.pem")),
    ]
    for old, new in replacements:
        assert text.count(old) == 1, f"the example no longer has {old!r} once"
        text = text.replace(old, new)
    ipv6 = re.findall(r"^ *listen \[::\]:\d+.*\n", text, re.MULTILINE)  # a test host may have no IPv6
    assert len(ipv6) == 2, ipv6
    for line in ipv6:
        text = text.replace(line, "")
    return text


@dataclass(frozen=True, slots=True)
class Proxied:
    folder: Path
    http_port: int
    https_port: int
    web_log: Path

    def https(self) -> http.client.HTTPSConnection:
        """A client that trusts only the test's certificate and checks the name in it."""
        context = ssl.create_default_context(cafile=str(self.folder / "cert.pem"))
        return http.client.HTTPSConnection("localhost", self.https_port, context=context, timeout=TIMEOUT)


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def proxied() -> Iterator[Proxied]:
    # Not pytest's tmp_path: nginx runs as nobody when the tests run as root, and must reach its folder.
    folder = Path(tempfile.mkdtemp(prefix="qms-nginx-"))
    http_port, https_port, web_port, no_broker = free_port(), free_port(), free_port(), free_port()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"), "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True, timeout=30)
    (folder / "citizen-web.conf").write_text(example_for_test(folder, http_port, https_port, web_port), "utf-8")
    (folder / "nginx.conf").write_text(MAIN_CONF.format(folder=folder), encoding="utf-8")
    web_config = folder / "citizen_web.toml"
    web_config.write_text(f'[web]\nid = "web-1"\ncenter = "nginx-test"\nlisten = "127.0.0.1"\nport = {web_port}\n'
                          f'trusted_proxies = ["127.0.0.1"]\n[mqtt]\nurl = "mqtt://127.0.0.1:{no_broker}"\n',
                          encoding="utf-8")
    drop: dict[str, object] = {}
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        for path in (folder, *folder.iterdir()):
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
        drop = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
    nginx = [NGINX, "-p", f"{folder}/", "-c", str(folder / "nginx.conf"), "-e", str(folder / "error.log")]
    checked = subprocess.run([*nginx, "-t"], capture_output=True, text=True, timeout=30, **drop)  # type: ignore[call-overload]
    assert checked.returncode == 0, checked.stderr
    assert "[warn]" not in checked.stderr and "[emerg]" not in checked.stderr, checked.stderr

    web_log = folder / "citizen_web.log"
    web: subprocess.Popen[bytes] | None = None
    proxy: subprocess.Popen[bytes] | None = None
    try:
        with web_log.open("wb") as log:
            web = subprocess.Popen([sys.executable, "-m", "citizen_web", "--config", str(web_config)], cwd=ROOT,
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env={**os.environ, "QMS_LOG_LEVEL": "INFO"})
        with (folder / "nginx.out").open("wb") as out:
            proxy = subprocess.Popen(nginx, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     **drop)  # type: ignore[call-overload]
        until(lambda: "citizen_web: serving" in web_log.read_text(errors="replace") or web.poll() is not None,
              STARTUP_S)
        assert web.poll() is None, web_log.read_text(errors="replace")[-2000:]
        until(lambda: listening(https_port) or proxy.poll() is not None, TIMEOUT)
        assert proxy.poll() is None, (folder / "error.log").read_text(errors="replace")
        yield Proxied(folder, http_port, https_port, web_log)
    finally:
        terminate(proxy)
        terminate(web)
        shutil.rmtree(folder, ignore_errors=True)


def test_robots_txt_comes_through_over_https_with_hsts_gzip_and_no_version(proxied: Proxied) -> None:
    connection = proxied.https()
    try:
        connection.request("GET", "/robots.txt")
        answer = connection.getresponse()
        assert (answer.status, answer.read()) == (200, b"User-agent: *\nDisallow: /\n")
        assert answer.getheader("Strict-Transport-Security") == "max-age=31536000"
        assert answer.getheader("Server") == "nginx"  # server_tokens off: no version
        assert answer.getheader("X-Content-Type-Options") == "nosniff"  # the citizen web's own headers pass
        # the page's script is compressed (the same connection: keep-alive through the proxy)
        connection.request("GET", "/tep/phieu.js", headers={"Accept-Encoding": "gzip"})
        script = connection.getresponse()
        body = script.read()
        assert script.status == 200 and script.getheader("Content-Encoding") == "gzip"
        assert len(body) < (ROOT / "citizen_web/static/phieu.js").stat().st_size
        # a body bigger than any rating form never reaches Python
        connection.request("POST", "/phieu/" + "a" * 27 + "/danh-gia", body=b"level=" + b"x" * 8000,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        big = connection.getresponse()
        big.read()
        assert big.status == 413
    finally:
        connection.close()
    assert "danh-gia" not in proxied.web_log.read_text(errors="replace")


def test_plain_http_is_sent_to_https(proxied: Proxied) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", proxied.http_port, timeout=TIMEOUT)
    try:
        connection.request("GET", "/robots.txt?x=1", headers={"Host": "localhost"})
        answer = connection.getresponse()
        answer.read()
    finally:
        connection.close()
    assert answer.status == 301
    assert answer.getheader("Location") == "https://localhost/robots.txt?x=1"
    assert answer.getheader("Strict-Transport-Security") is None  # HSTS only counts when sent over HTTPS


def test_the_citizen_web_counts_the_address_nginx_saw_not_a_forged_x_forwarded_for(proxied: Proxied) -> None:
    """Wrong ticket codes, each sent with another made-up X-Forwarded-For: had nginx passed the client's header on,
    each would count for another address and the next look-up would be tried (503: no server here). As they all
    count for 127.0.0.1, the citizen web refuses it (429) and its log names 127.0.0.1."""
    from citizen_web.web import TOO_MANY_WRONG_VI  # here: citizen_web.web needs the server side's protocol (issue 16)

    connection = proxied.https()
    try:
        for n in range(MAX_FAILURES):
            connection.request("GET", f"/phieu/sai-{n}", headers={"X-Forwarded-For": f"203.0.113.{n + 1}"})
            wrong = connection.getresponse()
            wrong.read()
            assert wrong.status == 404
        connection.request("GET", "/phieu/" + "a" * 27, headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.99"})
        refused = connection.getresponse()
        page = refused.read().decode()
    finally:
        connection.close()
    assert refused.status == 429, page
    assert TOO_MANY_WRONG_VI in page  # the citizen web's refusal, not nginx's flood limit
    log = proxied.web_log.read_text(errors="replace")
    assert "refused a look-up from 127.0.0.1: too many wrong tokens" in log, log[-2000:]
    assert "203.0.113." not in log and "198.51.100." not in log


def test_the_live_stream_is_passed_on_unbuffered_and_outlives_the_citizen_webs_pings() -> None:
    """Read from the example, since the stream needs the server (not merged yet): the location that matches the
    stream's path turns buffering off and waits longer than the citizen web's keep-alive interval."""
    from citizen_web.web import PING_S

    text = re.sub(r"#.*", "", EXAMPLE.read_text(encoding="utf-8"))
    found = re.search(r"location ~ (\S+) \{([^}]*)\}", text)
    assert found is not None
    pattern, block = found.groups()
    assert re.search(pattern, "/phieu/" + "a" * 27 + "/luong") and not re.search(pattern, "/phieu/" + "a" * 27)
    settings = dict(re.findall(r"^\s*(\w+)\s+([^;]*);", block, re.MULTILINE))
    assert settings["proxy_buffering"] == "off" and settings["gzip"] == "off"
    assert settings["proxy_pass"] == "http://qms_citizen_web"
    read_timeout = re.fullmatch(r"(\d+)s", settings["proxy_read_timeout"])
    assert read_timeout is not None and int(read_timeout.group(1)) >= max(60, 4 * PING_S)
    server = re.findall(r"^\s*(proxy_http_version 1\.1|proxy_set_header Connection \"\");", text, re.MULTILINE)
    assert len(server) == 2, server  # HTTP/1.1 to the citizen web, and no "Connection: close" on the stream
