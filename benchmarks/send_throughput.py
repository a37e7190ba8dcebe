#!/usr/bin/env python3
"""Events/s of `ffsim run --speed max` against nginx on loopback, next to wrk -t1 -c1
posting the same kind of body to the same nginx in the same run. Goal: ratio >= 0.3.

    python benchmarks/send_throughput.py [--until 6h] [--seconds 5]

nginx answers 204 to every request (installed from Debian if missing). ffsim sends
the busy road's events over HTTP multipart with plate-crop images, one connection,
one event at a time, as a camera profile does. wrk posts one of those requests,
byte for byte (captured from ffsim on the wire), over one connection. Six hours
of traffic (about 25,000 events) keep the process start (about 0.25 s) from
dominating; `--until 1h` shows its weight.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUSY = ROOT / "scenarios" / "busy-road.yaml"


def ensure(tool: str, package: str) -> str:
    path = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/usr/bin")
    if path is None:
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True, stdout=subprocess.DEVNULL)
        path = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/usr/bin")
    assert path, f"{tool} not found after installing {package}"
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_nginx(folder: Path, port: int) -> subprocess.Popen:
    nginx = ensure("nginx", "nginx-light")
    conf = folder / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    client_max_body_size 64m;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 204; }}
    }}
}}
""")
    proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(folder)], stderr=subprocess.DEVNULL)
    for _ in range(100):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.05)
    raise RuntimeError("nginx did not start")


def capture_one_request(scenario: Path) -> tuple[str, bytes]:
    """One request exactly as ffsim puts it on the wire: (Content-Type, body)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    captured: dict = {}

    def serve():
        conn, _ = server.accept()
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        while len(body) < length:
            body += conn.recv(65536)
        captured["type"] = re.search(rb"Content-Type: ([^\r]+)", head).group(1).decode()
        captured["body"] = body[:length]
        conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    subprocess.run([sys.executable, "-m", "ffsim", "run", str(scenario), "--http", f"http://127.0.0.1:{port}/",
                    "--speed", "max", "--quiet", "--until", "3s", "--drain", "2s"], capture_output=True)
    thread.join(10)
    server.close()
    return captured["type"], captured["body"]


def run_ffsim(scenario: Path, port: int, until: str) -> tuple[int, float]:
    t0 = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "ffsim", "run", str(scenario), "--http",
                             f"http://127.0.0.1:{port}/listener.php", "--speed", "max", "--quiet", "--json",
                             "--until", until], capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - t0
    return json.loads(result.stdout)["profiles"]["1"]["sent"], elapsed


def run_wrk(folder: Path, port: int, content_type: str, body: bytes, seconds: int) -> float:
    wrk = ensure("wrk", "wrk")
    (folder / "body.bin").write_bytes(body)
    script = folder / "post.lua"
    script.write_text(f"""
local f = io.open("{folder}/body.bin", "rb")
wrk.method = "POST"
wrk.body = f:read("*all")
f:close()
wrk.headers["Content-Type"] = "{content_type}"
""")
    out = subprocess.run([wrk, "-t1", "-c1", f"-d{seconds}s", "-s", str(script), f"http://127.0.0.1:{port}/"],
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--until", default="6h", help="virtual time of busy road to send (default 6h)")
    parser.add_argument("--seconds", type=int, default=5, help="how long wrk runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        scenario = folder / "busy-http.yaml"
        text = BUSY.read_text().split("\nprofiles:")[0]
        scenario.write_text(text + "\nprofiles:\n  - {id: 1, protocol: http, image: plate}\n")
        content_type, body = capture_one_request(scenario)
        port = free_port()
        nginx = start_nginx(folder, port)
        try:
            sent, elapsed = run_ffsim(scenario, port, args.until)
            wrk_rate = run_wrk(folder, port, content_type, body, args.seconds)
        finally:
            nginx.terminate()
            nginx.wait(10)
    rate = sent / elapsed
    print(f"body: {len(body)} bytes ({content_type.split(';')[0]}, plate-crop JPEG)")
    print(f"ffsim run --speed max: {rate:>9,.0f} events/s  ({sent} events in {elapsed:.2f} s, process start included)")
    print(f"wrk -t1 -c1:           {wrk_rate:>9,.0f} requests/s")
    print(f"ratio: {rate / wrk_rate:.2f}  (goal >= 0.3)")


if __name__ == "__main__":
    main()
