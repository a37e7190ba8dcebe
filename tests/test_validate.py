"""`ffsim validate`: one FILE:LINE:COL: message per problem, exit 1, never a traceback."""

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ffsim.scenario import ScenarioError, load_scenario

from .cli import ffsim

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.yaml"))

GOOD = """\
version: 1
camera: {resolution: [1920, 1080], fps: 10}
zones:
  - {id: 1, polygon: [[0, 300], [1920, 300], [1920, 1080], [0, 1080]], direction: 180}
vehicles:
  - plate: 5SX2207
    at: 2s
    path: [[960, 320], [960, 1060]]
    duration: 4s
"""


def validate(tmp_path, text, name="s.yaml"):
    """`ffsim validate` of this text, in this process (tests/cli.py): an exception fails the test."""
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text))
    return ffsim("validate", str(path)), path


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.name)
def test_bundled_scenarios_are_valid(scenario):
    result = ffsim("validate", str(scenario))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{scenario}: ok"


CASES = [
    # (name, replace this, with this, line, column, message pattern)
    ("not yaml", "zones:\n", "zones: [\n", 4, 3, r"not valid YAML: while parsing a flow node"),
    ("wrong type", "fps: 10", "fps: ten", 2, 41, r"camera\.fps must be a number, got 'ten'"),
    ("unknown key", "    duration: 4s", "    durration: 4s", 9, 5,
     r"vehicles\[0\]: unknown key 'durration'; did you mean 'duration'\?.*allowed: .*speed"),
    ("three zones", "vehicles:", "  - {id: 2, polygon: [[0, 0], [10, 0], [10, 10]], direction: 0}\n"
     "  - {id: 1, polygon: [[0, 0], [10, 0], [10, 10]], direction: 0}\nvehicles:", 4, 3,
     r"zones must list 1 or 2 zones \(the camera supports at most 2\), got 3 entries"),
    ("two-point polygon", "[[0, 300], [1920, 300], [1920, 1080], [0, 1080]]", "[[0, 300], [1920, 300]]", 4, 22,
     r"zones\[0\]\.polygon must be a polygon of at least 3 points"),
    ("negative duration", "at: 2s", "at: -2s", 7, 9, r"vehicles\[0\]\.at must be a duration .*not negative"),
    ("path outside the frame", "[960, 1060]]", "[2000, 1060]]", 8, 24,
     r"vehicles\[0\]\.path\[1\]: path point \[2000, 1060\] is outside the 1920x1080 frame"),
    ("version 2", "version: 1", "version: 2", 1, 10, r"version must be 1"),
    ("missing version", "version: 1\n", "", 1, 1, r"missing required key 'version'"),
    ("duplicate key", "    at: 2s\n", "    at: 2s\n    at: 3s\n", 8, 5, r"duplicate key 'at' \(first given at line 7"),
    ("zone id", "{id: 1,", "{id: 3,", 4, 10, r"zones\[0\]\.id must be one of: 1, 2; got 3"),
    ("polygon with no area", "[[0, 300], [1920, 300], [1920, 1080], [0, 1080]]", "[[0, 0], [10, 10], [20, 20]]",
     4, 22, r"polygon has no area"),
    ("duration and speed", "    duration: 4s", "    duration: 4s\n    speed: 100", 10, 5,
     r"either duration or speed, not both"),
    ("no speed", "    duration: 4s\n", "", 8, 11, r"needs duration \(e\.g\. 4s\) or speed"),
    ("hidden backwards", "    duration: 4s", "    duration: 4s\n    hidden: [[2s, 1s]]", 10, 14,
     r"hidden\[0\]: the interval must end after it starts"),
    ("reads without for", "    duration: 4s", "    duration: 4s\n    reads: [{text: A1}, {text: A2}]", 10, 13,
     r"reads\[0\]: every read but the last needs `for`"),
    ("bad rate", "vehicles:", "traffic: [{zone: 1, rate: lots}]\nvehicles:", 5, 27, r"rate must be a rate such as 300/h"),
    ("traffic zone", "vehicles:", "traffic: [{zone: 2, rate: 10/h}]\nvehicles:", 5, 18,
     r"traffic\[0\]\.zone 2 is not defined in zones"),
    ("unknown country", "vehicles:", "traffic: [{zone: 1, rate: 10/h, countries: {CZF: 1}}]\nvehicles:", 5, 45,
     r"no plate generator for 'CZF'; did you mean 'CZE'\?"),
    ("protocol", "vehicles:", "profiles: [{id: 1, protocol: htp}]\nvehicles:", 5, 30,
     r"profiles\[0\]\.protocol must be one of: http, tcp; got 'htp'; did you mean 'http'\?"),
    ("bad url", "vehicles:", "profiles: [{id: 1, url: 'ftp://x'}]\nvehicles:", 5, 25,
     r"profiles\[0\]\.url: malformed URL .ftp://x.: expected http://HOST"),
    ("four profiles", "vehicles:", "profiles: [{id: 1}, {id: 2}, {id: 3}, {id: 1}]\nvehicles:", 5, 11,
     r"profiles must list 1 to 3 profiles"),
    ("event type", "vehicles:", "profiles: [{id: 1, events: [new, gone]}]\nvehicles:", 5, 34,
     r"events\[1\] must be one of: new, update, reliable, lost; got 'gone'"),
    ("waypoint", "[[960, 320], [960, 1060]]", "[[960, 320], {at: [960, 1060], wiat: 2s}]", 8, 42,
     r"path\[1\]: unknown key 'wiat'; did you mean 'wait'\?"),
    ("infinite", "fps: 10", "fps: .inf", 2, 41, r"camera\.fps must be"),
    ("start", "version: 1", "version: 1\nstart: yesterday", 2, 8, r"start: expected an ISO 8601 time"),
]


