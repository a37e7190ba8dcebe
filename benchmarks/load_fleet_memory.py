#!/usr/bin/env python3
"""1,000 gate cameras at speed 1 for 10 minutes: ffsim's memory stays flat and its sends on time.

    python benchmarks/load_fleet_memory.py [--duration 10m | --quick] [--cameras 1000]
                                           [--rate 120/h] [--target nginx|receive] [--json]

Goals (issue 10): resident memory (RSS) of the `ffsim load` process <= 300 MB and flat over
the run; send lateness p99 <= 20 ms.

The fleet: `--cameras` cameras of the parking gate (scenarios/parking-gate.yaml: its four cars,
photographic vehicle images over HTTP multipart, the default of the bundled scenarios), to
which a generated traffic flow (`--rate` per camera, default 120/h) is added so that every
camera keeps sending over the whole run rather than falling silent after the file's four
cars (about 50 s). The cameras join at once but each starts its scenario at a seeded offset
in [0 s, 60 s], as a fleet switched on does not send all its first events at one instant.

`ffsim load FLEET --speed 1 --until DURATION --quiet --json` runs in its own process, as users
run it, against nginx answering 204 on loopback (or `ffsim receive`, `--target receive`, in a
process of its own). Its VmRSS is read from /proc every `--interval` seconds. Reported: RSS at
10 %, 50 % and 100 % of the run (and the peak, VmHWM), the slope of a least-squares line
through the samples of the second half of the run (flat: what that slope adds over the half
is at most max(10 MB, 5 % of the RSS)), and the lateness p99 of the summary
(totals.total.lateness_ms.p99: how late each event was handed to its lane against its due
time). `--quick` is a 60-second run (the cameras are still starting during its first half:
the slope then says less). Exit 1 when a goal is not met.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import ROOT, free_port, start_nginx, stop, wait_port

GATE = ROOT / "ffsim" / "scenarios" / "parking-gate.yaml"
GOAL_RSS_MB = 300
GOAL_LATENESS_MS = 20.0


def start_receiver(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "ffsim", "receive", "--http", f"127.0.0.1:{port}", "--quiet",
                             "--max-connections", "4096"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, proc, "ffsim receive")
    return proc


def write_fleet(folder: Path, cameras: int, rate: str) -> Path:
    gate = folder / "gate.yaml"
    gate.write_text(GATE.read_text() + "\n# added by benchmarks/load_fleet_memory.py: the camera keeps sending\n"
                    f"traffic:\n  - {{zone: 1, rate: {rate}, from: 0s, until: 24h, direction: {{in: 0.5, out: 0.5}},"
                    " speed: [150, 300]}\n")
    fleet = folder / "fleet.yaml"
    fleet.write_text(f"""version: 1
name: gate-{cameras}
seed: 1
groups:
  - scenario: gate.yaml
    name: gate
    count: {cameras}
    device_id: "GATE-{{n:04}}"
    offset: [0s, 60s]
    offset_spread: seeded
