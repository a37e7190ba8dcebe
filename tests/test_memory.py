"""Memory grows with the vehicles present at once, not with the length of the run."""

import tracemalloc
from pathlib import Path

from ffsim.protocol import Camera
from ffsim.scenario import load_scenario

BUSY = Path(__file__).resolve().parents[1] / "scenarios" / "busy-road.yaml"


def peak_bytes(until_us: int) -> tuple[int, int]:
    scenario = load_scenario(BUSY)
    tracemalloc.start()
    try:
        count = 0
        for packet in Camera(scenario, scenario.start_us).packets(until_us):
            packet.payload.compact()
            count += 1
        return tracemalloc.get_traced_memory()[1], count
    finally:
        tracemalloc.stop()


def test_peak_memory_does_not_grow_with_the_run():
    short, short_count = peak_bytes(15 * 60 * 1_000_000)
    long, long_count = peak_bytes(3 * 3600 * 1_000_000)
    assert long_count > 10 * short_count
    # twelve times the events; a leak of even 20 bytes per event would add ~250 KB
    assert long < short + 256 * 1024, (short, long)
