"""`ffsim receive` and `ffsim demo` hardening: option errors are one line, never a traceback and
never silently wrong; Ctrl-C with a client connected; a demo never overwrites a capture; what
senders write cannot drive the operator's terminal."""

import io
import json
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from ffsim.receiver.live import LiveView, findings_text, summary_text
from ffsim.receiver.server import Receiver, Record
from ffsim.terminal import printable

from .servers import wait_for

FFSIM = [sys.executable, "-m", "ffsim"]
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # every control character but the newline


def receive(*args, cwd=None):
    """`ffsim receive ARGS`: it must refuse at once; a receiver that listens instead is killed
    and reported as such."""
    try:
        return subprocess.run([*FFSIM, "receive", *args], capture_output=True, text=True, timeout=30, cwd=cwd)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"ffsim receive {' '.join(args)} went on listening: {exc.stderr!r}") from None


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    import trustme

    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    first, second = ca.issue_cert("127.0.0.1"), ca.issue_cert("127.0.0.1")
    first.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    first.private_key_pem.write_to_path(str(folder / "key.pem"))
    second.private_key_pem.write_to_path(str(folder / "other-key.pem"))
    (folder / "junk.pem").write_text("not a certificate\n")
    return folder


OPTION_ERRORS = [
    # (arguments, exit code, words the one line must hold)
    (["--tls-key", "{tls}/key.pem"], 2, "--tls-cert"),
    (["--tls-cert", "{tls}/cert.pem"], 2, "--tls-key"),
    (["--tls-cert", "{tls}/missing.pem", "--tls-key", "{tls}/key.pem"], 2, "missing.pem"),
    (["--tls-cert", "{tls}/cert.pem", "--tls-key", "{tls}/missing.pem"], 2, "missing.pem"),
    (["--tls-cert", "{tls}/cert.pem", "--tls-key", "{tls}/other-key.pem"], 1, "TLS"),
    (["--tls-cert", "{tls}/junk.pem", "--tls-key", "{tls}/key.pem"], 1, "TLS"),
    (["--http", "127.0.0.1:abc"], 2, "--http"),
    (["--http", ":99999"], 2, "--http"),
    (["--http", "nohostport"], 2, "--http"),
    (["--http", "127.0.0.1:"], 2, "--http"),
    (["--tcp", "127.0.0.1:-1"], 2, "--tcp"),
    (["--respond", "100"], 2, "--respond"),
    (["--respond", "600"], 2, "--respond"),
    (["--out", "/proc/1/x"], 1, "/proc/1/x"),
]


@pytest.mark.parametrize("args, code, words", OPTION_ERRORS, ids=lambda x: " ".join(x) if isinstance(x, list) else "")
def test_a_wrong_option_is_a_one_line_error(tls_files, args, code, words):
    args = [a.format(tls=tls_files) for a in args]
    if "--http" not in args and "--tcp" not in args:
        args += ["--http", "127.0.0.1:0"]  # should it listen after all, not on a port in use
    result = receive(*args)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == code, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith(("ffsim: error:", "Error:"))]
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert "cannot listen" not in result.stderr and "listening" not in result.stderr


