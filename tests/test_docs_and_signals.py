"""The README's scenario example validates; Ctrl-C during a run lists what was not delivered."""

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

from ffsim.scenario import load_scenario

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


def test_ctrl_c_lists_what_is_still_unsent():
    proc = subprocess.Popen([sys.executable, "-m", "ffsim", "run", str(ROOT / "scenarios" / "parking-gate.yaml"),
                             "--http", "http://127.0.0.1:9/nobody", "--speed", "max", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert "interrupted: 12 event(s) not delivered" in err
    assert len(re.findall(r"^  unsent: profile 1 (new|update|lost) car \d+ \w+$", err, re.M)) == 12
    assert "Traceback" not in err
