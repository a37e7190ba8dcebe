#!/usr/bin/env python3
"""Multipart events/s the built-in receiver validates and stores, next to nginx `return 204`
taking the same requests from the same sender in the same run. Goal: >= 3,000 events/s.

    python benchmarks/receiver_throughput.py [--cameras 32] [--packets 500] [--rounds 3] [--processes 2] [--json]

The packets are real FF-Events: the busy road over HTTP multipart with a plate-crop
JPEG, as `fleet_from_scenario` makes it for --cameras cameras (distinct device ids and
seeds), --packets each, built and drawn before anything is timed. The sender is a process
of its own: one libcurl multi handle driving one ffsim HttpTransport per camera (its own
keep-alive connection; `prepare()` sets the handle up exactly as `ffsim run` does), each
camera sending its packets in order, one at a time, as a camera does.

Each round times (a) ffsim's built-in Receiver (this process) with `out=` a fresh temporary
folder, so every packet is validated and stored with its image and its capture, then checks
that every packet was stored, once with processes=1 and once with processes=N (--processes,
default 2: worker processes sharded by camera); and (b) nginx `return 204` (a non-daemon nginx
with a config of its own on a loopback port), alternating, so that a noisy shared machine
affects all alike; the medians are compared. Exit 1 when the best receiver is under the goal.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

from common import ROOT, start_nginx, stop

sys.path.insert(0, str(ROOT))
GOAL = 3000  # events/s, validated and stored


class Part(NamedTuple):
    """An attachment as HttpTransport reads it (ffsim's own Attachment does not pickle: tuples do)."""

    field: str
    filename: str
    content_type: str
    data: bytes


def build(path: Path, cameras: int, packets: int) -> int:
    """Write the cameras' messages (images drawn) to path; how many there are."""
    from ffsim import bundled, scenario_of
    from ffsim.protocol import Camera
    from ffsim.runner import message_of
    from ffsim.scenario.fleet import fleet_from_scenario

    text = bundled("busy-road").read_text().split("\nprofiles:")[0]
    scenario = scenario_of(text + "\nprofiles:\n  - {id: 1, protocol: http, image: plate}\n")
    fleet = fleet_from_scenario(scenario, cameras=cameras)
    out = []
    for camera in fleet.cameras:
        s = camera.scenario
        messages = []
        for packet in Camera(s, s.start_us).packets():
            message = message_of(packet, s.profiles[0])  # images drawn now, not while timed
            messages.append((message.json, message.json_filename, message.counter,
                             [(a.field, a.filename, a.content_type, a.data) for a in message.attachments]))
            if len(messages) == packets:
                break
        out.append(messages)
    with open(path, "wb") as f:
        pickle.dump({"scenario": scenario, "messages": out}, f, protocol=pickle.HIGHEST_PROTOCOL)
    return sum(len(m) for m in out)


def send(path: str, url: str, repeat: int) -> None:
    """The sender (a process of its own): every camera's messages, repeat times, one camera per
    handle and connection, all handles on one libcurl multi. Prints {"ok", "failed", "seconds"}."""
    import pycurl

    from ffsim.transport import Message
    from ffsim.transport.http import HttpTransport

    with open(path, "rb") as f:
        data = pickle.load(f)
    profile = data["scenario"].profiles[0]
    queues = [[Message(json_text, tuple(Part(*a) for a in parts), name, counter)
               for json_text, name, counter, parts in messages] * repeat for messages in data["messages"]]
    multi = pycurl.CurlMulti()
    transports = {}
    ok = failed = 0
    statuses: dict[int, int] = {}

    def start(index: int) -> None:
        transport, queue = transports_by_index[index]
        transport.prepare(queue.pop())
        multi.add_handle(transport.curl)

    transports_by_index = []
    for index, queue in enumerate(queues):
        queue.reverse()  # pop() from the end: first packet first
        transport = HttpTransport(profile, url)
        transports[transport.curl] = index
        transports_by_index.append((transport, queue))
    t0 = time.perf_counter()
    for index in range(len(queues)):
        start(index)
    running = len(queues)
    while running:
        while True:
            status, _ = multi.perform()
            if status != pycurl.E_CALL_MULTI_PERFORM:
                break
        while True:
            queued, done, errors = multi.info_read()
            for handle in done:
                code = handle.getinfo(pycurl.RESPONSE_CODE)
                statuses[code] = statuses.get(code, 0) + 1
                ok += 200 <= code < 300
                failed += not 200 <= code < 300
            for handle, _, _ in errors:
                failed += 1
            for handle in [*done, *(e[0] for e in errors)]:
                multi.remove_handle(handle)
                index = transports[handle]
                if transports_by_index[index][1]:
                    start(index)
                else:
                    running -= 1
            if not queued:
                break
        if running:
            multi.select(0.05)
    seconds = time.perf_counter() - t0
    print(json.dumps({"ok": ok, "failed": failed, "seconds": seconds, "statuses": statuses}))


def run_sender(path: Path, url: str, repeat: int = 1) -> dict:
    result = subprocess.run([sys.executable, __file__, "--send", str(path), url, str(repeat)],
                            capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"the sender failed:\n{result.stderr}")
    return json.loads(result.stdout)


def receiver_round(path: Path, folder: Path, count: int, processes: int = 1) -> tuple[float, dict]:
    from ffsim.receiver.server import Receiver

    out = folder / "out"
    with Receiver(http="127.0.0.1:0", out=out, processes=processes) as rx:
        result = run_sender(path, rx.url + "ffsim/event")
        rx.wait(count=count, timeout=30)
        summary = rx.summary()
    images = len(os.listdir(out / "images"))
    lines = {name: sum(1 for _ in open(out / name, "rb")) for name in ("packets.jsonl", "capture.jsonl")}
    stored = {"packets": summary["packets"], "images": images, **lines, "violations": summary["violations"],
              "rules": summary["rules"]["violations"]}
    if result["failed"] or result["ok"] != count or min(summary["packets"], images, *lines.values()) != count:
        raise SystemExit(f"the receiver did not store every packet: sent {result}, stored {stored}")
    shutil.rmtree(out)
    return count / result["seconds"], stored


def nginx_round(path: Path, url: str, count: int, repeat: int) -> float:
    result = run_sender(path, url, repeat)
    if result["failed"] or result["ok"] != count * repeat:
        raise SystemExit(f"nginx did not answer 2xx to every request: {result}")
    return result["ok"] / result["seconds"]


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--send":
        send(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=32, help="cameras, each its own connection (default 32)")
    parser.add_argument("--packets", type=int, default=500, help="packets per camera (default 500)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each (default 3); medians are compared")
    parser.add_argument("--nginx-repeat", type=int, default=2,
                        help="nginx gets the packets this many times over, to time a longer run (default 2)")
    parser.add_argument("--processes", type=int, default=2,
                        help="the receiver is timed with processes=1 and with this many (default 2)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON document")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "messages.pickle"
        t0 = time.perf_counter()
        count = build(path, args.cameras, args.packets)
        built_s = time.perf_counter() - t0
        nginx, port = start_nginx(folder / "nginx", connections=1024)
        kinds = sorted({1, args.processes})
        rates: dict[int, list[float]] = {n: [] for n in kinds}
        nginx_rates, stored = [], {}
        try:
            for _ in range(args.rounds):
                for n in kinds:
                    rate, stored[n] = receiver_round(path, folder, count, n)
                    rates[n].append(rate)
                nginx_rates.append(nginx_round(path, f"http://127.0.0.1:{port}/ffsim/event", count,
                                               args.nginx_repeat))
        finally:
            stop(nginx)
    medians = {n: statistics.median(r) for n, r in rates.items()}
    baseline = statistics.median(nginx_rates)
    receiver = max(medians.values())
    figures = {"events": count, "cameras": args.cameras, "rounds": args.rounds, "built_s": round(built_s, 2),
               "receiver_events_per_s": round(receiver), "nginx_events_per_s": round(baseline),
               "ratio": round(receiver / baseline, 3), "goal_events_per_s": GOAL,
               "receiver": {str(n): {"events_per_s": round(medians[n]), "rounds": [round(r) for r in rates[n]],
                                     "ratio": round(medians[n] / baseline, 3), "stored_last_round": stored[n]}
                            for n in kinds},
               "nginx_rounds": [round(r) for r in nginx_rates]}
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"{count} multipart events (busy road, plate-crop JPEG) from {args.cameras} cameras, "
              f"{args.cameras} keep-alive connections, libcurl multi (built in {built_s:.1f} s)")
        for n in kinds:
            label = f"built-in receiver, processes={n}:"
            print(f"{label:<41}{medians[n]:>8,.0f} events/s  ratio {medians[n] / baseline:.2f}  "
                  f"(rounds: {', '.join(f'{r:,.0f}' for r in rates[n])})")
        print(f"{'nginx return 204:':<41}{baseline:>8,.0f} events/s  "
              f"(rounds: {', '.join(f'{r:,.0f}' for r in nginx_rates)})")
        print(f"goal: receiver >= {GOAL:,} events/s validated and stored "
              f"({'met' if receiver >= GOAL else 'not met'}: best {receiver:,.0f})")
        for n in kinds:
            print(f"stored (last round, processes={n}): {stored[n]}")
    if receiver < GOAL:
        sys.exit(1)


if __name__ == "__main__":
    main()