def test_a_port_in_use_still_says_cannot_listen():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = receive("--http", f"127.0.0.1:{taken.getsockname()[1]}")
    assert result.returncode == 1 and "ffsim: error: cannot listen" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_tls_with_both_files_serves_https(tls_files):
    process = subprocess.Popen([*FFSIM, "receive", "--http", "127.0.0.1:0", "--tls-cert", str(tls_files / "cert.pem"),
                                "--tls-key", str(tls_files / "key.pem"), "--quiet"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stderr.readline()
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    assert "listening: HTTP https://127.0.0.1:" in line, line
    assert process.returncode == 0


def test_ctrl_c_with_a_tcp_client_connected_records_its_partial_document(tmp_path):
    out = tmp_path / "out"
    process = subprocess.Popen([*FFSIM, "receive", "--tcp", "127.0.0.1:0", "--out", str(out), "--json", "--quiet"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stderr.readline()
        found = re.search(r"TCP (\S+):(\d+)", line)
        assert found, line
        client = socket.create_connection((found.group(1), int(found.group(2))), timeout=10)
        client.sendall(b'{"carState": "new", "plateText": "AB')
        wait_for(lambda: (out / "capture.jsonl").exists() and (out / "capture.jsonl").stat().st_size > 0,
                   what="the chunk to be captured")
    finally:
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    client.close()
    assert "Traceback" not in stderr and "CancelledError" not in stderr, stderr
    assert process.returncode == 0, stderr
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["packets"] == 1 and summary["violations"] == 1
    records = [json.loads(line) for line in (out / "packets.jsonl").read_text().splitlines()]
    assert len(records) == 1 and records[0]["protocol"] == "tcp" and records[0]["payload"] is None
    assert "stopped inside a JSON document" in records[0]["violations"][0], records[0]


def test_stopping_the_receiver_records_each_connections_partial_document(tmp_path):
    with Receiver(http=None, tcp="127.0.0.1:0", out=tmp_path) as rx:
        host, port = rx.tcp_address.rsplit(":", 1)
        clients = [socket.create_connection((host, int(port)), timeout=10) for _ in range(2)]
        clients[0].sendall(b'{"carState": "new"}\n{"carID": ')
        clients[1].sendall(b"[1, 2")
        wait_for(lambda: len((tmp_path / "capture.jsonl").read_text().splitlines()) == 2
                   if (tmp_path / "capture.jsonl").exists() else False, what="both chunks captured")
    for client in clients:
        client.close()
    partial = [v for v in rx.violations if "stopped inside a JSON document" in v]
    assert len(partial) == 2, rx.violations
    assert rx.packets == 3


# -- demo ----------------------------------------------------------------------------------------

def demo(*args, cwd):
    return subprocess.run([*FFSIM, "demo", "--speed", "max", *args], capture_output=True, text=True, timeout=180,
                          cwd=cwd)


@pytest.mark.parametrize("earlier", ["packets.jsonl", "capture.jsonl", "images/000001_plate.jpg"])
def test_demo_refuses_an_out_folder_holding_a_capture(tmp_path, earlier):
    out = tmp_path / "kept"
    (out / "images").mkdir(parents=True)
    (out / earlier).write_text("earlier capture\n")
    result = demo("--out", str(out), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("ffsim: error:")]
    assert len(lines) == 1 and str(out) in lines[0] and "--out" in lines[0] and "delete" in lines[0], result.stderr
    assert (out / earlier).read_text() == "earlier capture\n"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == sorted({"images", earlier})


def test_demo_twice_with_the_default_folder_keeps_both(tmp_path):
    first = demo(cwd=tmp_path)
    second = demo(cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert second.returncode == 0, second.stdout + second.stderr
    runs = sorted(p for p in (tmp_path / "ffsim-demo").iterdir())
    assert len(runs) == 2, runs
    for folder in runs:
        assert len((folder / "packets.jsonl").read_text().splitlines()) == 32
        assert len(list((folder / "images").iterdir())) == 32
    for result, folder in zip((first, second), runs):
        assert f"{Path('ffsim-demo') / folder.name / 'packets.jsonl'}" in result.stdout, result.stdout


# -- the operator's terminal ---------------------------------------------------------------------

HOSTILE = "\x1b]0;owned\x07\x1b[2J\x9b31m\x7f\r\nFAKE\tLINE\x00"


def test_printable_escapes_controls_and_keeps_ordinary_text():
    assert printable("KA-Ü 123 京 ß") == "KA-Ü 123 京 ß"
    assert printable("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert printable("\x9b\x7f\x00\t\n\r") == "\\x9b\\x7f\\x00\\x09\\x0a\\x0d"
    assert printable("\ud800") == "\\ud800"
    assert not CONTROL.search(printable(HOSTILE)) and "\n" not in printable(HOSTILE)


def hostile_payload():
    return {"carState": "new", "carID": HOSTILE, "plateText": HOSTILE, "plateUTF8": HOSTILE,
            "sensorProviderID": HOSTILE, "profileID": HOSTILE, "carMoveDirection": HOSTILE,
            "packetCounter": HOSTILE, HOSTILE: HOSTILE}


def test_what_senders_write_cannot_drive_the_terminal(tmp_path):
    """Over real HTTP and TCP: the live lines, the summary and the findings hold no control
    character but the newlines between lines, and the sender's text is still there, escaped."""
    stream = io.StringIO()
    with Receiver(http="127.0.0.1:0", tcp="127.0.0.1:0", out=tmp_path, on_record=LiveView(stream=stream)) as rx:
        body = json.dumps(hostile_payload()).encode()
        request = urllib.request.Request(rx.http_url + "l.php", data=body,
                                         headers={"Content-Type": "application/json"})
        assert urllib.request.urlopen(request, timeout=10).status == 200
        host, port = rx.tcp_address.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as client:
            client.sendall(body + b"\n" + json.dumps({"ALPV": {"device_ID": HOSTILE}, HOSTILE: 1}).encode())
        rx.wait(3, timeout=20, raise_on_timeout=True)
    shown = [stream.getvalue(), summary_text(rx.summary()), findings_text(rx.violations, rx.notices)]
    for text in shown:
        assert not CONTROL.search(text), repr(text)
        assert "FAKE" not in text.split("\n")[0] or "\\x0aFAKE" in text  # no line a sender starts
        assert not any(line.startswith("FAKE") for line in text.splitlines())
    assert "\\x1b]0;owned\\x07" in shown[0]
    assert rx.violations and any("\\x1b" in line for line in findings_text(rx.violations, []).splitlines())


def test_summary_and_findings_escape_every_field():
    summary = {"packets": 1, "violations": 1, "notices": 0, "states": {"other": 1}, "cameras": {HOSTILE: 1},
               "rules": {"violations": {HOSTILE: 1}, "notices": {}},
               "senders": {HOSTILE: {"lost_timing": {"status": HOSTILE, "checked": 0, "skipped": 1, "reason": HOSTILE},
                                     "clock_rate": None, "clock": HOSTILE, "generation": HOSTILE,
                                     "utc_offset": HOSTILE, "violations": 1, "notices": 0}},
               "open_passages": [HOSTILE], "open_passage_notices": 0, "forgotten": {HOSTILE: 1}}
    for text in (summary_text(summary), findings_text([HOSTILE] * 3, [HOSTILE], limit=2)):
        assert not CONTROL.search(text), repr(text)
        assert not any(line.startswith("FAKE") for line in text.splitlines())
    record = Record(0.0, "peer", "tcp", "", [], hostile_payload(), [HOSTILE], notices=[HOSTILE])
    stream = io.StringIO()
    view = LiveView(stream=stream)
    view.EVERY = 1  # the count line too
    view(record)
    assert not CONTROL.search(stream.getvalue()) and len(stream.getvalue().splitlines()) == 4, stream.getvalue()


def test_a_live_line_takes_any_json_value_a_sender_writes(tmp_path):
    """A list or an object where a string belongs is a violation, never an error in the live view."""
    stream = io.StringIO()
    odd = {"carState": ["new"], "carID": {"x": 1}, "plateText": [1, 2], "sensorProviderID": {"\x1b": None},
           "carMoveDirection": None, "profileID": 1.5}
    with Receiver(http=None, tcp="127.0.0.1:0", out=tmp_path, on_record=LiveView(stream=stream)) as rx:
        host, port = rx.tcp_address.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as client:
            client.sendall(json.dumps(odd).encode() + b"\n" + json.dumps({**odd, "carID": "2"}).encode())
        rx.wait(2, timeout=20, raise_on_timeout=True)
    lines = stream.getvalue().splitlines()
    assert sum(1 for line in lines if '["new"]' in line and "[1, 2]" in line) == 2, lines
    assert not CONTROL.search(stream.getvalue())
