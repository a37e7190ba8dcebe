"""`ffsim replay` on damaged and hostile files: a FILE:LINE: message for every bad line, the rest
replayed, never a traceback (issue 8, items 2 and 14)."""

import base64
import io
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ffsim.replay import Entry, Skipped, load_source, replay
from ffsim.runner import LivePrinter
from tests.servers import RawRecorder, TcpListener, wait_for

TORN = "torn line (the writer stopped mid-record); skipped"


def ffsim(*args):
    return subprocess.run([sys.executable, "-m", "ffsim", *args], capture_output=True, text=True, timeout=300)


def tcp_line(text: bytes, peer="127.0.0.1:5000", t=0.0) -> str:
    return json.dumps({"t": t, "protocol": "tcp", "peer": peer, "data": base64.b64encode(text).decode()})


def http_line(t=0.0) -> str:
    request = b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}"
    return json.dumps({"t": t, "protocol": "http", "peer": "127.0.0.1", "data": base64.b64encode(request).decode()})


GOOD = tcp_line(b"good\n")

# a line, and what its message says (after FILE:LINE: )
BAD_LINES = [
    ('{"t": "x", "protocol": "tcp", "peer": "a", "data": "AA=="}', '"t" is text: a number of seconds expected'),
    ('{"t": 1, "protocol": "tcp", "peer": "a", "data": 5}', '"data" is a number: base64 text expected'),
    ('{"t": 1, "protocol": 3, "peer": "a", "data": "AA=="}', '"protocol" is a number: "http" or "tcp" expected'),
    ('{"t": 1, "protocol": "tcp", "peer": [], "data": "AA=="}', '"peer" is a list: text expected'),
    ('{"t": true, "protocol": "tcp", "data": "AA=="}', '"t" is true: a number of seconds expected'),
    ('{"t": 1e300, "protocol": "tcp", "data": "AA=="}', '"t" out of range: 1e+300 (0 to 253402214400 seconds)'),
    ('{"t": -1, "protocol": "tcp", "data": "AA=="}', '"t" out of range: -1 (0 to 253402214400 seconds)'),
    ('{"t": NaN, "protocol": "tcp", "data": "AA=="}', '"t" out of range: nan (0 to 253402214400 seconds)'),
    ('{"t": Infinity, "protocol": "tcp", "data": "AA=="}', '"t" out of range: inf (0 to 253402214400 seconds)'),
    ('{"time": 1e300, "payload": {"carState": "new"}}', '"time" out of range: 1e+300 (0 to 253402214400000 '
                                                         'milliseconds)'),
    ('{"arrival": "soon", "payload": {"carState": "new"}}', '"arrival" is text: a number of seconds expected'),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply to read"),
    ('{"payload": ' + "[" * 100_000, "nested too deeply to read"),
    ('{"protocol": "udp", "data": "AA=="}', 'unknown protocol "udp" (a capture holds "http" or "tcp")'),
    ('{"protocol": "\\u001b[2J\\ud800", "data": "AA=="}', r'unknown protocol "\x1b[2J\ud800" (a capture holds'),
    ('{"t": 0, "protocol": "tcp", "data": "!!not base64!!"}', '"data" is not base64'),
    ('{"t": 0, "protocol": "tcp", "data": "\\ud800"}', '"data" is not base64'),
    ('{"t": 0, "protocol": "tcp", "data": ""}', '"data" is empty: nothing to send'),
    ('{"t": 0, "protocol": "tcp"}', '"data" is null: base64 text expected'),
    ('{"t": 0, "protocol": "http", "data": "AA==", "redacted": "authorization"}',
     '"redacted" is text: a list of header names expected'),
    ('{"payload": [1, 2]}', '"payload" is a list: a JSON object expected'),
    ("[1, 2]", "a list: neither a capture entry nor a payload (a JSON object per line)"),
    ('"text"', "text: neither a capture entry nor a payload"),
    ('{"t": ' + "9" * 5000 + "}", "a number with more than 4300 digits"),
    ("not json", "not JSON: Expecting value (column 1)"),
    ('{"a": 1} {"b": 2}', "not JSON: Extra data (column 10)"),
    ("\x1b]0;owned\x07", r"not JSON: Expecting value (column 1)"),
    ('{"a": "\udcff"}', "not UTF-8 text (byte 8)"),  # the byte 0xff
]


