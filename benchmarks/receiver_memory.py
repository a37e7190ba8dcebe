#!/usr/bin/env python3
"""Peak memory of `ffsim receive` over 100,000 packets. Goal: under 150 MB.

    python benchmarks/receiver_memory.py [--packets 100000] [--http-share 0.02] [--out]

Starts `ffsim receive --quiet` in its own process (HTTP and TCP), sends it real
payloads from the busy road (every passage a New, Updates and a Lost, 2024-lpv, no
images) over TCP, one document after the other on a few connections, and a share of
them over HTTP as multipart with a plate image, then reads the receiver's peak
resident memory (VmHWM) from /proc. The baseline in the same run is the receiver's
resident memory once it listens, before any packet. `--out` stores every packet too.
Prints the figures, and `--json` them as one document; exit 1 over the goal.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUSY = ROOT / "scenarios" / "busy-road.yaml"
GOAL_MB = 150


def memory_kb(pid: int, field: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M).group(1))


def payloads(count: int) -> list[bytes]:
    """count payloads of the busy road, in order (ffsim's own engine)."""
    sys.path.insert(0, str(ROOT))
    from ffsim.protocol import Camera
    from ffsim.scenario import load_scenario

    scenario = load_scenario(BUSY)
    out = []
    for packet in Camera(scenario, scenario.start_us).packets():
        out.append(packet.payload.camera_json())
        if len(out) == count:
            break
    return out


def finish(connection: socket.socket) -> None:
    """Close a connection once the receiver has read and handled all of it (it closes its side then)."""
    connection.shutdown(socket.SHUT_WR)
    connection.settimeout(600)
    while connection.recv(65536):
        pass
    connection.close()


def multipart(document: bytes, image: bytes) -> bytes:
    return (b'--B\r\nContent-Disposition: form-data; name="event"; filename="event.json"\r\n'
            b"Content-Type: application/json\r\n\r\n" + document + b"\r\n"
            b'--B\r\nContent-Disposition: form-data; name="image"; filename="plate.jpg"\r\n'
            b"Content-Type: image/jpeg\r\n\r\n" + image + b"\r\n--B--\r\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packets", type=int, default=100_000)
    parser.add_argument("--http-share", type=float, default=0.02, help="share sent over HTTP with an image")
    parser.add_argument("--out", action="store_true", help="store every packet in a temporary --out")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    started = time.monotonic()
    documents = payloads(args.packets)
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (240, 60), (200, 200, 200)).save(buffer, "JPEG")
    image = buffer.getvalue()
    print(f"{len(documents)} payloads of the busy road made in {time.monotonic() - started:.1f} s", file=sys.stderr)

    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "ffsim", "receive", "--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0",
                   "--quiet", "--json"]
        if args.out:
            command += ["--out", str(Path(folder) / "out")]
        receiver = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        line = receiver.stderr.readline()
        http = re.search(r"HTTP (\S+)", line).group(1)
        host, port = re.search(r"TCP (\S+):(\d+)", line).groups()
        baseline_kb = memory_kb(receiver.pid, "VmRSS")
        sent_http = 0
        every = max(1, round(1 / args.http_share)) if args.http_share > 0 else 0
        started = time.monotonic()
        connection = socket.create_connection((host, int(port)))
        for index, document in enumerate(documents):
            if every and index % every == every - 1:
                request = urllib.request.Request(http + "listener.php", data=multipart(document, image),
                                                 headers={"Content-Type": "multipart/form-data; boundary=B"})
                urllib.request.urlopen(request, timeout=60).read()
                sent_http += 1
            else:
                connection.sendall(document)
            if index % 20_000 == 19_999:  # a few connections, as cameras reconnect
                finish(connection)
                connection = socket.create_connection((host, int(port)))
            if index % 10_000 == 9_999:
                print(f"  {index + 1} sent, receiver at {memory_kb(receiver.pid, 'VmRSS') / 1024:.0f} MB",
                      file=sys.stderr)
        finish(connection)
        receiver.send_signal(2)  # Ctrl-C: it finishes what it read, then prints its summary
        peak_kb = 0
        while receiver.poll() is None:  # the peak until it exits (VmHWM is the high-water mark)
            try:
                peak_kb = max(peak_kb, memory_kb(receiver.pid, "VmHWM"))
            except (FileNotFoundError, ProcessLookupError, AttributeError):
                break
            time.sleep(0.05)
        stdout, stderr = receiver.communicate(timeout=600)
        elapsed = time.monotonic() - started
    summary = json.loads(stdout.strip().splitlines()[-1])
    result = {"packets_sent": len(documents), "over_http": sent_http, "packets_received": summary["packets"],
              "baseline_mb": round(baseline_kb / 1024, 1), "peak_mb": round(peak_kb / 1024, 1),
              "goal_mb": GOAL_MB, "seconds": round(elapsed, 1), "out": args.out,
              "forgotten": summary.get("forgotten")}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"receiver memory over {result['packets_received']} packets ({sent_http} over HTTP with an image): "
              f"peak {result['peak_mb']} MB (baseline {result['baseline_mb']} MB once listening; goal < {GOAL_MB} MB) "
              f"in {result['seconds']} s")
    ok = result["peak_mb"] < GOAL_MB and result["packets_received"] == len(documents)
    if result["packets_received"] != len(documents):
        print(f"lost: {len(documents) - result['packets_received']} packet(s)", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
