#!/usr/bin/env python3
"""Fuzz `ffsim validate` and `ffsim events` with mutated scenarios (issue 8).

Each case is one of the bundled scenarios (scenarios/*.yaml and the demo's) with one to three
mutations: byte and bit flips, inserted and deleted bytes, lines deleted, duplicated, swapped,
re-indented or cut short, other line endings, values replaced with hostile ones (huge, negative,
NaN and infinite numbers, long texts, control and bidi characters, CR/LF, nested structures,
wrong types), keys of the format added with hostile values, YAML tags, anchors and aliases (alias
bombs included), directives and extra documents; a few cases are large (near the file and node
limits, deep nesting). Every case runs `ffsim validate`, in this process through the CLI's main;
an accepted one then runs `ffsim events --until 1m` (sometimes with --http, --tcp or
--payload-only).

A defect is: a traceback (any exception out of the CLI), a run over 10 s, a rejection line that is
not `FILE:LINE:COL: message`, an exit code other than 0 or 1, a control or bidi character printed
to the terminal, an accepted scenario that `events` refuses, or an `events` line that is not JSON.

    python benchmarks/fuzz_scenarios.py --count 2000 --seed 1        # the long run
    python benchmarks/fuzz_scenarios.py --count 150 --seed 8         # what CI runs (tests/test_fuzz_scenarios.py)
    python benchmarks/fuzz_scenarios.py --count 200 --keep /tmp/fz   # keep each defect's file to replay it
    python benchmarks/fuzz_scenarios.py --no-libyaml                 # PyYAML's own parser, not libyaml

Exit status 1 when any case found a defect. A case is reproducible from --seed and its number:
case N of a run uses random.Random(f"{seed}/{N}").
"""

from __future__ import annotations

import argparse
import codecs
import gc
import io
import json
import random
import re
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from ffsim.cli import main as ffsim_main  # noqa: E402
from ffsim.scenario import schema as S  # noqa: E402
from ffsim.scenario import yamlsource  # noqa: E402
from ffsim.scenario.yamlsource import load  # noqa: E402

SOURCES = sorted((ROOT / "scenarios").glob("*.yaml")) + [ROOT / "ffsim" / "demo.yaml"]
SLOW_S = 10.0  # a run longer than this is a defect
HANG_S = 120.0  # a run still going after this is stopped (and is a defect)
SLOW = f"slow (>{SLOW_S:g} s)"
TRACEBACK = "traceback"
NOT_LOCATED = "rejection not FILE:LINE:COL: message"
UNTIL = "1m"
JSON_LINES_CHECKED = 5000

# -- hostile values -------------------------------------------------------------------------------