def write(path: Path, lines) -> Path:
    """The lines, newline-ended (\\udcXX in them stands for the raw byte XX)."""
    path.write_bytes("".join(line + "\n" for line in lines).encode("utf-8", "surrogateescape"))
    return path


@pytest.mark.parametrize("line, message", BAD_LINES)
def test_a_bad_line_alone_refuses_the_file_with_its_position(tmp_path, line, message):
    source = write(tmp_path / "capture.jsonl", ["", line])
    with pytest.raises(ValueError) as caught:
        load_source(source, Skipped())
    assert str(caught.value).startswith(f"{source}:2: {message}")
    assert str(caught.value).endswith("; nothing to replay")


@pytest.mark.parametrize("line, message", BAD_LINES)
def test_a_bad_line_among_good_ones_is_skipped(tmp_path, line, message):
    source = write(tmp_path / "capture.jsonl", [GOOD, line, GOOD])
    skipped = Skipped()
    entries = load_source(source, skipped)
    assert [(e.kind, e.data) for e in entries] == [("raw-tcp", b"good\n")] * 2
    assert skipped.count == skipped.bad == 1 and skipped.messages[0].startswith(f"{source}:2: {message}")
    assert skipped.messages[0].endswith("; skipped")
    with pytest.raises(ValueError, match=re.escape(f"{source}:2: {message}")):
        load_source(source)  # without a Skipped to report to, the first bad line refuses the file


def test_bad_lines_are_reported_and_the_rest_replayed(tmp_path):
    lines = [tcp_line(b"first\n")] + [line for line, _ in BAD_LINES] + [tcp_line(b"last\n")]
    source = write(tmp_path / "mixed.jsonl", lines)
    with TcpListener() as listener:
        result = ffsim("replay", str(source), "--tcp", listener.target, "--speed", "max", "-q")
        wait_for(lambda: listener.data == b"first\nlast\n", what="the two good lines")
    assert result.returncode == 1  # replayed, but not all of it
    assert "Traceback" not in result.stderr and "\x1b" not in result.stderr and "\x07" not in result.stderr
    reported = [line for line in result.stderr.splitlines() if line.endswith("; skipped")]
    assert len(BAD_LINES) > 20 and len(reported) == 20  # the first 20, then a count
    for n, (line, (_, message)) in enumerate(zip(reported, BAD_LINES), 2):
        assert line.startswith(f"ffsim: {source}:{n}: {message}")
    assert f"ffsim: {source}: {len(BAD_LINES) - 20} more line(s) skipped" in result.stderr
    assert result.stderr.strip().endswith(f"ffsim: {len(BAD_LINES)} bad line(s) of {source} not replayed "
                                          "(listed above)")


def test_only_bad_lines_refuse_the_file(tmp_path):
    source = write(tmp_path / "bad.jsonl", ['{"protocol": "udp", "data": "AA=="}', "[]", "nope"])
    with TcpListener() as listener:
        result = ffsim("replay", str(source), "--tcp", listener.target, "--speed", "max", "-q")
    assert result.returncode == 1 and listener.connections == []
    assert result.stderr == (f'ffsim: error: {source}:1: unknown protocol "udp" (a capture holds "http" or "tcp") '
                             "(and 2 more bad line(s)); nothing to replay\n")


@pytest.mark.parametrize("content, message", [(b"", "1: empty file: nothing to replay"),
                                              (b"\n  \r\n\n", "3: blank lines only: nothing to replay")])
