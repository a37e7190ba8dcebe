"""Hardening (issue 8): what would inject headers, overflow or hang is refused by `ffsim validate`
with FILE:LINE:COL, and what validate accepts at the edges of the ranges, `ffsim events` handles."""

import os
import re
import subprocess
import sys

import pytest

from .test_validate import GOOD, validate

PROFILE = "profiles: [{id: 1, %s}]\nvehicles:"
HEARTBEAT = "heartbeat: {%s}\nvehicles:"

CASES = [
    # (name, replace this, with this, line, column, message pattern)
    # 1. header injection: CR/LF, other control characters (and non-ASCII, which pycurl refuses)
    ("user_agent", "vehicles:", PROFILE % r'user_agent: "ffsim\r\nX-Evil: 1"', 5, 32,
     r"profiles\[0\]\.user_agent must be printable ASCII text, without line breaks.*got 'ffsim\\r\\nX-Evil: 1'"),
    ("auth_header value", "vehicles:", PROFILE % r'auth_header: {value: "k\nX-Evil: 1"}', 5, 41,
     r"auth_header\.value must be printable ASCII .*got \*\*\*"),
    ("auth_header name", "vehicles:", PROFILE % r'auth_header: {name: "X-Key\n", value: k}', 5, 40,
     r"auth_header\.name must be printable ASCII"),
    ("json_content_type", "vehicles:", PROFILE % r'json_content_type: "application/json\r\nX: 1"', 5, 39,
     r"json_content_type must be printable ASCII"),
    ("auth user", "vehicles:", PROFILE % r'auth: {type: basic, user: "cam\r\n", password: p}', 5, 46,
     r"auth\.user must be printable ASCII .*got \*\*\*"),
    ("auth password", "vehicles:", PROFILE % r'auth: {type: digest, user: cam, password: "TopSecret99\n"}', 5, 62,
     r"auth\.password must be printable ASCII .*got \*\*\*$"),
    ("json_filename", "vehicles:", PROFILE % r'json_filename: "e.json\r\nX: 1"', 5, 35, r"json_filename must be"),
    ("image_filename", "vehicles:", PROFILE % r'image_filename: "{name}\0"', 5, 36, r"image_filename must be"),
    ("tab in user_agent", "vehicles:", PROFILE % r'user_agent: "a\tb"', 5, 32, r"user_agent must be"),
    ("non-ASCII user_agent", "vehicles:", PROFILE % 'user_agent: "Kamera Řež"', 5, 32, r"user_agent must be"),
    ("boundary newline", "vehicles:", PROFILE % r'boundary: "abc\n"', 5, 30, r"boundary must be 1 to 70"),
    ("url", "vehicles:", PROFILE % r'url: "http://127.0.0.1:8080/ev\r\nX: 1"', 5, 25, r"url must be printable ASCII"),
    ("heartbeat password", "vehicles:", HEARTBEAT % r'auth: {type: basic, user: u, password: "pw\r\n"}', 5, 52,
     r"heartbeat\.auth\.password must be printable ASCII .*got \*\*\*"),
    ("heartbeat header", "vehicles:", HEARTBEAT % r'auth_header: {value: "v\r\nX: 1"}', 5, 34,
     r"heartbeat\.auth_header\.value must be printable ASCII .*got \*\*\*"),
    # 2. what PyYAML or Python would choke on
    ("huge integer", "fps: 10", "fps: " + "9" * 5000, 2, 41, r"an integer of 5000 digits is too long \(at most 4300"),
    ("huge hex integer", "fps: 10", "fps: 0x" + "f" * 5000, 2, 41, r"an integer of more than 4300 digits"),
    ("!!float x", "fps: 10", "fps: !!float x", 2, 41, r"!!float: the text is not a number"),
    ("!!int 0x", "fps: 10", "fps: !!int 0x", 2, 41, r"!!int: the text is not an integer"),
    ("!!int 1.5", "fps: 10", "fps: !!int 1.5", 2, 41, r"!!int: the text is not an integer"),
    ("!!bool yes", "fps: 10", "fps: !!bool yes", 2, 41, r"!!bool: the text is not true or false"),
    # 3. values that `events` could not use
    ("fps rounds to 0", "fps: 10", "fps: 0.0001", 2, 41, r"camera\.fps must be >= 0\.01, got 0\.0001"),
    ("float seed", "version: 1", "version: 1\nseed: 5.0", 2, 7, r"seed must be a whole number, got 5\.0"),
    ("float counter", "vehicles:", PROFILE % "first_packet_counter: 2.0", 5, 42,
     r"first_packet_counter must be a whole number, got 2\.0"),
    ("huge at", "at: 2s", "at: 1e300", 7, 9, r"vehicles\[0\]\.at: a duration must be from 0 to 10 years \(87600h\)"),
    ("huge at text", "at: 2s", "at: 99999999999999999999999h", 7, 9, r"at: a duration must be from 0 to 10 years"),
    ("huge wait", "[[960, 320], [960, 1060]]", "[[960, 320], {at: [960, 1060], wait: 1e300}]", 8, 48,
     r"path\[1\]\.wait: a duration must be from 0 to 10 years"),
    ("huge duration", "duration: 4s", "duration: 87601h", 9, 15, r"duration: a duration must be from 0 to 10 years"),
    ("tiny speed", "    duration: 4s", "    speed: 1e-300", 9, 12, r"vehicles\[0\]\.speed must be >= 0\.01, got 1e-300"),
    ("huge speed", "    duration: 4s", "    speed: 1e300", 9, 12, r"vehicles\[0\]\.speed must be <= 1000000"),
    ("tiny traffic speed", "vehicles:", "traffic: [{zone: 1, rate: 10/h, speed: [1e-300, 1]}]\nvehicles:", 5, 41,
     r"traffic\[0\]\.speed\[0\] must be >= 0\.01, got 1e-300"),
    ("huge rate", "vehicles:", "traffic: [{zone: 1, rate: 99999999999999999999/s}]\nvehicles:", 5, 27,
     r"traffic\[0\]\.rate must be more than 0 and at most 100/s \(360000/h\)"),
    ("million-character plate", "plate: 5SX2207", "plate: " + "A" * 1_000_000, 6, 12,
     r"vehicles\[0\]\.plate must be 1 to 32 characters, got 1000000$"),
    ("long read", "    duration: 4s", "    duration: 4s\n    reads: [{text: " + "B" * 33 + "}]", 10, 20,
     r"reads\[0\]\.text must be 1 to 32 characters, got 33"),
    ("long list plate", "vehicles:", "lists: {block: [" + "C" * 40 + "]}\nvehicles:", 5, 17,
     r"lists\.block\[0\] must be a plate \(1 to 32 characters\)"),
    ("huge timeout", "vehicles:", PROFILE % "timeout: 1e300", 5, 29, r"profiles\[0\]\.timeout: a duration must be from 0"),
    ("day-long connect_timeout", "vehicles:", PROFILE % "connect_timeout: 25h", 5, 37,
     r"profiles\[0\]\.connect_timeout must be from 1ms to 24h, got '25h'"),
    ("zero timeout", "vehicles:", PROFILE % "timeout: 0s", 5, 29, r"profiles\[0\]\.timeout must be from 1ms to 24h, got '0s'"),
    ("sub-ms timeout", "vehicles:", PROFILE % "timeout: 0.0004", 5, 29, r"timeout must be from 1ms to 24h, got 0\.0004"),
]


