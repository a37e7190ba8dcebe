"""Every bundled scenario, in every firmware generation, through `ffsim run` into `ffsim receive`:
the receiver counts every packet that `ffsim events` says will be sent, and finds no violation,
at full speed and at 20 times real time (where its Lost timing rule is checked).
"""

import json
import re
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from ffsim.vocabulary import GENERATIONS

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
RELIABLE = {"2024-lpv", "2024-cammra", "documented"}  # the firmware that sends Reliable events
UNTIL = "2m"  # busy-road's traffic never ends


def ffsim(*args, **kw):
    return subprocess.run([sys.executable, "-m", "ffsim", *map(str, args)], capture_output=True, text=True, **kw)


def as_generation(source: Path, firmware: str, folder: Path) -> Path:
    """The scenario with the camera's firmware set; where the firmware has it, every profile
    sends the Reliable event too."""
    data = yaml.safe_load(source.read_text())
    data.setdefault("camera", {})["firmware"] = firmware
    if firmware in RELIABLE:
        for profile in data.setdefault("profiles", [{"id": 1}]):
            profile["events"] = ["new", "update", "reliable", "lost"]
    target = folder / f"{firmware}-{source.name}"
    target.write_text(yaml.safe_dump(data, allow_unicode=True))
    return target


class ReceiveCommand:
    """`ffsim receive` on free loopback ports, stopped with Ctrl-C for its JSON summary."""

    def __init__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ffsim", "receive", "--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--quiet",
             "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.process.stderr.readline()  # "listening: HTTP http://127.0.0.1:P/, TCP 127.0.0.1:Q"
        found = re.search(r"HTTP (\S+), TCP (\S+)", line)
        assert found, line + self.process.stderr.read()
        self.http, self.tcp = found.group(1).rstrip(","), found.group(2)

    def stop(self) -> dict:
        self.process.send_signal(signal.SIGINT)
        out, err = self.process.communicate(timeout=60)
        assert self.process.returncode == 0, err
        return json.loads(out.strip().splitlines()[-1])


def expected_packets(path: Path, option: str, target: str) -> int:
    out = ffsim("events", path, option, target, "--until", UNTIL, check=True).stdout
    return len(out.splitlines())


def play_generation(firmware: str, speed: str, folder: Path) -> tuple[dict, int, list[str]]:
    receiver = ReceiveCommand()
    total, failures = 0, []
    try:
        for source in SCENARIOS:
            path = as_generation(source, firmware, folder)
            option, target = ("--tcp", receiver.tcp) if "protocol: tcp" in path.read_text() else (
                "--http", receiver.http + "listener.php")
            total += expected_packets(path, option, target)
            result = ffsim("run", path, option, target, "--speed", speed, "--until", UNTIL, "--quiet", "--json")
            if result.returncode != 0:
                failures.append(f"{path.name}: {result.stdout}{result.stderr}")
    finally:
        summary = receiver.stop()
    return summary, total, failures


@pytest.mark.parametrize("speed", ["max", "20"])
def test_every_scenario_in_every_generation_arrives_without_violations(tmp_path, speed):
    with ThreadPoolExecutor(len(GENERATIONS)) as pool:
        results = dict(zip(GENERATIONS, pool.map(lambda g: play_generation(g, speed, tmp_path), GENERATIONS)))
    for firmware, (summary, total, failures) in results.items():
        assert failures == [], firmware
        assert summary["packets"] == total, firmware
        assert summary["violations"] == 0, (firmware, summary)
