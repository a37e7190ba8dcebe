"""A short seeded run of benchmarks/fuzz_scenarios.py: mutated scenarios through `ffsim validate` and
`ffsim events`, with no traceback, no run over 10 s and every rejection as FILE:LINE:COL: message.

The long run is on demand: python benchmarks/fuzz_scenarios.py --count 2000 --seed 1, or the
thorough profile (FFSIM_HYPOTHESIS_PROFILE=thorough, tests/conftest.py), which runs ten times the cases.
"""

import gc
import importlib.util
import os
import sys
from pathlib import Path

import pytest

from ffsim.scenario import yamlsource

ROOT = Path(__file__).resolve().parents[1]
SCALE = 10 if os.environ.get("FFSIM_HYPOTHESIS_PROFILE") == "thorough" else 1


@pytest.fixture(scope="module")
def fuzzer():
    spec = importlib.util.spec_from_file_location("fuzz_scenarios", ROOT / "benchmarks" / "fuzz_scenarios.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("fuzz_scenarios", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def frozen_heap():
    """The fuzzer collects garbage after each case (a file left open on the stand-in of standard
    output is written then, not into the next case's), and a full collection walks every object
    the test process holds: 30 ms a case once the suite's other tests have run. What was there
    before the fuzzer started is frozen: left out of the collections, which see the fuzzer's."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


def test_mutated_scenarios_give_problems_with_positions_and_nothing_else(fuzzer, frozen_heap):
    count = 300 * SCALE
    summary = fuzzer.fuzz(count, seed=8, large_share=0.01)
    assert summary.defect_count == 0, fuzzer.report(summary, 8)
    assert summary.count == count and summary.accepted >= 20 and summary.rejected >= 50, fuzzer.report(summary, 8)
    assert summary.events_ok == summary.accepted
    assert summary.seconds < 60 * SCALE, fuzzer.report(summary, 8)


def test_with_pyyaml_s_own_parser_too(fuzzer, monkeypatch, frozen_heap):
    monkeypatch.setattr(yamlsource, "_CParser", None)
    summary = fuzzer.fuzz(60 * SCALE, seed=9, large_share=0.0)
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