HOSTILE_DATA: list = [
    0, -1, -0.0, 1, 2, 3, 5.0, 0.5, -0.5, 1e-300, 5e-324, 1e300, -1e300, 1.7976931348623157e308,
    float("nan"), float("inf"), float("-inf"), 10**30, -(10**30), 2**63, 2**64 + 1, 10**4299, -(10**4299),
    True, False, None, "", " ", "0", "1e999", "NaN", "-1s", "0s", "0ms", "1e300s", "87601h", "99999999999999999999h",
    ".5s", "1.5.5s", "5 s", "10/h", "0/h", "-5/h", "1e9/s", "100/s", "0.0000001/h", "x" * 33, "A" * 10_000,
    "Ř" * 40, "🚗" * 8, "\u202eevil", "a\u2066b\u2069", "\u200b", "\ufeff", "a\x00b", "\x1b[2J\x1b]0;pwn\x07",
    "line\r\nX-Evil: 1", "cr\r", "tab\there", "\ud800", "\udfff x", 'quote"q', "back\\slash", "{name}\"x",
    "http://127.0.0.1:1/x", "http://[::1", "http://a b/", "http://h/\r\nX: 1", "http://user:pw@h:99999/",
    "ftp://h/", "https://ř.example/", "127.0.0.1:99999", "h:²", "tcp://:1", "Europe/Nowhere", "../../../..",
    "/dev/zero", "/proc/self", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59+14:00", "1969-12-31T23:59:59Z",
    "2026-02-30T00:00:00", "2026-11-24T00:00:00+99:00", "now", "CZE", "XXX", "cze", "seeded", "1.0", "1e-9",
    [], {}, [[]], [{}], [1], [1, 2, 3], [0, 0], [-1, -1], [1e308, 1e308], [float("nan"), 1], ["a", "b"],
    [10**30, 10**30], [[0, 0], [0, 0], [0, 0]], [[1, 1]] * 3, {"a": 1}, {"in": -1}, {"CZE": float("inf")},
    {"substitution": 2}, {"type": "basic"}, {"value": "x"}, {"at": [1, 1], "wait": "1e300s"},
    list(range(1000)), [[[[[[[[[[1]]]]]]]]]],
]
# as written in a YAML file (in a flow or block position): what safe_dump would not write
HOSTILE_TEXT = [
    ".nan", ".NaN", ".inf", "-.inf", "+.inf", "1e309", "-1e309", "0x" + "f" * 200, "0o777777777777777777777",
    "9" * 5000, "-" + "9" * 4301, "0x", "1_000", "0b101", "1:30", "017", "+1", "~", "null", "yes", "NO", "on",
    "!!int 0x", "!!float x", "!!int 1.5", "!!bool yes", "!!null x", "!!str 5", "!!int 5", "!!binary aGVsbG8=",
    "!!timestamp 2001-12-14", "!!set {a, b}", "!!omap [a: 1]", "!!pairs [a: 1]",
    "!!python/object/apply:os.system [echo hi]",
    "!!python/name:os.system", "!foo bar", "!<tag:yaml.org,2002:int> 5", "!<!> x", "! 12", "!!merge <<",
    "*undefined", "&a", "&a &b x", "'\\u0000'", '"\\u0000"', '"\\x1b[2J"', '"\\ud800"', '"\\U0010ffff"',
    '"\\U00110000"', '"\\N\\_\\L\\P"', '"\\e]0;title\\a"', '"a\\r\\nX-Evil: 1"', '"\\u202eevil"', "'it''s'",
    "[" * 200 + "]" * 200, "{a: " * 150 + "1" + "}" * 150, "[" * 2000, "{", "}", "]", "[1, 2", "{a: 1, a: 2}",
    "{<<: {a: 1}}", "{<<: [*undefined]}", "{<<: 5}", "{<<: [5]}", "{[1]: 2}", "{? [1] : 2}", "{1: 2}",
    "{null: 1}", "{true: 1}", "|\n  block\n  text", ">-\n  folded", "|-", "? complex", "- nested\n- list",
    "--- \n", "...", "%YAML 1.1", "%TAG ! tag:evil.com,2000:", "'" + "x" * 100_000 + "'", "@reserved", "`tick",
]
TAGS = ["!!int ", "!!float ", "!!str ", "!!bool ", "!!null ", "!!seq ", "!!map ", "!!binary ", "!!timestamp ",
        "!!set ", "!!omap ", "!!python/object:os.system ", "!!python/tuple ", "!custom ", "! ", "!!merge ",
        "!<tag:yaml.org,2002:str> ", "!!value "]
INSERTED_BYTES = [b"\x00", b"\x01", b"\x1b", b"\x7f", b"\x85", b"\xa0", b"\t", b"\r", b"\n", b"\r\n", b" ",
                  b"\xef\xbb\xbf", b"\xe2\x80\xae", b"\xe2\x81\xa6", b"\xe2\x80\xa8", b"\xed\xa0\x80", b"\xff",
                  b"\xc3", b"\xf4\x90\x80\x80", b"&a ", b"*a", b"!!", b"<<: ", b"{", b"[", b"'", b'"', b"#",
                  b"- ", b": ", b"---\n", b"%", b"@", b"|", b">", b"?", b"\\", b"\\u"]


def _schema_keys(schema, out: set) -> set:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "properties" and isinstance(value, dict):
                out.update(value)
            _schema_keys(value, out)
    elif isinstance(schema, list):
        for item in schema:
            _schema_keys(item, out)
    return out


KEYS = sorted(_schema_keys(S.SCENARIO, set())) + ["<<", "unknown_key", "Version", "zones ", "x" * 100]

# -- mutations -------------------------------------------------------------------------------------

_VALUE = re.compile(r"(?<=: )[^\s,\[\]{}#&*!|>'\"][^,\[\]{}\n#]*|(?<=[\[,] )[^\s,\[\]{}#][^,\[\]{}\n#]*")