""")
    return fleet


def status_kb(pid: int) -> dict[str, int]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(VmRSS|VmHWM):\s+(\d+) kB", text, re.M)}


def sample(pid: int, interval: float, out: list[tuple[float, float, float]], done: threading.Event) -> None:
    t0 = time.perf_counter()
    while not done.is_set():
        kb = status_kb(pid)
        if "VmRSS" in kb:
            out.append((time.perf_counter() - t0, kb["VmRSS"] / 1024, kb["VmHWM"] / 1024))
        done.wait(interval)


def slope_mb_per_min(points: list[tuple[float, float, float]]) -> float:
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    sxy = sum((p[0] - mx) * (p[1] - my) for p in points)
    return 60 * sxy / sxx if sxx else 0.0


def at(points: list[tuple[float, float, float]], t: float) -> float:
    return min(points, key=lambda p: abs(p[0] - t))[1]


def parse_duration_s(text: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text.strip())
    if not m:
        raise SystemExit(f"--duration: {text!r} is not a duration such as 600s, 10m or 1h")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", default="10m", help="virtual (= wall, speed 1) length of the run (default 10m)")
    parser.add_argument("--quick", action="store_true", help="a 60 s run instead")
    parser.add_argument("--cameras", type=int, default=1000)
    parser.add_argument("--rate", default="120/h", help="generated cars per camera, added to the file's four")
    parser.add_argument("--target", choices=("nginx", "receive"), default="nginx")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between RSS samples")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON document")
    args = parser.parse_args()
    duration = "60s" if args.quick else args.duration
    parse_duration_s(duration)  # a usage error before anything starts
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    with tempfile.TemporaryDirectory(prefix="ffsim-fleetmem-") as tmp:
        folder = Path(tmp)
        fleet = write_fleet(folder, args.cameras, args.rate)
        port = free_port()
        target = start_nginx(folder, port, connections=8192)[0] if args.target == "nginx" else start_receiver(port)
        samples: list[tuple[float, float, float]] = []
        done = threading.Event()
        try:
            t0 = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-m", "ffsim", "load", str(fleet), "--speed", "1", "--until",
                                     duration, "--drain", "10s", "--http", f"http://127.0.0.1:{port}/listener.php",
                                     "--quiet", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            sampler = threading.Thread(target=sample, args=(proc.pid, args.interval, samples, done), daemon=True)
            sampler.start()
            try:
                out, err = proc.communicate()
            except BaseException:
                proc.kill()
                proc.wait()
                raise
            wall_s = time.perf_counter() - t0
            done.set()
            sampler.join()
        finally:
            done.set()
            stop(target)
    load_after = Path("/proc/loadavg").read_text().split()[:3]
    if not out.strip():
        raise SystemExit(f"ffsim load printed no summary (exit {proc.returncode}):\n{err[-2000:]}")
    summary = json.loads(out)
    total = summary["totals"]["total"]
    lateness_p99 = total["lateness_ms"]["p99"]
    # the samples while the load runs (the process also parses the fleet before and reports after)
    running = [p for p in samples if p[0] <= wall_s]
    end_t = running[-1][0]
    second_half = [p for p in running if p[0] >= end_t / 2]
    slope = slope_mb_per_min(second_half)
    rss_start, rss_mid, rss_end = at(running, end_t * 0.1), at(running, end_t * 0.5), at(running, end_t)
    peak = max(p[2] for p in running)
    half_min = (second_half[-1][0] - second_half[0][0]) / 60 if len(second_half) > 1 else 0.0
    growth = slope * half_min
    flat = growth <= max(10.0, 0.05 * rss_mid)
    result = {
        "cameras": summary["cameras"], "duration": duration, "wall_s": round(wall_s, 1), "target": args.target,
        "rate_per_camera": args.rate, "events": total["sent"], "events_per_s": round(total["events_per_s"], 1),
        "delivered": total["delivered"], "failed": total["failed"], "ok": summary["ok"],
        "rss_mb": {"start_10pct": round(rss_start, 1), "middle": round(rss_mid, 1), "end": round(rss_end, 1),
                   "peak_hwm": round(peak, 1)},
        "rss_slope_mb_per_min_second_half": round(slope, 3), "rss_growth_second_half_mb": round(growth, 1),
        "flat": flat, "lateness_ms": total["lateness_ms"], "late_over_10ms": summary["lateness"].get("late"),
        "latency_ms": total["latency_ms"],
        "goals": {"rss_le_300mb": peak <= GOAL_RSS_MB, "rss_flat": flat,
                  "lateness_p99_le_20ms": lateness_p99 <= GOAL_LATENESS_MS},
        "loadavg_before": load_before, "loadavg_after": load_after,
        "samples": [(round(t, 1), round(rss, 1)) for t, rss, _ in samples],
    }
    met = all(result["goals"].values())
    if args.json:
        print(json.dumps(result))
    else:
        print(f"ffsim load: {summary['cameras']} gate cameras (+{args.rate} each), speed 1, {duration},"
              f" -> {args.target} (load average before {' '.join(load_before)}, after {' '.join(load_after)})")
        print(f"  events          {total['sent']:>10,}   {total['events_per_s']:,.1f}/s,"
              f" delivered {total['delivered']:,},"
              f" failed {total['failed']}")
        print(f"  RSS at 10 %     {rss_start:>10.1f} MB")
        print(f"  RSS at 50 %     {rss_mid:>10.1f} MB")
        print(f"  RSS at end      {rss_end:>10.1f} MB   peak (VmHWM) {peak:.1f} MB   goal <= {GOAL_RSS_MB} MB:"
              f" {'met' if result['goals']['rss_le_300mb'] else 'NOT met'}")
        print(f"  RSS slope       {slope:>10.3f} MB/min over the second half ({growth:+.1f} MB):"
              f" {'flat' if flat else 'NOT flat'}")
        lat = total["lateness_ms"]
        print(f"  lateness        p50 {lat['p50']} ms  p99 {lat['p99']} ms  max {lat['max']} ms"
              f"   goal p99 <= {GOAL_LATENESS_MS:g} ms:"
              f" {'met' if result['goals']['lateness_p99_le_20ms'] else 'NOT met'}")
        print(f"  send latency    p50 {total['latency_ms']['p50']} ms  p99 {total['latency_ms']['p99']} ms")
        print(f"goals {'met' if met else 'NOT met'}")
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
