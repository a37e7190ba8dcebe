"""Events per second: a fleet on Locust (master + workers, this machine) against `ffsim load` alone.

    python benchmarks/locust_vs_load.py [--cameras 20] [--until 10m] [--workers 2] [--speed max]
                                        [--scenario ffsim/scenarios/busy-road.yaml] [--repeat 2]

Both send the same fleet (N cameras of the scenario, every profile to one HTTP URL) at the
same speed to the same receiver: a minimal keep-alive HTTP sink in its own process (it answers
200 at once and counts requests), so that the senders are measured, not the receiver. `ffsim
load` is ffsim's asyncio driver (``LoadRun``) in one process; Locust is a master and
``--workers`` workers (``locust --master`` / ``--worker`` on loopback) with ffsim's locustfile.
Events/s is delivered events over the run's wall time: ``LoadSummary.duration_s`` for ffsim
load, Locust's own "Requests/s" (its CSV's Aggregated row) for Locust. Each figure is the best of
``--repeat`` runs. The sink's count is checked against both senders' counts.

Goal (issue 10): Locust, master + 2 workers on this machine: events/s within 0.8 of ffsim load.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from common import ROOT, free_port

BIN = Path(sys.executable).parent
LOCUST = [str(BIN / "locust")] if (BIN / "locust").exists() else [sys.executable, "-m", "locust"]


# -- the sink ----------------------------------------------------------------------------------
class _Sink(asyncio.Protocol):
    count = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].lower()
            length = 0
            at = head.find(b"content-length:")
            if at >= 0:
                stop = head.find(b"\r\n", at)
                length = int(head[at + 15:stop if stop >= 0 else None])
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length:]
            if head.startswith(b"get /count"):
                body = str(_Sink.count).encode()
                self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            else:
                _Sink.count += 1
                self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


async def _serve_sink(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(_Sink, "127.0.0.1", port, backlog=1024)
    print("ready", flush=True)
    await server.serve_forever()


def sink_count(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/count", timeout=10) as answer:
        return int(answer.read())


# -- the two senders --------------------------------------------------------------------------
def _load_alone(url: str, scenario: str, cameras: int, until: str, speed: str) -> None:
    """In its own process: ffsim load's driver; prints its figures as JSON."""
    from ffsim.load.run import LoadRun
    from ffsim.scenario.fleet import fleet_from_scenario

    fleet = fleet_from_scenario(scenario, cameras=cameras)
    summary = LoadRun(fleet, http=url, speed=speed, until=until).play()
    total = summary.total
    print(json.dumps({"events": total["delivered"], "attempts": total["attempts"], "seconds": summary.duration_s,
                      "events_per_s": total["delivered"] / summary.duration_s}))


def run_load(url: str, args: argparse.Namespace) -> dict:
    out = subprocess.run([sys.executable, __file__, "--load-alone", url, "--scenario", args.scenario,
                          "--cameras", str(args.cameras), "--until", args.until, "--speed", args.speed],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_locust(url: str, args: argparse.Namespace) -> dict:
    locustfile = str(ROOT / "ffsim" / "load" / "locustfile.py")
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        workers = [subprocess.Popen([*LOCUST, "-f", locustfile, "--worker", "--master-host", "127.0.0.1",
                                     "--master-port", str(port)], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, cwd=tmp) for _ in range(args.workers)]
        try:
            began = time.monotonic()
            master = subprocess.run(
                [*LOCUST, "-f", locustfile, "--headless", "--master", "--master-bind-host", "127.0.0.1",
                 "--master-bind-port", str(port), "--expect-workers", str(args.workers), "-u", str(args.cameras),
                 "-r", str(args.cameras), "-t", "600s", "--csv", f"{tmp}/out", "--only-summary",
                 "--ffsim-fleet", str(ROOT / args.scenario), "--ffsim-cameras", str(args.cameras),
                 "--ffsim-http", url, "--ffsim-until", args.until, "--ffsim-speed", args.speed,
                 "--ffsim-summary", f"{tmp}/summary.json"], capture_output=True, text=True, cwd=tmp)
            wall = time.monotonic() - began
            if master.returncode != 0:
                raise SystemExit(f"locust master failed ({master.returncode}):\n{master.stderr[-3000:]}")
            for w in workers:
                w.wait(timeout=30)
        finally:
            for w in workers:
                if w.poll() is None:
                    w.kill()
                    w.wait()
        with open(f"{tmp}/out_stats.csv", newline="") as f:
            row = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
        summary = json.loads(Path(f"{tmp}/summary.json").read_text())
    requests = int(row["Request Count"])
    return {"events": summary["totals"]["sent"], "attempts": requests, "failures": int(row["Failure Count"]),
            "seconds": round(requests / float(row["Requests/s"]), 3), "events_per_s": float(row["Requests/s"]),
            "process_wall_s": round(wall, 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="ffsim/scenarios/busy-road.yaml")
    parser.add_argument("--cameras", type=int, default=20)
    parser.add_argument("--until", default="10m", help="each camera's end (virtual time)")
    parser.add_argument("--speed", default="max")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--sink", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--load-alone", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        asyncio.run(_serve_sink(args.sink))
        return 0
    if args.load_alone:
        _load_alone(args.load_alone, args.scenario, args.cameras, args.until, args.speed)
        return 0

    port = free_port()
    sink = subprocess.Popen([sys.executable, __file__, "--sink", str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
        url = f"http://127.0.0.1:{port}/listener.php"
        results: dict[str, list[dict]] = {"ffsim load": [], f"locust master + {args.workers} workers": []}
        for _ in range(args.repeat):
            for name, run in zip(results, (run_load, run_locust)):
                before = sink_count(port)
                figures = run(url, args)
                figures["sink"] = sink_count(port) - before
                if figures["sink"] != figures["attempts"]:
                    print(f"warning: {name}: {figures['attempts']} attempts counted, the sink got {figures['sink']}",
                          file=sys.stderr)
                results[name].append(figures)
    finally:
        sink.terminate()
        sink.wait()
    best = {name: max(runs, key=lambda r: r["events_per_s"]) for name, runs in results.items()}
    load, locust = best.values()
    ratio = locust["events_per_s"] / load["events_per_s"]
    if args.json:
        print(json.dumps({"runs": results, "best": best, "ratio": ratio}, indent=1))
        return 0
    print(f"fleet: {args.cameras} cameras of {args.scenario}, until {args.until}, speed {args.speed}; "
          f"{os.cpu_count()} cores; best of {args.repeat}")
    for name, r in best.items():
        print(f"  {name:32} {r['events']:>8} events  {r['seconds']:>8.2f} s  {r['events_per_s']:>9.0f} events/s"
              f"  (sink got {r['sink']})")
    print(f"  ratio locust / ffsim load: {ratio:.2f} (goal: >= 0.8)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