def hostile_text(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(HOSTILE_TEXT)
    value = rng.choice(HOSTILE_DATA)
    try:
        return json.dumps(value, ensure_ascii=rng.random() < 0.5)
    except (ValueError, TypeError):
        return repr(value)


def _lines(text: str) -> list[str]:
    return text.split("\n")


def m_flip_byte(rng, data: bytes) -> tuple[bytes, str]:
    if not data:
        return data, "flip (empty)"
    i = rng.randrange(len(data))
    return data[:i] + bytes([rng.randrange(256)]) + data[i + 1:], f"flip byte {i}"


def m_flip_bit(rng, data: bytes) -> tuple[bytes, str]:
    if not data:
        return data, "bit (empty)"
    i = rng.randrange(len(data))
    return data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1:], f"flip a bit of byte {i}"


def m_insert_bytes(rng, data: bytes) -> tuple[bytes, str]:
    i = rng.randrange(len(data) + 1)
    if rng.random() < 0.7:
        piece = rng.choice(INSERTED_BYTES)
    else:
        piece = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    return data[:i] + piece * rng.choice([1, 1, 1, 2, 50]) + data[i:], f"insert {piece!r} at {i}"


def m_delete_span(rng, data: bytes) -> tuple[bytes, str]:
    if not data:
        return data, "delete (empty)"
    i = rng.randrange(len(data))
    n = rng.randint(1, 40)
    return data[:i] + data[i + n:], f"delete {n} bytes at {i}"


def m_lines(rng, text: str) -> tuple[str, str]:
    lines = _lines(text)
    i = rng.randrange(len(lines))
    op = rng.choice(["delete", "duplicate", "swap", "indent", "dedent", "truncate", "move", "repeat"])
    if op == "delete":
        del lines[i]
    elif op == "duplicate":
        lines.insert(i, lines[i])
    elif op == "swap":
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    elif op == "indent":
        lines[i] = " " * rng.choice([1, 2, 4]) + lines[i]
    elif op == "dedent":
        lines[i] = lines[i].lstrip()
    elif op == "truncate":
        lines = lines[:i]
    elif op == "move":
        lines.insert(rng.randrange(len(lines) + 1), lines.pop(i))
    else:
        lines[i + 1:i + 1] = [lines[i]] * rng.choice([10, 1000])
    return "\n".join(lines), f"{op} line {i + 1}"


def m_line_endings(rng, text: str) -> tuple[str, str]:
    ending = rng.choice(["\r\n", "\r", "\x85", "\u2028", "\n\n"])
    return text.replace("\n", ending), f"line endings {ending!r}"


def m_replace_value(rng, text: str) -> tuple[str, str]:
    spans = [m.span() for m in _VALUE.finditer(text)]
    if not spans:
        return text, "replace (no value)"
    a, b = rng.choice(spans)
    new = hostile_text(rng)
    return text[:a] + new + text[b:], f"replace {text[a:b][:40]!r} with {new[:60]!r}"


def m_insert_key(rng, text: str) -> tuple[str, str]:
    lines = _lines(text)
    key = rng.choice(KEYS)
    value = hostile_text(rng)
    i = rng.randrange(len(lines) + 1)
    following = lines[i] if i < len(lines) else ""
    indent = following[: len(following) - len(following.lstrip(" -"))].replace("-", " ")
    lines.insert(i, f"{indent}{key}: {value}")
    return "\n".join(lines), f"insert {key}: {value[:60]!r} at line {i + 1}"


def m_tag(rng, text: str) -> tuple[str, str]:
    spans = [m.span() for m in _VALUE.finditer(text)]
    if not spans:
        return text, "tag (no value)"
    a, _ = rng.choice(spans)
    tag = rng.choice(TAGS)
    return text[:a] + tag + text[a:], f"tag {tag!r} at {a}"


def m_alias(rng, text: str) -> tuple[str, str]:
    spans = [m.span() for m in _VALUE.finditer(text)]
    if len(spans) < 2:
        return text, "alias (no value)"
    (a, b), (c, d) = sorted(rng.sample(spans, 2))
    if rng.random() < 0.5:  # anchor the later value, alias it before it is defined
        return text[:a] + "*x" + text[b:c] + "&x " + text[c:], "alias before its anchor"
    return text[:a] + "&x " + text[a:c] + "*x" + text[d:], f"anchor {text[a:b][:30]!r}, alias it"


