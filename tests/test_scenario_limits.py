"""Hardening (issue 8): what would inject headers, overflow or hang is refused by `ffsim validate`
with FILE:LINE:COL, and what validate accepts at the edges of the ranges, `ffsim events` handles."""

import json
import os
import re
import subprocess
import sys
import time
import tracemalloc

import pytest

from ffsim.scenario import ScenarioError, load_scenario, yamlsource

from .cli import ffsim
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
    # 4. found by benchmarks/fuzz_scenarios.py: what passed validate and then failed `events` or `validate` itself
    ("float zone id", "{id: 1,", "{id: 1.0,", 4, 10, r"zones\[0\]\.id must be a whole number, got 1\.0$"),
    ("float traffic zone", "vehicles:", "traffic: [{zone: 1.0, rate: 10/h}]\nvehicles:", 5, 18,
     r"traffic\[0\]\.zone must be a whole number, got 1\.0$"),
    ("float profile id", "vehicles:", "profiles: [{id: 2.0}]\nvehicles:", 5, 17,
     r"profiles\[0\]\.id must be a whole number, got 2\.0$"),
    ("text zone id", "{id: 1,", "{id: one,", 4, 10, r"zones\[0\]\.id must be one of: 1, 2; got 'one'$"),
    ("huge whole number in a path", "[[960, 320], [960, 1060]]", "[[960, 320], [960, 1%s]]" % ("0" * 400), 8, 30,
     r"vehicles\[0\]\.path\[1\]\[1\] must be a number of at most 1\.798e\+308 in size, got one of 401 digits"),
    ("huge whole number in a polygon", "[1920, 300]", "[1%s, 300]" % ("0" * 309), 4, 34,
     r"zones\[0\]\.polygon\[1\]\[0\] must be a number of at most 1\.798e\+308"),
    ("huge plate size", "    duration: 4s", "    duration: 4s\n    plate_size: [1%s, 30]" % ("0" * 400), 10, 18,
     r"vehicles\[0\]\.plate_size\[0\] must be a number of at most"),
    ("huge traffic weight", "vehicles:", "traffic: [{zone: 1, rate: 1/h, countries: {CZE: 1%s}}]\nvehicles:" % (
        "0" * 400), 5, 49, r"traffic\[0\]\.countries\.CZE must be a number of at most"),
    ("huge lateral", "vehicles:", "traffic: [{zone: 1, rate: 1/h, lateral: [0, 1%s]}]\nvehicles:" % ("0" * 400),
     5, 45, r"traffic\[0\]\.lateral\[1\] must be a number of at most"),
    ("huge travel", "vehicles:", "recognition: {direction_min_travel: 1%s}\nvehicles:" % ("0" * 400), 5, 37,
     r"recognition\.direction_min_travel must be a number of at most"),
    ("escape sequence in a key", "vehicles:", "traffic: [{zone: 1, rate: 1/h, countries: {\"\\e[2J\\u202e\": x}}]"
     "\nvehicles:", 5, 59, r"traffic\[0\]\.countries\['\\x1b\[2J\\u202e'\] must be a number, got 'x'$"),
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
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", result.stderr)


def test_dev_zero_is_not_read_forever():
    """In a process of its own (a regression would read for ever), as is the named pipe below."""
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
    events = ffsim("events", path, "--until", "10s", text=False)
    assert events.returncode == 0, events.stderr[-2000:]


