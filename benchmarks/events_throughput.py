#!/usr/bin/env python3
"""Events/s of `ffsim events` on 24 h of the busy road, as a ratio to a bare json.dumps loop.

Both are timed in this one invocation, alternating, so that a noisy shared
machine affects both alike; the medians are compared. Goal: ratio >= 0.5.

    python benchmarks/events_throughput.py [--until 24h] [--rounds 3]

The baseline is a loop that only calls json.dumps on as many payload-sized
dicts as ffsim printed events (real payloads taken from ffsim's own output,
cycled), with no simulation, no I/O and no process start. ffsim's time is the
whole command, process start included, writing its JSON lines to a file.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "busy-road.yaml"


def run_ffsim(until: str, out_path: Path) -> float:
    with open(out_path, "wb") as out:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "ffsim", "events", str(SCENARIO), "--until", until],
                       stdout=out, check=True)
        return time.perf_counter() - t0


def run_baseline(payloads: list[dict], count: int) -> float:
    dumps = json.dumps
    n = len(payloads)
    t0 = time.perf_counter()
    for i in range(count):
        dumps(payloads[i % n])
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--until", default="24h")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out_path = Path(tmp) / "events.jsonl"
        ffsim_times, baseline_times = [], []
        count = 0
        payloads: list[dict] = []
        for _ in range(args.rounds):
            ffsim_times.append(run_ffsim(args.until, out_path))
            if not payloads:
                with open(out_path, "rb") as f:
                    for line in f:
                        count += 1
                        if len(payloads) < 2000:
                            payloads.append(json.loads(line)["payload"])
            baseline_times.append(run_baseline(payloads, count))
    ffsim_rate = count / statistics.median(ffsim_times)
    baseline_rate = count / statistics.median(baseline_times)
    print(f"events: {count} ({args.until} of {SCENARIO.name}), rounds: {args.rounds}")
    print(f"ffsim events:      {ffsim_rate:>10,.0f} events/s  (median of {[round(t, 2) for t in ffsim_times]} s)")
    print(f"json.dumps loop:   {baseline_rate:>10,.0f} dicts/s   (median of {[round(t, 2) for t in baseline_times]} s)")
    print(f"ratio: {ffsim_rate / baseline_rate:.2f}  (goal >= 0.5)")


if __name__ == "__main__":
    main()