def bomb(rng) -> str:
    width, depth = rng.choice([(9, 9), (10, 8), (2, 40), (50, 4), (1000, 3)])
    lines = ["b0: &b0 [" + ", ".join(["x"] * width) + "]"]
    for level in range(1, depth):
        lines.append(f"b{level}: &b{level} [" + ", ".join([f"*b{level - 1}"] * width) + "]")
    return "\n".join(lines)


def merge_bomb(rng) -> str:
    lines = ["m0: &m0 {" + ", ".join(f"k{i}: {i}" for i in range(50)) + "}"]
    for level in range(1, rng.choice([5, 20])):
        lines.append(f"m{level}: &m{level} {{<<: [" + ", ".join([f"*m{level - 1}"] * 20) + "], own: 1}")
    return "\n".join(lines)


def m_snippet(rng, text: str) -> tuple[str, str]:
    kind = rng.choice(["bomb", "merge bomb", "deep list", "deep map", "deep block", "documents", "directive",
                       "recursive", "many aliases", "anchors twice"])
    if kind == "bomb":
        snippet = bomb(rng)
    elif kind == "merge bomb":
        snippet = merge_bomb(rng)
    elif kind == "deep list":
        n = rng.choice([99, 100, 101, 1000, 100_000])
        snippet = "deep: " + "[" * n + "]" * n
    elif kind == "deep map":
        n = rng.choice([98, 99, 100, 5000])
        snippet = "deep: " + "{a: " * n + "1" + "}" * n
    elif kind == "deep block":
        snippet = "deep:\n" + "".join(" " * (i + 1) + "- \n" for i in range(rng.choice([99, 101, 3000])))
    elif kind == "documents":
        snippet = "---\nversion: 1\n---\n"
    elif kind == "directive":
        return rng.choice(["%YAML 1.1\n---\n", "%YAML 2.0\n---\n", "%TAG !e! tag:e.com,2000:\n---\n"]) + text, kind
    elif kind == "recursive":
        snippet = "loop: &loop [1, *loop]" if rng.random() < 0.5 else "loop: &loop {a: *loop}"
    elif kind == "many aliases":
        snippet = "one: &one {plate: A, path: [[1, 1]]}\nmany: [" + ", ".join(["*one"] * 50_000) + "]"
    else:
        snippet = "a: &x 1\nb: &x 2\nc: *x"
    if rng.random() < 0.5:
        return text.rstrip("\n") + "\n" + snippet + "\n", kind
    return snippet + "\n" + text, kind


# -- mutations of the data, written back as YAML --------------------------------------------------

def _paths(value, path=()) -> list:
    out = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            out += _paths(child, path + (key,))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            out += _paths(child, path + (i,))
    return out


def _reaches(value, target) -> bool:
    if value is target:
        return True
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return any(_reaches(child, target) for child in children)


def _get(value, path):
    for part in path:
        value = value[part]
    return value


EDGE_NUMBERS = [0, 1, -1, 0.01, 0.0101, 1e-9, 1e-300, 0.5, 0.999999, 1.0, 1.000001, 15, 16, 16384, 16385, 100,
                120, 360, 359.999, 1000, 65535, 1e6, 1e300, 10**30, 2**31, 2**63, -90, 90, 180, -180, -0.0]
EDGE_TEXTS = ["", "A", "Z" * 32, "Z" * 33, "Ř" * 32, "京" * 10, "5SX2207", "  ", "a-b", "0", "00", "1.5", "10ms",
              "0.4ms", "999ms", "1s", "24h", "87600h", "87600.0001h", "100/s", "100.1/s", "1/h", "0.0001/h",
              "UTC", "Europe/Prague", "Etc/GMT+14", "2026-11-24T00:00:00Z", "1970-01-01T00:00:00Z",
              "9999-12-31T23:59:59Z", "http://127.0.0.1:9/x", "127.0.0.1:9", "e\u0301", "\u00e9"]