def test_a_named_pipe_nobody_writes_to_does_not_hang(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    result = subprocess.run([sys.executable, "-m", "ffsim", "validate", str(fifo)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1 and result.stderr.startswith(f"{fifo}:1:1: "), result.stderr


# -- bounded work: any file is answered within seconds and a few hundred MB (issue 8, item 11) -------


@pytest.fixture(params=["libyaml", "pyyaml"])
def parser(request, monkeypatch):
    """Both parsers: libyaml where PyYAML has it, PyYAML's own where it was built without."""
    if request.param == "pyyaml":
        monkeypatch.setattr(yamlsource, "_CParser", None)
    elif yamlsource._CParser is None:
        pytest.skip("PyYAML without libyaml")
    return request.param


def problems(tmp_path, text) -> list[str]:
    path = tmp_path / "s.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    return [f"{p.line}:{p.column}: {p.message}" for p in caught.value.problems]


# 542 bytes, ten to the ninth values once its aliases are expanded
BOMB = "version: 1\n" + "l0: &l0 [" + ", ".join(["lol"] * 10) + "]\n" + "".join(
    f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]\n" for i in range(1, 9))


def test_an_alias_bomb_is_refused_at_the_alias_quickly_and_in_little_memory(tmp_path, parser):
    assert len(BOMB) < 1000
    tracemalloc.start()
    started = time.perf_counter()
    try:
        found = problems(tmp_path, BOMB)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    # the expansion stops within 100,000 + 4 per character values: at an alias of l4's line
    assert len(found) == 1 and re.fullmatch(rf"6:\d+: too many nodes: this alias expands the document to more than "
                                            rf"{100_000 + 4 * len(BOMB)} values \(keys included; the most a file of "
                                            rf"{len(BOMB)} characters may expand to is 100000 \+ 4 per character\)",
                                            found[0]), found
    column = int(found[0].split(":")[1])
    assert BOMB.splitlines()[5][column - 1:column + 2] == "*l3"
    assert time.perf_counter() - started < 5 and peak < 60_000_000, (time.perf_counter() - started, peak)


def test_merge_keys_cannot_multiply_either(tmp_path, parser):
    text = ("version: 1\nm: &m {" + ", ".join(f"k{i}: {i}" for i in range(50)) + "}\n"
            + "x: {<<: [" + ", ".join(["*m"] * 30_000) + "]}\n")
    started = time.perf_counter()
    found = problems(tmp_path, text)
    assert time.perf_counter() - started < 5
    assert len(found) == 1 and re.match(r"3:\d+: too many nodes: this alias expands the document to more than",
                                        found[0]), found
    assert text.splitlines()[2][int(found[0].split(":")[1]) - 1:].startswith("*m")


def test_aliases_and_merge_keys_still_work_and_errors_point_at_the_alias(tmp_path, parser):
    text = GOOD + ("  - &car {plate: 1AB2345, at: 8s, path: [[960, 320], [960, 1060]], duration: 4s}\n"
                   "  - {<<: *car, plate: 2AB2345}\n"
                   "  - *car\n"
                   "profiles:\n  - &p {id: 1, format: json}\n  - {<<: *p, id: 2, format: multipart}\n")
    path = tmp_path / "s.yaml"
    path.write_text(text)
    scenario = load_scenario(path)
    assert [v.plate for v in scenario.vehicles] == ["5SX2207", "1AB2345", "2AB2345", "1AB2345"]
    assert [v.at_us for v in scenario.vehicles[1:]] == [8_000_000] * 3
    assert [(p.id, p.format) for p in scenario.profiles] == [(1, "json"), (2, "multipart")]
    # a problem inside aliased text is shown where the text is; one of the aliased value as a whole, at the alias
    found = problems(tmp_path, text.replace("at: 8s", "at: -8s").replace(
        "vehicles:\n", "lists: {custom: [&list {plate: X}]}\nvehicles:\n").replace("profiles:", "  - *list\nprofiles:"))
    assert [p[:28] for p in found] == ["11:31: vehicles[1].at must b", "11:31: vehicles[2].at must b",
                                       "11:31: vehicles[3].at must b", "14:5: vehicles[4]: missing r"], found


def test_a_10_mb_scenario_is_answered_in_seconds(tmp_path):
    vehicle = "  - plate: 5SX%04d\n    at: %ds\n    path: [[960, 320], [960, 1060]]\n    duration: 4s\n"
    text = GOOD + "".join(vehicle % (i % 10_000, i) for i in range(110_000))
    assert 9_000_000 < len(text) < 10_000_000
    started = time.perf_counter()
    result, path = validate(tmp_path, text)
    assert time.perf_counter() - started < 15  # 52 s and 1.6 GB before
    assert result.returncode == 1
    assert re.fullmatch(rf"{re.escape(str(path))}:\d+:\d+: too many nodes: the document holds more than 250000 "
                        r"values \(keys included; the most a scenario may hold\)\n", result.stderr), result.stderr


def test_the_largest_scenario_is_accepted_in_seconds(tmp_path):
    vehicle = "  - plate: 5SX%04d\n    at: %ds\n    path: [[960, 320], [960, 1060]]\n    duration: 4s\n"
    path = tmp_path / "s.yaml"
    path.write_text(GOOD + "".join(vehicle % (i % 10_000, i) for i in range(15_000)))
    started = time.perf_counter()
    scenario = load_scenario(path)
    assert len(scenario.vehicles) == 15_001 and time.perf_counter() - started < 10


def test_a_long_list_of_mistakes_stops_at_100(tmp_path):
    found = problems(tmp_path, GOOD + "lists:\n  allow:\n" + "    - {plate: '', description: 1}\n" * 5000)
    assert len(found) == 101 and found[0].startswith("12:15: lists.allow[0].plate must not be empty")
    assert found[-1].startswith("112:15: more problems, from here on, are not listed (at most 100 are): "
                                "lists.allow[100].plate"), found[-1]


NESTED = [
    # (name, the value of `deep:`, line and column of the value that is one level too deep: the scenario's
    # mapping is the first level, its 101st the 100th list)
    ("flow lists", "[" * 150 + "]" * 150, 10, 106),
    ("flow mappings", "{a: " * 150 + "1" + "}" * 150, 10, 403),
    ("block lists", "\n" + "".join(" " * (i + 1) + "-\n" for i in range(150)), 110, 101),
]


@pytest.mark.parametrize("name, value, line, col", NESTED, ids=[n[0] for n in NESTED])
def test_nesting_too_deep_is_shown_where_it_gets_too_deep(tmp_path, parser, name, value, line, col):
    found = problems(tmp_path, GOOD + "deep: " + value + "\n")
    assert found == [f"{line}:{col}: document nested too deeply (more than 100 levels)"]


def test_nesting_far_too_deep_is_refused_near_its_start(tmp_path, parser):
    found = problems(tmp_path, GOOD + "deep: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert len(found) == 1 and found[0].startswith("10:") and found[0].endswith(
        "document nested too deeply (more than 100 levels)"), found
    assert int(found[0].split(":")[1]) <= 1007


def test_an_escape_beyond_unicode_is_a_problem_not_a_traceback(tmp_path, parser):
    found = problems(tmp_path, GOOD.replace("plate: 5SX2207", 'plate: "5SX\\U00110000"'))
    assert len(found) == 1 and re.match(r"6:1\d: not valid YAML: .*escape", found[0]), found


# -- what reaches an HTTP header, or a URL libcurl requests ------------------------------------------

FILENAMES = [
    ("quote in json_filename", PROFILE % r'json_filename: "e\".json"', 35, "json_filename"),
    ("backslash in json_filename", PROFILE % r'json_filename: "e\\.json"', 35, "json_filename"),
    ("quote in image_filename", PROFILE % """image_filename: '{name}"; x="y'""", 36, "image_filename"),
    ("CR LF in image_filename", PROFILE % r'image_filename: "{name}\r\nX: 1"', 36, "image_filename"),
]


@pytest.mark.parametrize("name, new, col, key", FILENAMES, ids=[f[0] for f in FILENAMES])
def test_a_file_name_that_would_break_content_disposition_is_refused(tmp_path, name, new, col, key):
    result, path = validate(tmp_path, GOOD.replace("vehicles:", new, 1))
    assert result.returncode == 1
    assert result.stderr.startswith(f"{path}:5:{col}: profiles[0].{key} must be printable ASCII text without \" "
                                    "or \\, line breaks or other control characters (it goes into a multipart "
                                    "part's Content-Disposition header), got "), result.stderr


URLS = [
    ("space", "http://127.0.0.1:9/a b", "it must be printable ASCII without spaces"),
    ("unclosed IPv6 host", "http://[::1/x", "bad host"),
    ("bracketed host that is no IPv6 address", "http://[example]/x", "bad host"),
]


@pytest.mark.parametrize("name, url, message", URLS, ids=[u[0] for u in URLS])
def test_a_url_in_a_scenario_is_plain_ascii(tmp_path, name, url, message):
    result, path = validate(tmp_path, GOOD.replace("vehicles:", PROFILE % f"url: {json.dumps(url)}", 1))
    assert result.returncode == 1
    assert result.stderr.startswith(f"{path}:5:25: profiles[0].url: malformed URL "), result.stderr
    assert message in result.stderr


CLI_TARGETS = [
    ("--http", "http://127.0.0.1:9/\r\nX-Evil: 1", r"malformed URL 'http://127\.0\.0\.1:9/\\r\\nX-Evil: 1': it must "
                                                   r"be printable ASCII without spaces, line breaks"),
    ("--http", "http://127.0.0.1:9/a b", r"malformed URL .*: it must be printable ASCII without spaces"),
    ("--http", "http://user:TopSecret99@127.0.0.1:9/\x1b[2J", r"malformed URL 'http://user:\*\*\*@127\.0\.0\.1:9/"
                                                              r"\\x1b\[2J': it must be printable ASCII"),
    ("--http", "http://ĥost/", r"malformed URL 'http://ĥost/': it must be printable ASCII"),
    ("--http", "http://[::1", r"malformed URL 'http://\[::1': bad host"),
    ("--tcp", "127.0.0.1:²", r"malformed TCP target '127\.0\.0\.1:²': expected HOST:PORT"),
    ("--tcp", "127.0.0.1:" + "9" * 5000, r"malformed TCP target '127\.0\.0\.1:9999.*': expected HOST:PORT"),
]


@pytest.mark.parametrize("command", ["events", "run"])
@pytest.mark.parametrize("option, target, pattern", CLI_TARGETS, ids=[f"{t[0]} {t[1][:24]!r}" for t in CLI_TARGETS])
def test_a_target_on_the_command_line_is_plain_ascii(tmp_path, command, option, target, pattern):
    path = tmp_path / "s.yaml"
    path.write_text(GOOD)
    extra = ["--speed", "max", "--drain", "1s"] if command == "run" else []
    result = ffsim(command, path, option, target, *extra)
    assert result.returncode == 1 and result.stdout == "", (result.stdout, result.stderr)
    assert re.fullmatch(r"ffsim: error: " + pattern + r".*\n", result.stderr), result.stderr
    assert "Traceback" not in result.stderr and "TopSecret99" not in result.stderr


def test_a_tcp_host_with_a_space_is_refused_before_any_lookup(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(GOOD)
    result = ffsim("events", path, "--tcp", "my host:9100")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == ("ffsim: error: malformed TCP target 'my host:9100': it must be printable ASCII without "
                             "spaces, line breaks or other control characters (a host name in its xn-- form)\n")
