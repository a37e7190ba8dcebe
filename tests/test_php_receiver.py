"""The vendor's kind of receiver: PHP's built-in server reading $_FILES['event'] and $_FILES['image']."""

import json
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from ffsim.protocol import Camera
from ffsim.scenario import load_scenario

from .cli import ffsim

ROOT = Path(__file__).resolve().parents[1]
PHP = shutil.which("php")

if PHP is None and not os.environ.get("CI"):
    pytest.skip("php is not installed (CI installs it: apt-get install php-cli)", allow_module_level=True)


def test_php_receiver_reads_the_event_and_image_files(tmp_path):
    assert PHP, "php is needed here; .ci/run installs php-cli"
    upload = tmp_path / "log"
    upload.mkdir()
    # port 0: PHP takes a free port, and says which once it listens
    server = subprocess.Popen([PHP, "-S", "127.0.0.1:0", "-t", str(ROOT / "tests" / "php")],
                              env={**os.environ, "FF_UPLOAD_DIR": str(upload)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        started = server.stderr.readline()  # "[date] PHP 8.2.0 Development Server (http://127.0.0.1:P) started"
        found = re.search(r"\(http://127\.0\.0\.1:([1-9]\d*)\) started", started)
        assert found, f"PHP did not say the port it took: {started!r}"
        port = int(found.group(1))
        threading.Thread(target=server.stderr.read, daemon=True).start()  # its request log, never to block it
        scenario_path = ROOT / "scenarios" / "parking-gate.yaml"
        result = ffsim("run", scenario_path, "--http", f"http://127.0.0.1:{port}/ff_post.php", "--speed", "max",
                       "--quiet")
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert result.returncode == 0, result.stderr
    scenario = load_scenario(scenario_path)
    packets = list(Camera(scenario, scenario.start_us).packets())
    log = [json.loads(line) for line in (upload / "log.jsonl").read_text().splitlines()]
    assert len(log) == len(packets) == 12
    for packet, seen in zip(packets, log):
        event, image = seen["event"], seen["image"]
        assert (event["name"], event["type"], event["error"], event["stored"]) == (
            f"event_{packet.payload['packetCounter']}.json", "application/json", 0, True)
        assert (upload / event["name"]).read_bytes() == packet.payload.camera_json()
        assert (image["type"], image["error"], image["stored"]) == ("image/jpeg", 0, True)
        assert image["size"] == len(packet.payload.attachments[0].data)  # plateImageSize is "0", as in the field
        assert (upload / image["name"]).read_bytes() == packet.payload.attachments[0].data