def edge_value(rng, old):
    if isinstance(old, bool):
        return not old
    if isinstance(old, (int, float)):
        value = rng.choice(EDGE_NUMBERS)
        return -value if rng.random() < 0.2 else value
    if isinstance(old, str):
        return rng.choice(EDGE_TEXTS) if rng.random() < 0.8 else old * rng.choice([2, 10, 1000])
    if isinstance(old, list):
        return old[: rng.randrange(len(old) + 1)] if old and rng.random() < 0.5 else old + old[:1] * rng.choice([1, 5])
    if isinstance(old, dict):
        return {k: v for k, v in old.items() if rng.random() < 0.7}
    return old


def m_edge(rng, text: str) -> tuple[str, str]:
    """One value replaced with one of its own type: mostly accepted, so that `events` runs on it."""
    return m_data(rng, text, ["edge"])


def m_data(rng, text: str, ops: list | None = None) -> tuple[str, str]:
    try:
        data = load(text).data
    except Exception:  # noqa: BLE001 - YamlProblem, or whatever a broken loader raises: the case is still run
        return text, "data (not loadable)"
    if not isinstance(data, (dict, list)):
        return text, "data (a scalar)"
    done = []
    for _ in range(1 if ops else rng.randint(1, 3)):
        paths = _paths(data)
        path = rng.choice(paths)
        op = rng.choice(ops or ["replace", "replace", "edge", "edge", "edge", "insert", "delete", "duplicate",
                                "share", "wrap"])
        if op == "replace" and path:
            parent = _get(data, path[:-1])
            parent[path[-1]] = rng.choice(HOSTILE_DATA)
        elif op == "edge" and path:  # a value of the same type: what gets past the schema to the checks
            parent = _get(data, path[:-1])
            parent[path[-1]] = edge_value(rng, parent[path[-1]])
        elif op == "insert":
            maps = [p for p in paths if isinstance(_get(data, p), dict)]
            target = _get(data, rng.choice(maps)) if maps else None
            if target is not None:
                target[rng.choice(KEYS)] = rng.choice(HOSTILE_DATA)
        elif op == "delete" and path:
            parent = _get(data, path[:-1])
            del parent[path[-1]]
        elif op == "duplicate" and path and isinstance(path[-1], int):
            parent = _get(data, path[:-1])
            parent[path[-1]:path[-1]] = [parent[path[-1]]] * rng.choice([1, 2, 100])
        elif op == "share" and path:  # the same object twice: safe_dump writes an anchor and an alias
            parent = _get(data, path[:-1])
            containers = [p for p in paths if isinstance(_get(data, p), (dict, list))
                          and not _reaches(_get(data, p), parent)]  # no loops: safe_dump cannot write them
            if containers:
                parent[path[-1]] = _get(data, rng.choice(containers))
        elif op == "wrap" and path:
            parent = _get(data, path[:-1])
            parent[path[-1]] = [parent[path[-1]]] if rng.random() < 0.5 else {"at": parent[path[-1]]}
        done.append(f"{op} {'.'.join(map(str, path))[:60]}")
    try:
        dumped = yaml.safe_dump(data, sort_keys=False, allow_unicode=rng.random() < 0.5,
                                default_flow_style=rng.choice([None, False, True]), width=rng.choice([80, 10**6]))
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        return text, f"data (not dumpable: {type(exc).__name__})"
    return dumped, "data: " + "; ".join(done)


# -- large cases ----------------------------------------------------------------------------------

GOOD = """\
version: 1
camera: {resolution: [1920, 1080], fps: 10}
zones:
  - {id: 1, polygon: [[0, 300], [1920, 300], [1920, 1080], [0, 1080]], direction: 180}
vehicles:
"""
VEHICLE = "  - plate: 5SX%04d\n    at: %ds\n    path: [[960, 320], [960, 1060]]\n    duration: 4s\n"


