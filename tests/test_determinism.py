"""Same scenario, same seed: same bytes, compiled or pure Python, today and later.

The digests in golden.json pin the exact output of every bundled scenario. After
an intended change of output, regenerate them with:

    FFSIM_UPDATE_GOLDEN=1 python -m pytest tests/test_determinism.py
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .cli import ffsim

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden.json"
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
UNTIL = {"busy-road.yaml": "30m"}


def output(scenario: Path, pythonpath: str | None = None) -> bytes:
    """`ffsim events SCENARIO --payload-only`: in this process (compiled where it is built), or with
    pythonpath in a process of its own that imports ffsim from there."""
    args = ["events", str(scenario), "--payload-only"]
    if scenario.name in UNTIL:
        args += ["--until", UNTIL[scenario.name]]
    if pythonpath is None:
        result = ffsim(*args, text=False)
        assert result.returncode == 0, result.stderr
        return result.stdout
    env = {**os.environ, "PYTHONPATH": pythonpath}
    return subprocess.run([sys.executable, "-m", "ffsim", *args], capture_output=True, env=env, cwd=pythonpath,
                          check=True).stdout


@pytest.fixture(scope="module")
def pure_python(tmp_path_factory) -> str:
    """A copy of the package with only its .py files: runs without any compiled module."""
    target = tmp_path_factory.mktemp("pure")
    shutil.copytree(ROOT / "ffsim", target / "ffsim", ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"))
    check = subprocess.run([sys.executable, "-m", "ffsim", "--version"], capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(target)}, cwd=target, check=True)
    assert "pure Python" in check.stdout
    return str(target)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.name)
def test_compiled_and_pure_python_give_the_same_bytes(scenario, pure_python):
    assert output(scenario) == output(scenario, pure_python)


def test_bytes_match_the_golden_digests():
    digests = {s.name: hashlib.sha256(output(s)).hexdigest() for s in SCENARIOS}
    if os.environ.get("FFSIM_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(digests, indent=2, sort_keys=True) + "\n")
    assert digests == json.loads(GOLDEN.read_text())
