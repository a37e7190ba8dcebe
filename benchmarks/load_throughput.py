#!/usr/bin/env python3
"""Throughput of `ffsim load --speed max` (64 cameras) against nginx on loopback (issue 10).

    python benchmarks/load_throughput.py [plain|images|all] [--cameras 64] [--until 20m]
                                         [--repeat 1] [--nginx-workers 1] [--json]

plain  (goal: ffsim events/s / wrk requests/s >= 0.6)
    `ffsim load` of 64 cameras of the busy road, each sending HTTP multipart without images
    (profile `{protocol: http, image: none}`), at speed max, to nginx answering 204
    (`return 204`, one worker, access_log off, keep-alive without limit). Then, against the
    same nginx, wrk -t2 -c16 posts one of ffsim's requests (body and Content-Type captured
    from ffsim on the wire, byte for byte) for as long as ffsim ran. ffsim's rate is that of
    its summary (totals.total.events_per_s: events delivered over the run, without the
    process start, which is shown apart). `--repeat N` runs N pairs, alternately, and
    reports the median ratio: the machine is shared.

images (goal: rendering is not the bottleneck below 1,000 events/s)
    A fleet file of 64 cameras of the parking gate (scenarios/parking-gate.yaml: photographic
    vehicle images, HTTP multipart, the bundled scenarios' default), with a generated traffic
    flow added (720/h per camera) so that the fleet has something to send for as long as the
    run takes, each camera's t=0 at a seeded offset in [0 s, 60 s] (else the file's four cars
    come at the same instant in all 64 cameras), --until 6m:
    1. speed max: events/s, and MB/s on the wire (nginx logs $request_length and
       $content_length of every request: request line, headers and body);
    2. the same events paced at ~1,000 events/s: --speed N with N = 1,000 x 360 s / events
       of run 1. Rendering keeps up when the run delivers >= 95 % of the target rate and the
       hand-over lateness p99 (totals.total.lateness_ms.p99: how late each event was handed
       to its lane against its due time, with its images drawn) is <= 20 ms.

Prints a table (and --json one document); exit 1 when a goal is not met.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, capture_one_request, free_port, run_wrk, scenario_with_profile, start_nginx, stop

SCENARIOS = ROOT / "ffsim" / "scenarios"
GOAL_RATIO = 0.6
PACED_TARGET = 1000.0
PACED_SHARE = 0.95
PACED_LATENESS_MS = 20.0
IMAGES_RATE = "720/h"


class Nginx:
    """nginx in the foreground, answering 204: one port without a log, one logging $request_length."""

    def __init__(self, folder: Path, workers: int) -> None:
        self.folder = folder
        self.logged_port = free_port()
        self.log = folder / "requests.log"
        self.proc, self.port = start_nginx(folder, workers=workers, log=self.log, log_port=self.logged_port)

    def log_position(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def logged_since(self, position: int) -> tuple[int, int]:
        """(requests, bytes on the wire) logged after position. nginx's $request_length counts
        the request line and headers, and the body only when it read it (`return 204` discards
        it unread): the body's Content-Length is added when $request_length is below it."""
        requests = nbytes = 0
        with self.log.open("rb") as f:
            f.seek(position)
            for line in f.read().splitlines():
                head, _, body = line.partition(b" ")
                head_n, body_n = int(head), int(body) if body.isdigit() else 0
                requests += 1
                nbytes += head_n + body_n if head_n < body_n else head_n
        return requests, nbytes

    def stop(self) -> None:
        stop(self.proc)