@pytest.mark.parametrize("name, old, new, line, col, pattern", CASES, ids=[c[0] for c in CASES])
def test_each_problem_gets_file_line_col_and_exit_1(tmp_path, name, old, new, line, col, pattern):
    assert old in GOOD
    result, path = validate(tmp_path, GOOD.replace(old, new, 1))
    assert result.returncode == 1, result.stdout
    lines = result.stderr.strip().splitlines()
    assert lines, "no message"
    for text in lines:
        assert re.match(rf"^{re.escape(str(path))}:\d+:\d+: \S", text), text
    first = lines[0]
    got_line, got_col = map(int, first[len(str(path)) + 1:].split(":")[:2])
    assert (got_line, got_col) == (line, col), first
    assert re.search(pattern, first), first


def test_every_problem_is_reported_sorted_by_line(tmp_path):
    """Two problems, the one the loader finds first (camera) written last in the file."""
    camera = "camera: {resolution: [1920, 1080], fps: 10}\n"
    text = GOOD.replace(camera, "").replace("    duration: 4s", "    durration: 4s")
    text += camera.replace("fps: 10", "fps: ten")
    result, path = validate(tmp_path, text)
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == [f"{path}:8:5", f"{path}:9:41"], result.stderr
    assert lines[0].startswith(f"{path}:8:5: vehicles[0]: unknown key 'durration'; did you mean 'duration'?")
    assert lines[1] == f"{path}:9:41: camera.fps must be a number, got 'ten'"


@pytest.mark.parametrize(
    "content, pattern",
    [
        (b"", r":1:1: a scenario must be a mapping .* got empty"),
        (b"- 1\n- 2\n", r":1:1: a scenario must be a mapping"),
        (b"\xff\xfe\x00garbage", r":1:1: the file is not UTF-8 text"),
        (b"version: 1\n\tzones: []\n", r":2:1: not valid YAML"),
        (b"a: &a [*a]\n", r":1:8: an alias refers to a node that contains it\n$"),
        (b"version: 1\nzones: !!python/object:os.system {}\n",
         r":2:8: unsupported YAML tag 'tag:yaml\.org,2002:python/object:os\.system'\n$"),
        (b"version: 1\nzones: [{id: 1, polygon: [[0,0],[9,0],[9,9]], direction: 0}]\nname: \"\\ud800\"\n",
         # libyaml refuses the escape itself; PyYAML's own parser lets the loader refuse the text
         r":3:8: not valid YAML: an escape names no character \(\\ud800 to \\udfff are halves|"
         r":3:7: name must be valid Unicode text"),
    ],
    ids=["empty", "list", "binary", "tab", "recursive alias", "python tag", "surrogate"],
)
def test_hostile_files(tmp_path, content, pattern):
    result, path = validate(tmp_path, content)
    assert result.returncode == 1
    assert re.search(pattern, result.stderr), result.stderr


