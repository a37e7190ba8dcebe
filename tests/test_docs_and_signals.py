"""The README's scenario example validates; Ctrl-C during a run lists what was not delivered."""

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from ffsim.scenario import load_scenario

from .servers import refusing_port

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_scenario_example_is_valid(tmp_path):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Scenario format v1", 1)[1]
    example = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    (tmp_path / "my-photos").mkdir()
    Image.new("RGB", (64, 48), (90, 90, 90)).save(tmp_path / "my-photos" / "a.jpg")
    path = tmp_path / "example.yaml"
    path.write_text(example)
    scenario = load_scenario(path)
    assert scenario.heartbeat is not None and scenario.photos and scenario.profiles[0].auth is not None


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_lists_what_is_still_unsent(sig):
    """End to end: SIGINT (or SIGTERM: timeout, docker stop) to `python -m ffsim run`, once the
    receiver has refused the first event twice (the others are being buffered behind it by then,
    at speed max)."""
    with refusing_port() as port:
        proc = subprocess.Popen([sys.executable, "-m", "ffsim", "run", str(ROOT / "scenarios" / "parking-gate.yaml"),
                                 "--http", f"http://127.0.0.1:{port}/nobody", "--speed", "max"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            for _ in range(2):
                line = proc.stdout.readline()
                assert "refused, retrying in" in line, line + proc.stderr.read()
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=30)
        finally:
            proc.kill()
    assert proc.returncode == 1, err
    # parking-gate sends 12 events: each is unsent, and listed, or was never handed over
    found = re.search(r"^interrupted: (\d+) event\(s\) not delivered \(buffered\); (\d+) more never sent$", err, re.M)
    assert found, err
    unsent, never = int(found.group(1)), int(found.group(2))
    assert unsent >= 1 and unsent + never == 12, err
    assert len(re.findall(r"^  unsent: profile 1 (new|update|lost) car \d+ \w+$", err, re.M)) == unsent, err
    assert "Traceback" not in err