def test_an_empty_file_is_refused(tmp_path, content, message):
    source = tmp_path / "empty.jsonl"
    source.write_bytes(content)
    result = ffsim("replay", str(source), "--tcp", "127.0.0.1:9")
    assert result.returncode == 1 and result.stderr == f"ffsim: error: {source}:{message}\n"


def test_a_device_is_refused():
    with pytest.raises(ValueError, match="^/dev/zero:1: a device, not a capture or JSON lines$"):
        load_source(Path("/dev/zero"), Skipped())


def test_a_line_longer_than_the_limit_refuses_the_file(tmp_path, monkeypatch):
    import ffsim.replay

    monkeypatch.setattr(ffsim.replay, "MAX_LINE", 1000)
    source = write(tmp_path / "long.jsonl", [GOOD, tcp_line(b"x" * 1000)])
    with pytest.raises(ValueError, match=re.escape(f"{source}:2: a line longer than 0 MiB: not a capture")):
        load_source(source, Skipped())


def test_a_byte_order_mark_is_ignored(tmp_path):
    source = tmp_path / "bom.jsonl"
    source.write_bytes(b"\xef\xbb\xbf" + GOOD.encode() + b"\r\n" + GOOD.encode() + b"\r\n")
    assert [e.data for e in load_source(source)] == [b"good\n"] * 2


def test_a_torn_last_line_is_skipped_and_the_rest_replayed(tmp_path):
    """SIGKILL or a full disk cut the last record: no newline, invalid JSON."""
    source = tmp_path / "capture.jsonl"
    source.write_text(http_line(0.0) + "\n" + http_line(0.1) + "\n" + http_line(0.2)[:57])
    with RawRecorder() as recorder:
        result = ffsim("replay", str(source), "--http", recorder.url, "--speed", "max", "-q")
        wait_for(lambda: len(recorder.requests) == 2, what="two requests")
    assert result.returncode == 0, result.stderr  # a torn line is what a crash leaves: nothing is wrong
    assert result.stderr == f"ffsim: {source}:3: {TORN}\n"
    assert [r["body"] for r in recorder.requests] == [b"{}", b"{}"]


def test_a_torn_line_is_recognised_wherever_the_record_was_cut(tmp_path):
    """Every cut of a capture entry and of a packets.jsonl record (non-ASCII text cut inside a
    character included), as the last line or followed by a new record on the next line."""
    packet = json.dumps({"arrival": 1718373876.5, "peer": "127.0.0.1", "protocol": "http", "path": "/x",
                         "headers": [["Content-Type", "application/json"]], "payload": {
                             "plateUTF8": "ŘÍ\ud800", "confidence": -0.25, "n": [True, False, None, 1e-5]},
                         "violations": [], "notices": [], "images": [], "status": 200}, ensure_ascii=False)
    packet = packet.encode("utf-8", "backslashreplace")
    for record in (http_line(12.5).encode(), packet):
        for cut in range(1, len(record)):
            for lines in ([GOOD.encode(), record[:cut]], [GOOD.encode(), record[:cut], GOOD.encode()]):
                source = tmp_path / "cut.jsonl"
                source.write_bytes(b"\n".join(lines))  # no newline at the end: the writer stopped
                skipped = Skipped()
                entries = load_source(source, skipped)
                assert len(entries) == len(lines) - 1, (cut, record[:cut])
                assert (skipped.count, skipped.torn, skipped.messages) == (1, 1, [f"{source}:2: {TORN}"]), record[:cut]


def test_a_torn_line_alone_is_nothing_to_replay(tmp_path):
    source = tmp_path / "capture.jsonl"
    source.write_text(http_line()[:30])
    result = ffsim("replay", str(source), "--http", "http://127.0.0.1:9/")
    assert result.returncode == 1
    assert result.stderr == (f"ffsim: error: {source}:1: torn line (the writer stopped mid-record); "
                             "nothing to replay\n")


