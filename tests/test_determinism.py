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
FAULTS = sorted((ROOT / "scenarios" / "faults").glob("*.yaml"))  # keyed faults/<file>: their lines and images too
UNTIL = {"busy-road.yaml": "30m"}


def output(scenario: Path, pythonpath: str | None = None, payload_only: bool = True) -> bytes:
    """`ffsim events SCENARIO --payload-only`: in this process (compiled where it is built), or with
    pythonpath in a process of its own that imports ffsim from there."""
    args = ["events", str(scenario)] + (["--payload-only"] if payload_only else [])
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


@pytest.mark.parametrize("scenario", SCENARIOS + FAULTS, ids=lambda p: p.name)
def test_compiled_and_pure_python_give_the_same_bytes(scenario, pure_python):
    assert output(scenario) == output(scenario, pure_python)
    if scenario in FAULTS:  # the fault marks of the lines, too
        assert output(scenario, payload_only=False) == output(scenario, pure_python, payload_only=False)


def images(scenario: Path) -> bytes:
    """Every image sent, in order (the image faults change them)."""
    import ffsim

    return b"".join(a.data for p in ffsim.events(scenario) for a in p.payload.attachments)


def digests() -> dict[str, str]:
    found = {s.name: hashlib.sha256(output(s)).hexdigest() for s in SCENARIOS}
    for s in FAULTS:
        key = f"faults/{s.name}"
        found[key] = hashlib.sha256(output(s)).hexdigest()
        found[f"{key} lines"] = hashlib.sha256(output(s, payload_only=False)).hexdigest()
        found[f"{key} images"] = hashlib.sha256(images(s)).hexdigest()
    return found


def test_bytes_match_the_golden_digests():
    found = digests()
    if os.environ.get("FFSIM_UPDATE_GOLDEN"):
        old = json.loads(GOLDEN.read_text())
        # faults on purpose must not change a scenario without faults: their digests stay, unless told
        changed = [k for k in old if not k.startswith("faults/") and found.get(k) != old[k]]
        assert not changed or os.environ["FFSIM_UPDATE_GOLDEN"] == "all", f"changed without faults: {changed}"
        GOLDEN.write_text(json.dumps(found, indent=2, sort_keys=True) + "\n")
    assert found == json.loads(GOLDEN.read_text())


def test_an_empty_faults_list_is_no_fault_at_all(tmp_path):
    gate = ROOT / "scenarios" / "parking-gate.yaml"
    empty = tmp_path / "gate.yaml"
    empty.write_text(gate.read_text() + "faults: []\n")
    assert output(empty, payload_only=False) == output(gate, payload_only=False)