def large(rng) -> tuple[bytes, str]:
    kind = rng.choice(["10 MB of vehicles", "15,000 vehicles", "10 MB flat list", "10 MB comment", "10 MB string",
                       "deep nesting 100,000", "10 MB one line", "250,000 values"])
    if kind == "10 MB of vehicles":
        body = GOOD + "".join(VEHICLE % (i % 10_000, i) for i in range(110_000))
    elif kind == "15,000 vehicles":
        body = GOOD + "".join(VEHICLE % (i % 10_000, i) for i in range(15_000))
    elif kind == "10 MB flat list":
        body = GOOD + "  - {plate: A, path: [[1, 1]]}\nextra: [" + "1," * 4_950_000 + "1]\n"
    elif kind == "10 MB comment":
        body = GOOD + "  - {plate: A, path: [[1, 1]]}\n" + "# " + "x" * 9_900_000 + "\n"
    elif kind == "10 MB string":
        body = GOOD + "  - {plate: A, path: [[1, 1]], brand: '" + "x" * 9_900_000 + "'}\n"
    elif kind == "deep nesting 100,000":
        body = GOOD + "  - {plate: A, path: [[1, 1]]}\ndeep: " + "[" * 100_000 + "]" * 100_000 + "\n"
    elif kind == "10 MB one line":
        body = GOOD + "  - {plate: A, path: [[1, 1]]}\nlists: {allow: [" + "AB, " * 2_400_000 + "AB]}\n"
    else:
        body = GOOD + "  - plate: A\n    duration: 4s\n    path: [" + "{at: [1, 2], wait: 1s}, " * 35_000 + "[3, 3]]\n"
    return body.encode(), f"large: {kind} ({len(body)} bytes)"


# -- one case -------------------------------------------------------------------------------------

TEXT_MUTATIONS = [m_lines, m_line_endings, m_replace_value, m_replace_value, m_insert_key, m_insert_key, m_tag,
                  m_alias, m_snippet, m_data, m_data, m_data]
BYTE_MUTATIONS = [m_flip_byte, m_flip_bit, m_insert_bytes, m_delete_span]


def _lone_surrogates(error: UnicodeEncodeError):
    """Bytes decoded with surrogateescape get their bytes back; any other lone surrogate (from a
    mutated value) is written as CESU-8 would, which is not UTF-8: both are inputs to try."""
    chars = error.object[error.start:error.end]
    out = b"".join(bytes([ord(c) - 0xDC00]) if 0xDC80 <= ord(c) <= 0xDCFF else c.encode("utf-8", "surrogatepass")
                   for c in chars)
    return out, error.end


codecs.register_error("fuzz", _lone_surrogates)


def make_case(seed: int, number: int, large_share: float) -> tuple[bytes, str]:
    rng = random.Random(f"{seed}/{number}")
    if rng.random() < large_share:
        return large(rng)
    source = rng.choice(SOURCES)
    data = source.read_bytes()
    steps = [source.name]
    if rng.random() < 0.35:
        text, what = m_edge(rng, data.decode())
        return text.encode("utf-8", "fuzz"), f"{source.name} | {what}"
    for _ in range(rng.choice([1, 1, 2, 2, 3])):
        mutation = rng.choice(TEXT_MUTATIONS + BYTE_MUTATIONS)
        if mutation in BYTE_MUTATIONS:
            data, what = mutation(rng, data)
        else:
            text = data.decode("utf-8", "surrogateescape")
            text, what = mutation(rng, text)
            data = text.encode("utf-8", "fuzz")
        steps.append(what)
    return data, " | ".join(steps)


@dataclass
class Run:
    code: object  # exit status, or "traceback" / "hang"
    seconds: float
    stdout: bytes
    stderr: str
    error: str = ""  # the traceback


class _Hang(BaseException):
    pass


def _on_alarm(signum, frame):
    raise _Hang()


def run_cli(args: list[str], stdout_limit: int = 1 << 20) -> Run:
    """ffsim ARGS in this process, as the command line runs it: its output, exit status and time."""
    saved = sys.stdout, sys.stderr
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout = io.TextIOWrapper(out, encoding="utf-8", errors="backslashreplace", write_through=True)
        sys.stderr = io.TextIOWrapper(err, encoding="utf-8", errors="backslashreplace", write_through=True)
        old = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, HANG_S)
        code: object = 0
        error = ""
        t0 = time.perf_counter()
        try:
            ffsim_main.main(args=args, prog_name="ffsim", standalone_mode=True)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except _Hang:
            code, error = "hang", f"stopped after {HANG_S} s"
        except BaseException:  # noqa: B902 - anything else out of the CLI is what we look for
            code, error = "traceback", traceback.format_exc()
        finally:
            seconds = time.perf_counter() - t0
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
            gc.collect()  # a file object left open on fd 1's stand-in writes now, not into a later file
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass
                stream.detach()
            sys.stdout, sys.stderr = saved
        out.seek(0)
        stdout = out.read(stdout_limit)
        err.seek(0)
        stderr = err.read(1 << 20).decode("utf-8", "backslashreplace")
    return Run(code, seconds, stdout, stderr, error)


