"""``deploy/nginx.conf`` as shipped, run by a real nginx in front of a real server: TLS on 443,
plain HTTP only redirecting there (the env example's cookies are Secure), and the QR links
the server builds pointing at https:// through BRANCHQ_PUBLIC_URL."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import shutil
import ssl
import subprocess
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import IN_CI, KIOSK, seconds
from tests.integration.server_process import ServerProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def self_signed(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "fullchain.pem", directory / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def shipped_config(tmp: Path, upstream_port: int, http_port: int, https_port: int) -> Path:
    """The deploy file with only what a test machine must change: ports, certificate, log paths."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    cert, key = self_signed(tmp)
    text = re.sub(r"server 127\.0\.0\.1:8081[^;]*;\s*server 127\.0\.0\.1:8082[^;]*;",
                  f"server 127.0.0.1:{upstream_port};", text)
    text = text.replace("listen 80;", f"listen 127.0.0.1:{http_port};").replace("listen [::]:80;", "")
    text = text.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
    text = text.replace("listen [::]:443 ssl http2;", "")
    text = text.replace("/etc/branchq/tls/fullchain.pem", str(cert)).replace("/etc/branchq/tls/privkey.pem", str(key))
    text = text.replace("/var/log/nginx/branchq.access.log", str(tmp / "access.log"))
    main = tmp / "nginx.conf"
    main.write_text(
        f"pid {tmp}/nginx.pid;\nerror_log {tmp}/error.log;\nevents {{}}\n"
        f"http {{\n client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;\n"
        f" fastcgi_temp_path {tmp}/fcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;\n"
        f"{text}\n}}\n"
    )
    return main


@pytest.mark.skipif(not Path(NGINX).exists() and not IN_CI, reason="nginx is not installed (.ci/run installs it)")
async def test_the_shipped_nginx_config_serves_tls_and_redirects_plain_http(db_url, tmp_path: Path):
    server = ServerProcess(db_url, tmp_path / "server", demo=True,
                           env={"BRANCHQ_PUBLIC_URL": "https://queue.bank.example"})
    http_port, https_port = free_port(), free_port()
    async with server:
        config = shipped_config(tmp_path, server.port, http_port, https_port)
        checked = subprocess.run([NGINX, "-t", "-c", str(config), "-p", str(tmp_path)], capture_output=True,
                                 text=True, timeout=seconds(30))
        assert checked.returncode == 0, checked.stderr
        nginx = subprocess.Popen([NGINX, "-c", str(config), "-p", str(tmp_path), "-g", "daemon off;"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            tls = ssl.create_default_context(cafile=str(tmp_path / "fullchain.pem"))
            async with aiohttp.ClientSession() as http:
                async with asyncio.timeout(seconds(15)):
                    while True:
                        try:
                            plain = await http.get(f"http://127.0.0.1:{http_port}/kiosk/demo", allow_redirects=False)
                            break
                        except aiohttp.ClientConnectionError:
                            await asyncio.sleep(0.1)
                assert plain.status == 301
                assert plain.headers["Location"] == "https://127.0.0.1/kiosk/demo"
                base = f"https://localhost:{https_port}"
                health = await http.get(f"{base}/api/v1/health", ssl=tls)
                assert health.status == 200 and (await health.json())["status"] == "ok"
                assert "max-age" in health.headers["Strict-Transport-Security"]
                ticket = await (await http.post(f"{base}/api/v1/branches/demo/tickets", json={"service": "A"},
                                                headers=KIOSK, ssl=tls)).json()
                ws = await http.ws_connect(f"wss://localhost:{https_port}/ws", ssl=tls)
                await ws.send_json({"type": "hello", "role": "display", "branch": "demo", "token": "demo-display"})
                assert (await ws.receive_json(timeout=seconds(10)))["type"] == "welcome"
                await ws.close()
            log = (tmp_path / "access.log").read_text()
            assert ticket["token"] not in log
        finally:
            nginx.terminate()
            nginx.wait(timeout=10)


async def test_pages_served_through_the_public_address_may_sign_in_and_open_sockets(settings, clock, aiohttp_client):
    """Behind TLS the request says http://127.0.0.1 while the browser's Origin is the public https one."""
    from server.app import create_app
    from server.services.demo import seed_demo
    from server.web.api import SERVICES

    app = create_app(settings.model_copy(update={"public_url": "https://queue.bank.example"}), clock=clock)
    client = await aiohttp_client(app)
    await seed_demo(app[SERVICES])
    origin = {"Origin": "https://queue.bank.example"}
    resp = await client.post("/api/v1/auth/login", json={"username": "teller3", "password": "demo-pass"},
                             headers=origin)
    assert resp.status == 200, await resp.text()
    ws = await client.ws_connect("/ws", headers=origin)
    await ws.send_json({"type": "hello", "role": "counter", "branch": "demo"})
    assert (await ws.receive_json(timeout=seconds(10)))["type"] == "welcome"
    await ws.close()
    evil = await client.post("/api/v1/auth/login", json={"username": "teller3", "password": "demo-pass"},
                             headers={"Origin": "https://evil.example"})
    assert evil.status == 403