# 268 bytes; 9 ** 8 values (43 million) once its aliases are expanded
ALIAS_BOMB = (b"a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
              b"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
              b"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
              b"g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n")


def test_an_alias_bomb_is_refused_by_the_cap_on_alias_expansion(tmp_path):
    """The cap (100,000 values + 4 per byte of the file, 101,072 here) refuses it, alone: at the first
    alias that would pass it, the first *e (59,049 values) after the ~66,000 of lines 1 to 5; not
    the limit of a whole scenario (250,000 values), nor the unknown keys a to h, which are never
    reached."""
    result, path = validate(tmp_path, ALIAS_BOMB)
    assert result.returncode == 1
    assert result.stderr == (f"{path}:6:8: too many nodes: this alias expands the document to more than "
                             f"{100_000 + 4 * len(ALIAS_BOMB)} values (keys included; the most a file of "
                             f"{len(ALIAS_BOMB)} characters may expand to is 100000 + 4 per character)\n")


def test_missing_file(tmp_path):
    result = ffsim("validate", str(tmp_path / "nope.yaml"))
    assert result.returncode == 1
    assert re.match(r".*nope\.yaml:1:1: cannot read the file", result.stderr)


def test_several_files_one_bad(tmp_path):
    """End to end: `python -m ffsim validate` in a process of its own."""
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(GOOD)
    bad.write_text(GOOD.replace("fps: 10", "fps: -1"))
    result = subprocess.run([sys.executable, "-m", "ffsim", "validate", str(good), str(bad)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    assert f"{good}: ok" in result.stdout
    assert re.match(rf"{re.escape(str(bad))}:2:41: camera\.fps must be >= 0\.01", result.stderr)


def test_plates_written_as_numbers_stay_text(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(GOOD.replace("plate: 5SX2207", "plate: 5E50011"))
    assert load_scenario(path).vehicles[0].plate == "5E50011"
    path.write_text(GOOD.replace("plate: 5SX2207", "plate: 0012"))
    assert load_scenario(path).vehicles[0].plate == "0012"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.sampled_from(["version", "camera", "zones", "vehicles", "traffic", "lists", "profiles", "recognition",
                        "seed", "start"]), json_values)
def test_any_value_under_any_key_gives_problems_not_crashes(tmp_path, key, value):
    path = tmp_path / "fuzz.yaml"
    doc = {"version": 1, "zones": [{"id": 1, "polygon": [[0, 300], [1920, 300], [1920, 1080]], "direction": 0}]}
    doc[key] = value
    path.write_text(json.dumps(doc))
    try:
        load_scenario(path)
    except ScenarioError as exc:
        for problem in exc.problems:
            assert problem.line >= 1 and problem.column >= 1 and problem.message


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_give_problems_not_crashes(tmp_path, content):
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(content)
    try:
        load_scenario(path)
    except ScenarioError as exc:
        assert exc.problems


def test_secrets_are_never_echoed_and_odd_values_are_problems(tmp_path):
    text = GOOD.replace("vehicles:", "profiles: [{id: 1, url: 'http://cam:UrlSecret55@127.0.0.1:99999/ev', "
                                      "auth: {type: basic, user: cam, password: [TopSecret99]}}]\nvehicles:", 1)
    result, _ = validate(tmp_path, text)
    assert result.returncode == 1 and "TopSecret99" not in result.stderr and "password must be text, got ***" in result.stderr
    result, _ = validate(tmp_path, text.replace("[TopSecret99]", "TopSecret99"))
    assert result.returncode == 1 and "UrlSecret55" not in result.stderr and "'http://cam:***@127.0.0.1:99999/ev'" in result.stderr
    odd = GOOD.replace("camera: {", "start: 0001-01-01T00:00:00\ncamera: {timezone: Europe, ", 1)
    result, _ = validate(tmp_path, odd)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "outside the years 1970 to 8999" in result.stderr and "unknown time zone 'Europe'" in result.stderr