# what must never reach the terminal: C0 controls but newline, DEL, C1 and bidi/format characters
_UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


@dataclass
class Summary:
    count: int = 0
    accepted: int = 0
    rejected: int = 0
    events_ok: int = 0
    seconds: float = 0.0
    defects: Counter = field(default_factory=Counter)
    slow_once: int = 0  # runs over SLOW_S that took less when run again
    examples: list = field(default_factory=list)  # (case number, kind, description, detail)
    slowest: tuple = (0.0, None, "")  # seconds, case, what

    @property
    def defect_count(self) -> int:
        return sum(self.defects.values())

    def defect(self, number: int, kind: str, what: str, detail: str) -> None:
        self.defects[kind] += 1
        if len(self.examples) < 50:
            self.examples.append((number, kind, what, detail[-3000:]))

    def timed(self, seconds: float, number: int, what: str) -> None:
        if seconds > self.slowest[0]:
            self.slowest = (seconds, number, what)


def timed_run(summary: Summary, args: list[str]) -> Run:
    """run_cli(args); a run over SLOW_S is run again, and counts as slow only if it is slow again
    (on a shared machine a run can stall for seconds while others work)."""
    run = run_cli(args)
    if run.code != "hang" and run.seconds > SLOW_S:
        again = run_cli(args)
        if again.seconds <= SLOW_S:
            summary.slow_once += 1
            return again
    return run


def check_run(summary: Summary, number: int, what: str, command: str, run: Run) -> bool:
    """Record run's defects common to every command; True when there were none."""
    summary.timed(run.seconds, number, f"{command}: {what}")
    clean = True
    if run.code == "traceback":
        summary.defect(number, TRACEBACK, what, f"{command}\n{run.error}")
        clean = False
    elif run.code == "hang" or run.seconds > SLOW_S:
        summary.defect(number, SLOW, what, f"{command}: {run.seconds:.1f} s")
        clean = False
    elif run.code not in (0, 1):
        summary.defect(number, "exit status not 0 or 1", what, f"{command}: exit {run.code}\n{run.stderr[-1000:]}")
        clean = False
    if "Traceback (most recent call last)" in run.stderr:
        summary.defect(number, TRACEBACK, what, f"{command}\n{run.stderr}")
        clean = False
    if _UNSAFE.search(run.stderr):
        summary.defect(number, "control character on the terminal", what,
                       f"{command}: {_UNSAFE.search(run.stderr).group()!r} in {run.stderr[:500]!r}")
        clean = False
    return clean


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def json_problem(output: bytes, documents: bool) -> str | None:
    """Why output is not JSON lines (or, with documents, a series of JSON documents), else None.

    Only what was read is checked (a last line or document cut short at the read limit is dropped)."""
    text = output.decode("utf-8", "strict" if len(output) < (1 << 20) else "ignore")
    if len(output) >= (1 << 20):
        text = text[: text.rfind("\n") + 1]
    decoder = json.JSONDecoder(parse_constant=_no_constant)
    if not documents:
        for line in text.split("\n")[:JSON_LINES_CHECKED]:  # not splitlines(): U+2028 may be in a JSON string
            if not line:
                continue
            try:
                decoder.decode(line)
            except ValueError as exc:
                return f"{exc}: {line[:300]!r}"
        return None
    position, seen = 0, 0
    while seen < JSON_LINES_CHECKED:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return None
        try:
            _, position = decoder.raw_decode(text, position)
        except ValueError as exc:
            if len(output) >= (1 << 20):  # the read limit cut the last document
                return None
            return f"{exc}: {text[position:position + 300]!r}"
        seen += 1
    return None