@pytest.mark.parametrize("name, old, new, line, col, pattern", CASES, ids=[c[0] for c in CASES])
def test_refused_with_file_line_col(tmp_path, name, old, new, line, col, pattern):
    assert old in GOOD
    result, path = validate(tmp_path, GOOD.replace(old, new, 1))
    assert result.returncode == 1, result.stdout
    first = result.stderr.strip().splitlines()[0]
    assert first.startswith(f"{path}:{line}:{col}: "), first[:300]
    assert re.search(pattern, first), first[:300]
    assert "TopSecret99" not in result.stderr and len(result.stderr) < 2000


def test_dev_zero_is_not_read_forever():
    result = subprocess.run([sys.executable, "-m", "ffsim", "validate", "/dev/zero"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("/dev/zero:1:1: the file is larger than 10 MB"), result.stderr


def test_a_file_over_10_mb_is_refused(tmp_path):
    result, path = validate(tmp_path, GOOD.encode() + b"#" * 10_000_000)
    assert result.returncode == 1
    assert result.stderr.startswith(f"{path}:1:1: the file is larger than 10 MB"), result.stderr


EDGES = [
    ("slowest fps", "fps: 10", "fps: 0.01"),
    ("fps just above the minimum", "fps: 10", "fps: 0.0101"),
    ("latest at", "at: 2s", "at: 87600h"),
    ("longest duration", "duration: 4s", "duration: 87600h"),
    ("longest waits", "[[960, 320], [960, 1060]]", "[[960, 320], {at: [960, 1060], wait: 87600h}, [960, 1000]]"),
    ("slowest speed", "duration: 4s", "speed: 0.01"),
    ("fastest speed", "duration: 4s", "speed: 1000000"),
    ("timeouts", "vehicles:", PROFILE % "timeout: 24h, connect_timeout: 1ms"),
    ("busiest traffic", "vehicles:", "traffic: [{zone: 1, rate: 100/s, speed: [0.01, 1000000]}]\nvehicles:"),
    ("rarest traffic", "vehicles:", "traffic: [{zone: 1, rate: 0.000000000000000000001/h}]\nvehicles:"),
    ("longest plate", "plate: 5SX2207", "plate: " + "Ř" * 32),
    ("longest recognition times", "vehicles:", "recognition: {lost_timeout: 87600h, update_interval: 87600h, "
                                               "reliable_timeout: 87600h}\nvehicles:"),
    ("big whole numbers", "vehicles:", PROFILE % "buffer_size: 99999999999999999999999, first_packet_counter: "
                                                 "99999999999999999999999999999"),
    ("printable header values", "vehicles:", PROFILE % "user_agent: 'Mozilla/5.0 (X11) ~!@#$%^&*()'"),
]


@pytest.mark.parametrize("name, old, new", EDGES, ids=[e[0] for e in EDGES])
def test_what_validate_accepts_events_handles(tmp_path, name, old, new):
    assert old in GOOD
    result, path = validate(tmp_path, GOOD.replace(old, new, 1))
    assert result.returncode == 0, result.stderr
    events = subprocess.run([sys.executable, "-m", "ffsim", "events", str(path), "--until", "10s"],
                            capture_output=True, timeout=120)
    assert events.returncode == 0 and b"Traceback" not in events.stderr, events.stderr[-2000:]


def test_a_named_pipe_nobody_writes_to_does_not_hang(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    result = subprocess.run([sys.executable, "-m", "ffsim", "validate", str(fifo)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1 and result.stderr.startswith(f"{fifo}:1:1: "), result.stderr