def test_a_lone_surrogate_in_a_payload_is_sent_as_its_escape(tmp_path):
    """The receiver stores a payload holding \\ud800 (a lone surrogate escape) as that escape;
    replaying it sent a traceback (UnicodeEncodeError)."""
    source = tmp_path / "packets.jsonl"
    source.write_text('{"arrival": 1.0, "payload": {"plateUTF8": "A\\ud800B", "plateText": "\\udc00", '
                      '"carState": "new"}}\n')
    with RawRecorder() as recorder:
        result = ffsim("replay", str(source), "--http", recorder.url, "--format", "json", "--speed", "max")
        wait_for(lambda: len(recorder.requests) == 1, what="one request")
    assert result.returncode == 0, result.stderr
    body = recorder.requests[0]["body"]
    assert json.loads(body) == {"plateUTF8": "A\ud800B", "plateText": "\udc00", "carState": "new"}
    assert b'"A\\ud800B"' in body
    assert "\\ud800" in result.stdout  # the live line shows it as an escape too


def test_an_unknown_protocol_is_not_sent_as_a_payload(tmp_path):
    source = write(tmp_path / "capture.jsonl", ['{"protocol": "udp", "data": "AA=="}', http_line()])
    with RawRecorder() as recorder:
        result = ffsim("replay", str(source), "--http", recorder.url, "--speed", "max", "-q")
        wait_for(lambda: len(recorder.requests) == 1, what="one request")
    assert result.returncode == 1
    assert [r["body"] for r in recorder.requests] == [b"{}"]
    assert f'{source}:1: unknown protocol "udp"' in result.stderr


def test_an_absurd_gap_between_two_times_does_not_crash_the_sleep(tmp_path):
    """Times far apart but in range: the replay waits (here: until Ctrl-C), it does not fail
    on time.sleep's ceiling."""
    import signal
    import threading

    source = write(tmp_path / "capture.jsonl", [tcp_line(b"a\n", t=0), tcp_line(b"b\n", t=253402214400)])
    with TcpListener() as listener:
        process = subprocess.Popen([sys.executable, "-m", "ffsim", "replay", str(source), "--tcp", listener.target,
                                    "-q"], stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        wait_for(lambda: listener.data == b"a\n", what="the first line")
        timer = threading.Timer(0.5, process.send_signal, (signal.SIGINT,))  # sleeping by then, or not: both fine
        timer.start()
        _, stderr = process.communicate(timeout=60)
        timer.cancel()
    assert "Traceback" not in stderr and "sleep length" not in stderr
    assert process.returncode == 1 and listener.data == b"a\n"


# --- hypothesis: whatever a file holds, load_source gives entries or a FILE:LINE: ValueError ---

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)
FIELD = st.one_of(JSON_VALUES, st.sampled_from(["http", "tcp", "udp", "AA==", "R0VU", "!!", "", "\ud800"]),
                  st.binary(max_size=30).map(lambda b: base64.b64encode(b).decode()))
CAPTURE = st.fixed_dictionaries({}, optional={"t": FIELD, "protocol": FIELD, "peer": FIELD, "data": FIELD,
                                              "redacted": FIELD})
PAYLOAD_LINE = st.fixed_dictionaries({"payload": FIELD | st.dictionaries(st.text(max_size=8), FIELD, max_size=5)},
                                     optional={"time": FIELD, "arrival": FIELD})


def _json_line(value) -> bytes:
    return json.dumps(value).encode()


LINE = st.one_of(
    st.binary(max_size=60),
    st.text(max_size=60).map(lambda t: t.encode("utf-8", "surrogatepass")),
    JSON_VALUES.map(_json_line),
    CAPTURE.map(_json_line),
    PAYLOAD_LINE.map(_json_line),
    st.tuples(CAPTURE | PAYLOAD_LINE, st.integers(0, 200)).map(lambda v: _json_line(v[0])[:v[1]]),  # torn
    st.sampled_from([b"\xef\xbb\xbf", b"[" * 3000, b'{"t": ' + b"1" * 5000 + b"}", GOOD.encode(), b"\r"]),
)
FILES = st.tuples(st.lists(LINE, max_size=8), st.booleans()).map(
    lambda v: b"\n".join(v[0]) + (b"\n" if v[1] else b""))


