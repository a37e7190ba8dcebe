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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, capture_one_request, run_wrk, scenario_with_profile, start_nginx, stop, tool

BUSY = ROOT / "scenarios" / "busy-road.yaml"


def run_ffsim(scenario: Path, port: int, until: str) -> tuple[int, float]:
    t0 = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "ffsim", "run", str(scenario), "--http",
                             f"http://127.0.0.1:{port}/listener.php", "--speed", "max", "--quiet", "--json",
                             "--until", until], capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - t0
    return json.loads(result.stdout)["profiles"]["1"]["sent"], elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--until", default="6h", help="virtual time of busy road to send (default 6h)")
    parser.add_argument("--seconds", type=int, default=5, help="how long wrk runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        scenario = scenario_with_profile(BUSY, folder / "busy-http.yaml", "{id: 1, protocol: http, image: plate}")
        content_type, body = capture_one_request(scenario, "--until", "3s", "--drain", "2s")
        tool("nginx", "nginx-light", install=True)
        tool("wrk", "wrk", install=True)
        nginx, port = start_nginx(folder, connections=64)
        try:
            sent, elapsed = run_ffsim(scenario, port, args.until)
            wrk_rate = run_wrk(folder, f"http://127.0.0.1:{port}/", content_type, body, args.seconds)
        finally:
            stop(nginx)
    rate = sent / elapsed
    print(f"body: {len(body)} bytes ({content_type.split(';')[0]}, plate-crop JPEG)")
    print(f"ffsim run --speed max: {rate:>9,.0f} events/s  ({sent} events in {elapsed:.2f} s, process start included)")
    print(f"wrk -t1 -c1:           {wrk_rate:>9,.0f} requests/s")
    print(f"ratio: {rate / wrk_rate:.2f}  (goal >= 0.3)")


if __name__ == "__main__":
    main()
