"""Every bundled scenario, in every firmware generation, sent by a camera into the built-in receiver:
the receiver counts every packet the camera says it will send (what `ffsim events` prints), and
finds no violation, at full speed and at 20 times real time (where its Lost timing rule is checked,
in busy-road: the one scenario long enough at that speed for it to infer the camera's clock rate).

In this process, through the library that `ffsim run` and `ffsim receive` drive (receivers as
`ffsim receive --http 127.0.0.1:0 --tcp 127.0.0.1:0` builds them), every generation at once. The
command lines are tested end to end in test_receiver.py and test_receive_cli.py.
"""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from ffsim import Run
from ffsim.protocol import Camera
from ffsim.receiver.server import Receiver
from ffsim.scenario import load_scenario
from ffsim.vocabulary import GENERATIONS

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
RELIABLE = {"2024-lpv", "2024-cammra", "documented"}  # the firmware that sends Reliable events
UNTIL, UNTIL_US = "2m", 120_000_000  # busy-road's traffic never ends


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


def expected_packets(path: Path, http: str | None, tcp: str | None) -> int:
    """How many packets `ffsim events FILE --http/--tcp TARGET --until 2m` prints."""
    scenario = load_scenario(path).retargeted(http, tcp)
    return sum(1 for _ in Camera(scenario, scenario.start_us).packets(UNTIL_US))


def play(paths: list[Path], speed: str | float) -> tuple[dict, int, list[str]]:
    """The scenarios one after the other into one receiver: its summary, the packets expected, and
    what went wrong sending them."""
    expected, failures = 0, []
    receiver = Receiver(http="127.0.0.1:0", tcp="127.0.0.1:0")  # the defaults of `ffsim receive`
    with receiver:
        for path in paths:
            tcp = "protocol: tcp" in path.read_text()
            http, target = (None, receiver.tcp_address) if tcp else (receiver.http_url + "listener.php", None)
            expected += expected_packets(path, http, target)
            summary = Run(path, http=http, tcp=target, speed=speed, until=UNTIL, keep_attempts=False).play()
            if not summary.delivered_all:
                failures.append(f"{path.name}: {summary.fatal or ''}\n{summary.table()}")
    # stopped: what was read is checked (a TCP document's last reads too), the open passages counted
    return receiver.summary(), expected, failures


@pytest.mark.parametrize("speed", ["max", 20])
def test_every_scenario_in_every_generation_arrives_without_violations(tmp_path, speed):
    generations = {firmware: [as_generation(source, firmware, tmp_path) for source in SCENARIOS]
                   for firmware in GENERATIONS}
    if speed == "max":  # the runs work: a receiver per generation, its scenarios one after the other
        groups = {firmware: paths for firmware, paths in generations.items()}
    else:  # the runs mostly wait: busy-road (6 s) to a receiver of its own, the others (5.5 s) to another
        groups = {}
        for firmware, paths in generations.items():
            groups[f"{firmware}-busy-road.yaml"] = [p for p in paths if p.name.endswith("busy-road.yaml")]
            groups[firmware] = [p for p in paths if not p.name.endswith("busy-road.yaml")]
    with ThreadPoolExecutor(len(groups)) as pool:
        results = dict(zip(groups, pool.map(lambda paths: play(paths, speed), groups.values())))
    for name, (summary, expected, failures) in results.items():
        assert failures == [], name
        assert summary["packets"] == expected, name
        assert summary["violations"] == 0, (name, summary)
    if speed != "max":
        # the receiver timed busy-road's Losts (in each generation as a rule; a machine under heavy
        # load can scatter one run's arrivals too much for its clock rate to be inferred)
        timing = {name: sender["lost_timing"] for name, (summary, _, _) in results.items()
                  if name.endswith("busy-road.yaml") for sender in summary["senders"].values()}
        assert len(timing) == len(GENERATIONS) and any(t["checked"] > 0 for t in timing.values()), timing