def _load(content: bytes, lenient: bool):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "source.jsonl"
        path.write_bytes(content)
        skipped = Skipped() if lenient else None
        try:
            entries = load_source(path, skipped)
        except ValueError as exc:
            assert re.match(rf"^{re.escape(str(path))}:\d+: \S", str(exc)), str(exc)
            assert "\n" not in str(exc) and "\x1b" not in str(exc)
            return None, skipped, path
        return entries, skipped, path


@settings(max_examples=4 * settings.default.max_examples, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(FILES, st.booleans())
def test_load_source_gives_entries_or_a_positioned_error(content, lenient):
    entries, skipped, path = _load(content, lenient)
    if entries is None:
        return
    assert entries and all(isinstance(e, Entry) for e in entries)
    for e in entries:
        assert e.kind in ("raw-http", "raw-tcp", "payload")
        assert e.t_s is None or (isinstance(e.t_s, float | int) and 0 <= e.t_s <= 253402214400)
        assert isinstance(e.peer, str) and isinstance(e.data, bytes)
        assert (e.kind == "payload") == isinstance(e.payload, dict)
    if skipped is not None:
        for message in skipped.messages:
            assert re.match(rf"^{re.escape(str(path))}:\d+: .+; skipped$", message), message


KEYS = st.sampled_from(["capture_timestamp", "capture_ts", "frame_timestamp", "datetime", "packetCounter",
                        "plateText", "plateUnicode", "plateUTF8", "profileID", "carState", "carID",
                        "carMoveDirection", "sensorProviderID"]) | st.text(max_size=6)
HOSTILE = FIELD | st.sampled_from(["1718373876372", "\u00b2", "9" * 30, "0", "20240614 170436372+0200",
                                   "99991231 235959999", "\x1b[2J", "x" * 500, "\ud800"])
PAYLOADS = st.dictionaries(KEYS, HOSTILE, max_size=10)
REPLAYABLE = st.one_of(
    PAYLOADS.map(_json_line),
    st.tuples(st.floats(0, 1e6) | st.none(), PAYLOADS).map(lambda v: _json_line({"time": v[0], "payload": v[1]})),
    st.tuples(st.floats(0, 1e6), st.text(max_size=5), st.binary(min_size=1, max_size=40)).map(
        lambda v: _json_line({"t": v[0], "protocol": "tcp", "peer": v[1], "data": base64.b64encode(v[2]).decode()})))


@pytest.fixture(scope="module")
def servers():
    """One HTTP and one TCP server for all the examples (each server's accept thread outlives it)."""
    with RawRecorder() as recorder, TcpListener() as listener:
        yield recorder, listener


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(REPLAYABLE, min_size=1, max_size=5), st.booleans(), st.booleans())
def test_whatever_load_source_accepts_is_replayed_without_failing(servers, lines, now, renumber):
    """Hostile payloads (any value in any key: non-ASCII digits, times past the year 9999, lone
    surrogates, escape sequences) and TCP chunks go to real servers: each is delivered, with no
    exception and no internal error."""
    recorder, listener = servers
    entries, _, _ = _load(b"\n".join(lines) + b"\n", True)
    live = io.StringIO()
    before = len(recorder.requests)
    tcp = listener.target if any(e.kind == "raw-tcp" for e in entries) else None
    summary = replay(entries, recorder.url, tcp, None, now=now, renumber=renumber, device_id="\x1b[2J",
                     report=LivePrinter(live), drain_s=10.0, json_format=True, notes=[])
    payloads = sum(e.kind == "payload" for e in entries)
    wait_for(lambda: len(recorder.requests) == before + payloads, what="every payload")
    assert summary.fatal is None and summary.delivered_all, summary
    assert "\x1b" not in live.getvalue() and len(live.getvalue().splitlines()) == len(entries)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b"GET / HTTP/1.1", b"Authorization: ***", b"X-Auth-Key: ***", b" folded", b"\tx",
                                 b"Host: a", b"authorization:x", b"", b"\r", b"\xff: y"]) | st.binary(),
                max_size=8),
       st.binary(max_size=20),
       st.frozensets(st.sampled_from(["authorization", "x-auth-key", "host", "", "\xff"])),
       st.lists(st.sampled_from([("Authorization", "Basic Y2FtOnB3"), ("X-Auth-Key", "k")]), max_size=2, unique=True))
