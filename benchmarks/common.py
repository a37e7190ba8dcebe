"""Helpers the benchmark scripts share: free ports, nginx answering 204, wrk, one request of `ffsim run`.

The scripts run as `python benchmarks/X.py`: their folder is on sys.path, so `from common import ...`.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def tool(name: str, package: str | None = None, install: bool = False) -> str:
    """The path of a program; with install, apt-get installs package when it is missing."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if path is None and install:
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", package or name], check=True, stdout=subprocess.DEVNULL)
        path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if path is None:
        raise SystemExit(f"{name} is needed (Debian: apt-get install {package or name})")
    return path


def wait_port(port: int, proc: subprocess.Popen, what: str, tries: int = 200) -> None:
    """Until something listens on port; RuntimeError (proc stopped) when proc ends or it takes 10 s."""
    for _ in range(tries):
        with socket.socket() as probe:
            if probe.connect_ex((HOST, port)) == 0:
                return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    stop(proc)
    raise RuntimeError(f"{what} did not start")


def stop(proc: subprocess.Popen) -> None:
    """Terminate proc and wait for it (killed after 10 s)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_nginx(folder: Path, port: int | None = None, workers: int = 1, connections: int = 4096,
                log: Path | None = None, log_port: int | None = None) -> tuple[subprocess.Popen, int]:
    """nginx in the foreground (config, pid, logs in folder) answering `return 204` on port (a free
    one when None), without an access log, keep-alive without limit. With log, a second server on
    log_port (must be given) writes `$request_length $content_length` of every request to log.
    Returns (process, port) once every port listens."""
    nginx = tool("nginx", "nginx-light")
    port = free_port() if port is None else port
    folder.mkdir(parents=True, exist_ok=True)
    logged = ""
    if log is not None:
        assert log_port is not None, "log needs log_port"
        logged = f"""
    server {{
        listen {HOST}:{log_port} backlog=4096;
        access_log {log} length;
        location / {{ return 204; }}
    }}"""
    conf = folder / "nginx.conf"
    conf.write_text(f"""
worker_processes {workers};
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections {connections}; }}
http {{
    access_log off;
    log_format length '$request_length $content_length';
    client_body_temp_path {folder}/body;
    client_max_body_size 64m;
    client_body_buffer_size 1m;
    keepalive_requests 100000000;
    keepalive_timeout 3600s;
    server {{
        listen {HOST}:{port} backlog=4096;
        location / {{ return 204; }}
    }}{logged}
}}
""")
    proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(folder)], stderr=subprocess.DEVNULL)
    for p in (port, log_port) if log is not None else (port,):
        wait_port(p, proc, "nginx")
    return proc, port


def run_wrk(folder: Path, url: str, content_type: str, body: bytes, seconds: int, threads: int = 1,
            connections: int = 1) -> float:
    """Requests/s of wrk posting body (with content_type) to url for seconds."""
    (folder / "body.bin").write_bytes(body)
    script = folder / "post.lua"
    script.write_text(f"""
local f = io.open("{folder}/body.bin", "rb")
wrk.method = "POST"
wrk.body = f:read("*all")
f:close()
wrk.headers["Content-Type"] = "{content_type}"
""")
    out = subprocess.run([tool("wrk"), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def capture_one_request(scenario: Path, *ffsim_args: str) -> tuple[str, bytes]:
    """The first request of `ffsim run scenario --speed max --quiet *ffsim_args` (e.g. "--until", "3s"),
    exactly as it is on the wire: (Content-Type, body)."""
    server = socket.socket()
    server.bind((HOST, 0))
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
    subprocess.run([sys.executable, "-m", "ffsim", "run", str(scenario), "--http", f"http://{HOST}:{port}/",
                    "--speed", "max", "--quiet", *ffsim_args], capture_output=True)
    thread.join(10)
    server.close()
    return captured["type"], captured["body"]


def scenario_with_profile(source: Path, dest: Path, profile: str, extra: str = "") -> Path:
    """dest: source without its profiles, then extra, then the one profile (a YAML flow mapping)."""
    text = source.read_text().split("\nprofiles:")[0]
    dest.write_text(text + extra + f"\nprofiles:\n  - {profile}\n")
    return dest
