"""Settings shared by the whole suite: the hypothesis profiles.

FFSIM_HYPOTHESIS_PROFILE chooses one:

* ci (the default): derandomized, so every run (and every CI run) tries the same examples and a
  failure is reproducible from the test's name alone; no example database; a modest number of
  examples per property. This is what `python -m pytest` runs.
* thorough: random examples, ten times as many, with the example database: for a run before a
  release, or after a change of the engine, the scenario loader or the receiver's validator.

      FFSIM_HYPOTHESIS_PROFILE=thorough python -m pytest

A property that needs more examples than the profile gives asks for a multiple of it,
@settings(max_examples=4 * settings.default.max_examples), so that the thorough profile scales it
too; the seeded fuzzer and the hostile sender (test_fuzz_scenarios.py, test_validator_hostile.py)
scale with the profile as well. A property that sets its own max_examples keeps it in both.

The 100 examples of ci: run under coverage, the suite reaches the same lines and branches of ffsim/
as with the counts the properties had before (60 to 1500), but for the two engine properties of
test_engine_vs_reference.py, which ask for more (9 and 3 times as many).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

CI_EXAMPLES = 100
THOROUGH_EXAMPLES = 1000

settings.register_profile(
    "ci", max_examples=CI_EXAMPLES, deadline=None, derandomize=True, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "thorough", max_examples=THOROUGH_EXAMPLES, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow])

PROFILE = os.environ.get("FFSIM_HYPOTHESIS_PROFILE", "ci")
if PROFILE not in ("ci", "thorough"):
    raise ValueError(f"FFSIM_HYPOTHESIS_PROFILE={PROFILE!r}: the profiles are ci (the default) and thorough")
settings.load_profile(PROFILE)


def pytest_xdist_auto_num_workers(config):
    """-n auto (addopts): half as many workers again as there are CPUs (2 CPUs: 3 workers). A third
    of the suite's time is spent waiting (receivers' deadlines, runs paced in real time, retries'
    backoff), which the extra worker fills. PYTEST_XDIST_AUTO_NUM_WORKERS=N sets the number."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # pytest-xdist's own hook reads it
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cpus + cpus // 2