def test_raw_request_takes_out_the_named_headers_whatever_the_bytes(lines, body, remove, add):
    from ffsim.replay import raw_request

    data = b"\r\n".join(lines) + b"\r\n\r\n" + body
    out = raw_request(data, remove, tuple(add))
    head, _, rest = out.partition(b"\r\n\r\n")
    assert rest == data.partition(b"\r\n\r\n")[2]  # the body as it was
    names = [line.split(b":", 1)[0].strip().lower().decode("latin-1") for line in head.split(b"\r\n")[1:]
             if line[:1] not in (b" ", b"\t")]
    dropped = remove | {name.lower() for name, _ in add}
    assert [n for n in names if n in dropped] == [name.lower() for name, _ in add]


def test_a_capture_is_never_replayed_in_clear_to_an_https_url(tmp_path):
    capture = tmp_path / "capture.jsonl"
    request = b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    capture.write_text(json.dumps({"t": 0, "protocol": "http", "peer": "p",
                                   "data": base64.b64encode(request).decode()}) + "\n")
    with RawRecorder() as server:
        result = ffsim("replay", str(capture), "--http", f"https://127.0.0.1:{server.port}/", "--basic", "u:s3cret")
        assert result.returncode == 1 and "plain HTTP only" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and "s3cret" not in result.stdout + result.stderr
        assert server.requests == []


def test_a_receivers_records_of_refused_arrivals_do_not_fail_a_replay(tmp_path):
    """packets.jsonl holds a line for a body that was no JSON (payload null): nothing to send, no fault."""
    from ffsim.receiver.server import Receiver

    from .test_receiver import good_packet, post

    with Receiver(out=tmp_path / "a") as first:
        assert post(first.http_url + "x", b"not json", "application/json") == 400
        assert post(first.http_url + "x", good_packet(), "application/json") == 200
    with Receiver(speed=None) as second:
        result = ffsim("replay", str(tmp_path / "a" / "packets.jsonl"), "--http", second.http_url, "--speed", "max")
        assert result.returncode == 0, result.stdout + result.stderr
        wait_for(lambda: second.packets == 1)
    assert "without a payload" in result.stderr


def test_a_file_of_records_without_payloads_is_nothing_to_replay(tmp_path):
    source = write(tmp_path / "packets.jsonl", ['{"arrival": 1.5, "protocol": "http", "payload": null}'])
    skipped = Skipped()
    with pytest.raises(ValueError, match=r"packets.jsonl:1: a receiver's record without a payload .*nothing to replay"):
        load_source(source, skipped)
    assert skipped.bad == 0


@pytest.mark.parametrize("cut", ['{"payload": {"plateText": "x\\u0001', '{"payload": {"plateText": "\\u00e9'])
def test_a_line_torn_right_after_a_whole_escape_is_torn_not_bad(tmp_path, cut):
    source = write(tmp_path / "packets.jsonl", ['{"payload": {"carState": "new"}}', cut])
    skipped = Skipped()
    assert len(load_source(source, skipped)) == 1
    assert skipped.torn == 1 and skipped.bad == 0, skipped.messages