def run_case(summary: Summary, number: int, data: bytes, what: str, folder: Path, keep: Path | None) -> None:
    path = folder / f"case-{number}.yaml"
    path.write_bytes(data)
    before = summary.defect_count
    summary.count += 1
    result = timed_run(summary, ["validate", str(path)])
    if check_run(summary, number, what, "validate", result):
        if result.code == 0:
            summary.accepted += 1
            if result.stdout.decode("utf-8", "replace") != f"{path}: ok\n":
                summary.defect(number, "validate: unexpected output", what, repr(result.stdout[:300]))
        else:
            summary.rejected += 1
            lines = result.stderr.splitlines()
            form = re.compile(rf"{re.escape(str(path))}:[1-9][0-9]*:[1-9][0-9]*: \S")
            bad = [line for line in lines if not form.match(line)]
            if not lines or bad:
                summary.defect(number, NOT_LOCATED, what,
                               (bad or ["(nothing on stderr)"])[0][:500])
    if result.code == 0:
        rng = random.Random(f"events/{number}")
        extra = rng.choice([[], [], [], ["--payload-only"], ["--http", "http://127.0.0.1:9/ev"],
                            ["--tcp", "127.0.0.1:9"]])
        command = ["events", str(path), "--until", UNTIL, *extra]
        events = timed_run(summary, command)
        shown = "ffsim " + " ".join(command[:1] + ["FILE"] + command[2:])
        if check_run(summary, number, what, shown, events):
            if events.code != 0:
                summary.defect(number, "events refused what validate accepted", what,
                               f"{shown}: exit {events.code}\n{events.stderr[-1500:]}")
            else:
                summary.events_ok += 1
                problem = json_problem(events.stdout, "--payload-only" in extra)
                if problem:
                    summary.defect(number, "events output not JSON", what, f"{shown}: {problem}")
    if keep is not None and summary.defect_count > before:
        keep.mkdir(parents=True, exist_ok=True)
        (keep / path.name).write_bytes(data)
    path.unlink()


def fuzz(count: int, seed: int, large_share: float = 0.01, keep: Path | None = None, progress=None) -> Summary:
    summary = Summary()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ffsim-fuzz-") as tmp:
        for number in range(count):
            data, what = make_case(seed, number, large_share)
            run_case(summary, number, data, what, Path(tmp), keep)
            if progress and (number + 1) % 100 == 0:
                progress(f"{number + 1}/{count} cases, {summary.defect_count} defect(s), "
                         f"{time.perf_counter() - t0:.0f} s")
    summary.seconds = time.perf_counter() - t0
    return summary


def report(summary: Summary, seed: int) -> str:
    other = summary.defect_count - summary.defects[TRACEBACK] - summary.defects[SLOW] - summary.defects[NOT_LOCATED]
    lines = [
        f"{summary.count} mutated scenarios (seed {seed}) in {summary.seconds:.1f} s: {summary.accepted} accepted "
        f"(then `events` on each: {summary.events_ok} ok), {summary.rejected} rejected",
        f"defects: tracebacks {summary.defects[TRACEBACK]}, {SLOW} {summary.defects[SLOW]}, rejections not "
        f"FILE:LINE:COL {summary.defects[NOT_LOCATED]}, other {other}",
        f"slowest run: {summary.slowest[0]:.2f} s (case {summary.slowest[1]}: {summary.slowest[2][:150]})",
    ]
    if summary.slow_once:
        lines.append(f"runs over {SLOW_S:g} s once and not when run again (a busy machine): {summary.slow_once}")
    for kind, n in sorted(summary.defects.items()):
        lines.append(f"  {kind}: {n}")
    for number, kind, what, detail in summary.examples[:20]:
        lines.append(f"--- case {number}: {kind}\n    {what[:300]}\n    {detail[-1500:]}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="cases to run (default 2000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--large", type=float, default=0.01, help="share of large cases (default 0.01)")
    parser.add_argument("--keep", type=Path, help="write the file of each case with a defect here")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--no-libyaml", action="store_true", help="parse with PyYAML's own parser, as where "
                                                                  "PyYAML was built without libyaml")
    args = parser.parse_args()
    if args.no_libyaml:
        yamlsource._CParser = None
    progress = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    summary = fuzz(args.count, args.seed, args.large, args.keep, progress)
    print(report(summary, args.seed))
    return 1 if summary.defect_count else 0


if __name__ == "__main__":
    sys.exit(main())