def ffsim_load(scenario: Path, cameras: int | None, url: str, speed: str, until: str) -> dict:
    """`ffsim load` as users run it; its --json summary, with the process's wall time added."""
    t0 = time.perf_counter()
    quick = [] if cameras is None else ["--cameras", str(cameras)]
    result = subprocess.run([sys.executable, "-m", "ffsim", "load", str(scenario), *quick, "--http", url,
                             "--speed", speed, "--until", until, "--drain", "30s", "--quiet",
                             "--json"], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if not result.stdout.strip():
        raise RuntimeError(f"ffsim load failed (exit {result.returncode}): {result.stderr[-2000:]}")
    summary = json.loads(result.stdout)
    summary["process_wall_s"] = wall
    return summary


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def plain(folder: Path, nginx: Nginx, args) -> dict:
    scenario = scenario_with_profile(SCENARIOS / "busy-road.yaml", folder / "road-plain.yaml",
                                     "{id: 1, protocol: http, image: none}")
    content_type, body = capture_one_request(scenario, "--until", "10m", "--drain", "1s")
    url = f"http://127.0.0.1:{nginx.port}/listener.php"
    runs = []
    for _ in range(args.repeat):
        s = ffsim_load(scenario, args.cameras, url, "max", args.until)
        total = s["totals"]["total"]
        seconds = max(3, round(s["duration_s"]))
        w = run_wrk(folder, url, content_type, body, seconds, threads=2, connections=16)
        runs.append({"events": total["sent"], "failed": total["failed"], "duration_s": s["duration_s"],
                     "process_wall_s": round(s["process_wall_s"], 2), "events_per_s": round(total["events_per_s"], 1),
                     "events_per_s_with_start": round(total["sent"] / s["process_wall_s"], 1),
                     "wrk_seconds": seconds, "wrk_requests_per_s": w, "ratio": round(total["events_per_s"] / w, 3),
                     "loadavg": loadavg()})
    ratio = statistics.median(r["ratio"] for r in runs)
    return {"body_bytes": len(body), "content_type": content_type.split(";")[0], "cameras": args.cameras,
            "until": args.until, "runs": runs, "ratio_median": ratio, "goal": GOAL_RATIO, "met": ratio >= GOAL_RATIO}


def images(folder: Path, nginx: Nginx, args) -> dict:
    flow = (f"\ntraffic:\n  - {{zone: 1, rate: {IMAGES_RATE}, from: 0s, until: 24h, direction: {{in: 0.5, out: 0.5}},"
            " speed: [150, 300]}\n")
    scenario = scenario_with_profile(SCENARIOS / "parking-gate.yaml", folder / "gate-images.yaml",
                                     "{id: 1, protocol: http}", flow)
    # the file's four cars come at the same times in every camera: seeded offsets spread them
    fleet = folder / "gate-fleet.yaml"
    fleet.write_text(f"""version: 1
name: gate-{args.cameras}
seed: 1
groups:
  - {{scenario: gate-images.yaml, name: gate, count: {args.cameras}, offset: [0s, 60s], offset_spread: seeded}}
""")
    content_type, body = capture_one_request(scenario, "--until", "10m", "--drain", "1s")
    url = f"http://127.0.0.1:{nginx.logged_port}/listener.php"

    def measured(speed: str) -> dict:
        position = nginx.log_position()
        s = ffsim_load(fleet, None, url, speed, args.images_until)
        time.sleep(0.2)  # nginx writes its log line after answering
        requests, nbytes = nginx.logged_since(position)
        total = s["totals"]["total"]
        return {"speed": speed, "until": args.images_until, "events": total["sent"], "handed": s["handed"],
                "failed": total["failed"], "duration_s": s["duration_s"],
                "events_per_s": round(total["events_per_s"], 1), "requests_logged": requests,
                "wire_bytes": nbytes, "mean_request_bytes": round(nbytes / max(1, requests)),
                "mb_per_s": round(nbytes / 1e6 / s["duration_s"], 2), "lateness_ms": total["lateness_ms"],
                "late_over_10ms": s["lateness"].get("late"), "latency_ms": total["latency_ms"], "loadavg": loadavg()}

    fast = measured("max")
    # the same load paced: speed N such that its events take len/1,000 s of wall time
    speed = max(1, round(PACED_TARGET * _seconds(args.images_until) / fast["handed"]))
    paced = measured(str(speed))
    target = fast["handed"] * speed / _seconds(args.images_until)
    keeps_up = (paced["events_per_s"] >= PACED_SHARE * target and paced["lateness_ms"]["p99"] <= PACED_LATENESS_MS
                and paced["failed"] == 0)
    return {"body_bytes_first_request": len(body), "content_type": content_type.split(";")[0],
            "cameras": args.cameras, "max": fast, "paced": paced, "paced_target_events_per_s": round(target, 1),
            "met": keeps_up}


def _seconds(text: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(s|m|h)", text)
    assert m, f"a duration such as 90s, 20m or 1h: {text!r}"
    return float(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", nargs="?", choices=("plain", "images", "all"), default="all")
    parser.add_argument("--cameras", type=int, default=64)
    parser.add_argument("--until", default="20m", help="plain: virtual time of busy road per camera (default 20m)")
    parser.add_argument("--images-until", default="6m", help="images, speed max: virtual time per camera (default 6m)")
    parser.add_argument("--repeat", type=int, default=1, help="plain: ffsim/wrk pairs (median ratio reported)")
    parser.add_argument("--nginx-workers", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result: dict = {"loadavg_before": loadavg(), "nginx_workers": args.nginx_workers}
    with tempfile.TemporaryDirectory(prefix="ffsim-loadbench-") as tmp:
        folder = Path(tmp)
        nginx = Nginx(folder, args.nginx_workers)
        try:
            if args.which in ("plain", "all"):
                result["plain"] = plain(folder, nginx, args)
            if args.which in ("images", "all"):
                result["images"] = images(folder, nginx, args)
        finally:
            nginx.stop()
    result["loadavg_after"] = loadavg()
    met = all(result[k]["met"] for k in ("plain", "images") if k in result)
    if args.json:
        print(json.dumps(result))
        sys.exit(0 if met else 1)
    print(f"load average before {result['loadavg_before']}, after {result['loadavg_after']}; "
          f"nginx: {args.nginx_workers} worker(s), return 204")
    if "plain" in result:
        p = result["plain"]
        print(f"\nplain: {p['cameras']} busy-road cameras, HTTP multipart without images ({p['body_bytes']} B body),"
              f" speed max, --until {p['until']}")
        print(f"  {'run':>3} {'events':>8} {'ffsim ev/s':>11} {'(w/ start)':>11} {'wrk -t2 -c16 req/s':>19}"
              f" {'ratio':>6}"
              "  load avg")
        for i, r in enumerate(p["runs"], 1):
            print(f"  {i:>3} {r['events']:>8,} {r['events_per_s']:>11,.0f} {r['events_per_s_with_start']:>11,.0f}"
                  f" {r['wrk_requests_per_s']:>19,.0f} {r['ratio']:>6.3f}  {r['loadavg']}")
        print(f"  ratio (median) {p['ratio_median']:.3f}   goal >= {GOAL_RATIO}: {'met' if p['met'] else 'NOT met'}")
    if "images" in result:
        m = result["images"]
        print(f"\nimages: {m['cameras']} parking-gate cameras (+720/h), HTTP multipart with vehicle photos"
              f" (first request {m['body_bytes_first_request']:,} B)")
        print(f"  {'run':<16} {'events':>7} {'events/s':>9} {'MB/s':>6} {'B/request':>10} {'late p99':>9}"
              f" {'lat p99':>8}  load avg")
        for name, r in (("speed max", m["max"]), (f"speed {m['paced']['speed']} (paced)", m["paced"])):
            print(f"  {name:<16} {r['events']:>7,} {r['events_per_s']:>9,.1f} {r['mb_per_s']:>6.2f}"
                  f" {r['mean_request_bytes']:>10,} {r['lateness_ms']['p99'] or 0:>7.2f}ms"
                  f" {r['latency_ms']['p99']:>6.2f}ms"
                  f"  {r['loadavg']}")
        print(f"  paced target {m['paced_target_events_per_s']:,.0f} events/s (the same events in"
              f" {m['max']['until']} / speed {m['paced']['speed']}): delivered {m['paced']['events_per_s']:,.1f}/s,"
              f" lateness p99 {m['paced']['lateness_ms']['p99']} ms,"
              f" {m['paced']['late_over_10ms']} events over 10 ms late")
        print(f"  rendering keeps up at ~1,000 events/s (>= {PACED_SHARE:.0%} of target,"
              f" p99 <= {PACED_LATENESS_MS:g} ms):"
              f" {'met' if m['met'] else 'NOT met'}")
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
