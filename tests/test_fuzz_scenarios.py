"""A short seeded run of benchmarks/fuzz_scenarios.py: mutated scenarios through `ffsim validate` and
`ffsim events`, with no traceback, no run over 10 s and every rejection as FILE:LINE:COL: message.

The long run is on demand: python benchmarks/fuzz_scenarios.py --count 2000 --seed 1
"""

import importlib.util
import sys
from pathlib import Path

import pytest

from ffsim.scenario import yamlsource

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def fuzzer():
    spec = importlib.util.spec_from_file_location("fuzz_scenarios", ROOT / "benchmarks" / "fuzz_scenarios.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("fuzz_scenarios", module)
    spec.loader.exec_module(module)
    return module


def test_mutated_scenarios_give_problems_with_positions_and_nothing_else(fuzzer):
    summary = fuzzer.fuzz(300, seed=8, large_share=0.01)
    assert summary.defect_count == 0, fuzzer.report(summary, 8)
    assert summary.count == 300 and summary.accepted >= 20 and summary.rejected >= 50, fuzzer.report(summary, 8)
    assert summary.events_ok == summary.accepted
    assert summary.seconds < 60, fuzzer.report(summary, 8)


def test_with_pyyaml_s_own_parser_too(fuzzer, monkeypatch):
    monkeypatch.setattr(yamlsource, "_CParser", None)
    summary = fuzzer.fuzz(60, seed=9, large_share=0.0)
    assert summary.defect_count == 0, fuzzer.report(summary, 9)


def test_the_fuzzer_finds_what_it_looks_for(fuzzer, tmp_path, monkeypatch):
    """A traceback, a rejection without a position and a slow run are each counted as a defect."""
    summary = fuzzer.Summary()

    def boom(*args, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr("ffsim.cli.load_scenario", boom)
    fuzzer.run_case(summary, 0, b"version: 1\n", "crash", tmp_path, None)
    assert summary.defects[fuzzer.TRACEBACK] == 1
    monkeypatch.undo()

    summary = fuzzer.Summary()
    run = fuzzer.Run(1, 0.1, b"", "somewhere: no position\n")
    monkeypatch.setattr(fuzzer, "run_cli", lambda args: run)
    fuzzer.run_case(summary, 1, b"version: 1\n", "unlocated", tmp_path, None)
    assert summary.defects[fuzzer.NOT_LOCATED] == 1

    summary = fuzzer.Summary()
    slow = fuzzer.Run(1, fuzzer.SLOW_S + 1, b"", f"{tmp_path / 'case-2.yaml'}:1:1: slow\n")
    monkeypatch.setattr(fuzzer, "run_cli", lambda args: slow)
    fuzzer.run_case(summary, 2, b"version: 1\n", "slow", tmp_path, None)
    assert summary.defects[fuzzer.SLOW] == 1 and summary.defect_count == 1
