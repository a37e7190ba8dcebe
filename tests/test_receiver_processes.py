"""The receiver with worker processes (processes=2): the same records, findings and summary as
with one process for the same traffic (many cameras over HTTP multipart and TCP), every packet
stored once in one folder, per camera in arrival order; a hostile packet in one shard leaves the
other alone; stop() leaves no child; a killed worker gives 500s and an error line, never a hang;
Ctrl-C in `ffsim receive --processes 2` ends with the summary. Real sockets on 127.0.0.1; every
wait is on a condition."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections import defaultdict

import pytest

from ffsim.receiver.processes import shard_of
from ffsim.receiver.server import Receiver

from .field_payloads import jpeg, passage, payload, wire
from .servers import wait_for

FFSIM = [sys.executable, "-m", "ffsim"]
T0 = 1_700_000_000_000
IMAGE = jpeg()


def multipart(event: bytes, image: bytes | None, name: str) -> tuple[bytes, str]:
    parts = [b'--B\r\nContent-Disposition: form-data; name="event"; filename="event.json"\r\n'
             b"Content-Type: application/json\r\n\r\n" + event + b"\r\n"]
    if image is not None:
        parts.append(f'--B\r\nContent-Disposition: form-data; name="image"; filename="{name}"\r\n'
                     f"Content-Type: image/jpeg\r\n\r\n".encode() + image + b"\r\n")
    return b"".join(parts) + b"--B--\r\n", "multipart/form-data; boundary=B"


def post(url: str, data: bytes, content_type: str) -> int:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


def camera_traffic(n: int) -> list[dict]:
    """Camera n's packets in order: two passages (the second with no Lost for some), a skipped counter
    for one camera in three (a violation), values that differ per camera."""
    device = f"CAM-{n:02d}"
    out = [p for p, _ in passage("2024-lpv", 500 + n, T0 + n * 1000, 100 * n + 1, device=device)]
    second = [p for p, _ in passage("2024-lpv", 600 + n, T0 + n * 1000 + 9000, 100 * n + 10, device=device)]
    out += second if n % 4 else second[:-1]  # camera 0, 4, ...: the Lost never comes
    if n % 3 == 0:
        out.append(payload("2024-lpv", "new", 100 * n + 60, 700 + n, T0 + n * 1000 + 20000, device=device))
    return out


def send_http(rx: Receiver, n: int, statuses: list) -> None:
    for k, p in enumerate(camera_traffic(n)):
        data, content_type = multipart(wire(p), IMAGE, f"cam{n}-{k}.jpg")
        statuses.append(post(rx.url + "ffsim/event", data, content_type))


def send_tcp(rx: Receiver, n: int) -> None:
    host, port = rx.tcp_address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        for p in camera_traffic(n):
            s.sendall(wire(p))
    # closed: the receiver stores what it read, in order


def run_traffic(processes: int, out=None) -> dict:
    http_cameras, tcp_cameras = range(0, 8), range(8, 12)
    total = sum(len(camera_traffic(n)) for n in [*http_cameras, *tcp_cameras])
    statuses: list[int] = []
    with Receiver(http="127.0.0.1:0", tcp="127.0.0.1:0", out=out, processes=processes) as rx:
        threads = [threading.Thread(target=send_http, args=(rx, n, statuses)) for n in http_cameras]
        threads += [threading.Thread(target=send_tcp, args=(rx, n)) for n in tcp_cameras]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert rx.wait(count=total, timeout=30), rx.packets
        per_camera = defaultdict(list)
        for r in rx.records:
            per_camera[r.payload["sensorProviderID"]].append(
                (r.protocol, r.payload["packetCounter"], r.payload["carState"], r.violations, r.notices, r.status,
                 len(r.images)))
        summary = rx.summary()
        try:
            rx.check()
            checked = ""
        except AssertionError as exc:
            checked = str(exc)
        result = {"statuses": sorted(statuses), "per_camera": dict(per_camera),
                  "violations": sorted(rx.violations), "notices": sorted(rx.notices), "summary": summary,
                  "check": sorted(line.split("): ", 1)[-1] for line in checked.splitlines()[1:]), "packets": rx.packets, "total": total}
    return result


def comparable(summary: dict) -> dict:
    return {**summary, "open_passages": sorted(summary["open_passages"])}


def test_two_processes_find_what_one_finds_and_store_every_packet_once(tmp_path):
    one = run_traffic(1)
    two = run_traffic(2, tmp_path / "out")
    assert one["packets"] == two["packets"] == one["total"]
    assert one["statuses"] == two["statuses"] == [200] * len(one["statuses"])
    assert one["summary"]["open_passages"] and one["check"], "the traffic holds violations to compare"
    assert one["summary"]["open_passage_notices"] > 0, "open passages to compare"
    for key in ("per_camera", "violations", "notices", "check"):
        assert one[key] == two[key], key
    assert comparable(one["summary"]) == comparable(two["summary"])
    # per camera, in the order sent
    for device, packets in two["per_camera"].items():
        n = int(device.split("-")[1])
        assert [p[1] for p in packets] == [p["packetCounter"] for p in camera_traffic(n)]
    # one folder: every packet once, each image once, owner-only
    out = tmp_path / "out"
    lines = [json.loads(line) for line in (out / "packets.jsonl").read_text().splitlines()]
    assert len(lines) == two["total"]
    by_camera = defaultdict(list)
    for line in lines:
        by_camera[line["payload"]["sensorProviderID"]].append(line["payload"]["packetCounter"])
    assert {d: c for d, c in by_camera.items()} == {d: [p[1] for p in ps] for d, ps in two["per_camera"].items()}
    images = sorted(p.name for p in (out / "images").iterdir())
    http_packets = sum(len(camera_traffic(n)) for n in range(8))
    assert len(images) == len(set(images)) == http_packets
    assert sorted(name for line in lines for name in line["images"]) == images
    captures = [json.loads(line) for line in (out / "capture.jsonl").read_text().splitlines()]
    assert sum(1 for c in captures if c["protocol"] == "http") == http_packets
    assert sum(len(__import__("base64").b64decode(c["data"])) for c in captures if c["protocol"] == "tcp") == \
        sum(len(wire(p)) for n in range(8, 12) for p in camera_traffic(n))
    for path in [out / "packets.jsonl", out / "capture.jsonl", *(out / "images").iterdir()]:
        assert path.stat().st_mode & 0o077 == 0, path


def devices_by_shard(count: int = 2) -> dict[int, list[str]]:
    out = defaultdict(list)
    for n in range(64):
        device = f"SHARD-{n}"
        out[shard_of(json.dumps({"sensorProviderID": device}).encode(), "127.0.0.1", count)].append(device)
    return out


def test_a_hostile_packet_in_one_shard_leaves_the_other_alone(tmp_path):
    shards = devices_by_shard()
    bad, good = shards[0][0], shards[1][0]
    with Receiver(http="127.0.0.1:0", out=tmp_path / "out", processes=2) as rx:
        good_news = [payload("2024-lpv", "new", n, n, device=good) for n in range(1, 6)]
        hostile = [b'{"sensorProviderID": "%s", "x": ' % bad.encode() + b"[" * 100_000 + b"]" * 100_000 + b"}",
                   b'{"sensorProviderID": "%s", "carState": "new", "x": "\xff\xfe"}' % bad.encode(),
                   b'{"sensorProviderID": "%s", "carState": ' % bad.encode()]
        statuses = []
        for k, p in enumerate(good_news):
            statuses.append(post(rx.url + "x", *multipart(wire(p), IMAGE, f"g{k}.jpg")))
            if k < len(hostile):
                statuses.append(post(rx.url + "x", hostile[k], "application/json"))
        assert rx.wait(count=len(good_news) + len(hostile))
        records = rx.records
        mine = [r for r in records if isinstance(r.payload, dict) and r.payload.get("sensorProviderID") == good]
        assert [r.violations for r in mine] == [[]] * 5 and [r.status for r in mine] == [200] * 5
        assert statuses.count(200) == 5 + 2 and statuses.count(400) == 1  # the last hostile one is no JSON
        assert len([r for r in records if r.violations]) == 3
        assert rx.summary()["senders"][f"127.0.0.1|{good}"]["violations"] == 0


def live_children(rx: Receiver) -> list:
    return [w.process for w in rx._shards.workers]


def test_stop_leaves_no_child_process(tmp_path):
    rx = Receiver(http="127.0.0.1:0", tcp="127.0.0.1:0", out=tmp_path / "out", processes=2).start()
    processes = live_children(rx)
    assert all(p.is_alive() for p in processes)
    assert post(rx.url + "x", wire(payload("2024-lpv", "new", 1, 1)), "application/json") == 200
    rx.stop()
    assert not set(multiprocessing.active_children()) & set(processes)
    children = subprocess.run(["pgrep", "-P", str(os.getpid())], capture_output=True, text=True).stdout.split()
    assert not {str(p.pid) for p in processes} & set(children)
    for p in processes:
        assert p.exitcode == 0, p
        with pytest.raises(ProcessLookupError):
            os.kill(p.pid, 0)
    assert rx.summary()["packets"] == 1 and rx.summary()["senders"]  # the workers' last state is kept
    rx.stop()  # twice: nothing more to do


def test_a_killed_worker_gives_500s_and_an_error_line_not_a_hang(tmp_path, caplog):
    device = devices_by_shard()[1][0]
    event = payload("2024-lpv", "new", 1, 1, device=device)
    with caplog.at_level(logging.ERROR, logger="ffsim.receiver"):
        with Receiver(http="127.0.0.1:0", out=tmp_path / "out", processes=2) as rx:
            worker = rx._shards.workers[1]
            os.kill(worker.process.pid, signal.SIGSTOP)  # it holds the next packet of its cameras ...
            answers = []
            sender = threading.Thread(target=lambda: answers.append(
                post(rx.url + "x", *multipart(wire(event), IMAGE, "a.jpg"))))
            sender.start()
            wait_for(lambda: worker.pending, what="the packet to be handed to the worker")
            os.kill(worker.process.pid, signal.SIGKILL)  # ... and dies with it
            sender.join(30)
            assert answers == [500]
            assert rx.wait(count=1)
            assert "worker process 1 ended" in rx.violations[0] and rx.records[0].status == 500
            assert rx.summary()["violations"] == 1
            # it comes again: a new worker takes its cameras
            assert post(rx.url + "x", *multipart(wire(event), IMAGE, "a.jpg")) == 200
            assert rx.wait(count=2) and rx.records[1].violations == []
            fresh = rx._shards.workers[1]
            assert fresh is not worker and fresh.process.is_alive()
        assert not fresh.process.is_alive()
    assert any("worker process 1" in r.getMessage() and "ended unexpectedly" in r.getMessage()
               for r in caplog.records)
    lines = (tmp_path / "out" / "packets.jsonl").read_text().splitlines()
    assert [json.loads(line)["status"] for line in lines] == [500, 200]


def test_clear_forgets_in_every_worker_and_counts_start_again():
    with Receiver(http="127.0.0.1:0", processes=2) as rx:
        devices = [d for shard in devices_by_shard().values() for d in shard[:2]]
        for d in devices:
            assert post(rx.url + "x", wire(payload("2024-lpv", "new", 5, 5, device=d)), "application/json") == 200
        assert rx.wait(count=len(devices)) and len(rx.summary()["senders"]) == len(devices)
        rx.clear()
        assert rx.records == [] and rx.packets == 0 and rx.summary()["senders"] == {}
        for d in devices:
            assert post(rx.url + "x", wire(payload("2024-lpv", "update", 6, 5, device=d)), "application/json") == 200
        assert rx.wait(count=len(devices))
        # each worker forgot its cameras: the Update is a passage first seen in progress (a notice), not
        # the continuation of the New before clear()
        assert all(r.notices for r in rx.records), [r.notices for r in rx.records]


def test_ctrl_c_with_two_processes_ends_cleanly_with_the_summary(tmp_path):
    out = tmp_path / "out"
    process = subprocess.Popen([*FFSIM, "receive", "--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--out",
                                str(out), "--processes", "2", "--json", "--quiet"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stderr.readline()
        found = re.search(r"HTTP (\S+)", line)
        assert found, line
        for n in range(6):
            event = wire(payload("2024-lpv", "new", 1, 1, device=f"C{n}"))
            assert post(found.group(1) + "x", *multipart(event, IMAGE, f"{n}.jpg")) == 200
        children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
    finally:
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    assert "Traceback" not in stderr and "ended unexpectedly" not in stderr, stderr
    assert process.returncode == 0, stderr
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["packets"] == 6 and len(summary["senders"]) == 6 and summary["violations"] == 0
    assert len((out / "packets.jsonl").read_text().splitlines()) == 6 and len(list((out / "images").iterdir())) == 6
    assert len(children) >= 2  # the workers (and multiprocessing's resource tracker)
    for pid in children:  # all gone
        wait_for(lambda: not running(int(pid)), what=f"child {pid} to end")


def running(pid: int) -> bool:
    """Whether pid runs (a zombie whose parent is gone does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_replacement_worker_goes_on_after_the_images_its_shard_stored(tmp_path):
    """A new worker numbers its images after the dead one's: their names are taken (stored with
    O_EXCL), and reusing them would answer 500 until the numbers passed them."""
    device = devices_by_shard()[1][0]
    with Receiver(http="127.0.0.1:0", out=tmp_path / "out", processes=2) as rx:
        for n in range(1, 4):
            assert post(rx.url + "x", *multipart(wire(payload("2024-lpv", "new", n, n, device=device)), IMAGE,
                                                 "a.jpg")) == 200
        worker = rx._shards.workers[1]
        os.kill(worker.process.pid, signal.SIGKILL)
        wait_for(lambda: rx._shards.workers[1] is not worker, what="a new worker for the shard")
        answers = [post(rx.url + "x", *multipart(wire(payload("2024-lpv", "new", n, n, device=device)), IMAGE,
                                                 "a.jpg")) for n in range(4, 8)]
        assert answers == [200] * 4 and rx.storage_failures == 0
    names = sorted(os.listdir(tmp_path / "out" / "images"))
    assert len(names) == 7 and len({name.split("_", 1)[0] for name in names}) == 7


def test_a_tcp_read_of_many_documents_is_one_hand_off_per_shard(tmp_path):
    """Thousands of tiny documents in a few reads must not become thousands of hand-offs, each
    with its answer and its record queued in the parent (memory grew to gigabytes)."""
    count = 5000
    data = b"".join(b'{"sensorProviderID": "%s", "n": %d}' % (b"AB"[n % 2:n % 2 + 1], n) for n in range(count))
    with Receiver(http=None, tcp="127.0.0.1:0", processes=2, max_records=100) as rx:
        host, port = rx.tcp_address.rsplit(":", 1)
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(data)
        assert rx.wait(count=count, timeout=60)
        handed = rx._shards._number
    assert handed < count // 10, handed
