"""`ffsim load`: fleet files and quick fleets, thresholds, outputs, exit status."""

from __future__ import annotations

import csv
import json
import os
import stat

import pytest

from ffsim import bundled
from ffsim.receiver.server import Receiver

from .cli import ffsim

GATE = bundled("parking-gate")


def test_a_bad_fleet_file_gets_positioned_errors_and_exit_1(tmp_path):
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(f"version: 1\ngroups:\n  - scenario: {GATE}\n    count: 0\n    ramp: soon\n")
    result = ffsim("load", fleet, "--speed", "max")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert any(line.startswith(f"{fleet}:4:12: ") for line in lines), result.stderr
    assert any(line.startswith(f"{fleet}:5:11: ") for line in lines), result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_scenario_given_with_cameras_gets_its_own_positions(tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text("version: 1\nzones: nope\n")
    result = ffsim("load", scenario, "--cameras", "3")
    assert result.returncode == 1 and result.stderr.startswith(f"{scenario}:2:8: "), result.stderr


def test_quick_fleet_options_on_a_fleet_file_are_a_usage_error(tmp_path):
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(f"version: 1\ngroups:\n  - scenario: {GATE}\n")
    result = ffsim("load", fleet, "--cameras", "3")
    assert result.returncode == 2 and "fleet file" in result.stderr


@pytest.mark.parametrize("expr, says", [("p99<<5", "p99<<5"), ("latency<5ms", "latency"),
                                        ("nogroup:p99<5ms", "unknown group 'nogroup'")])
def test_a_bad_threshold_is_a_usage_error_before_anything_is_sent(expr, says):
    result = ffsim("load", GATE, "--speed", "max", "--threshold", expr)
    assert result.returncode == 2 and says in result.stderr, result.stderr


def test_thresholds_pass_and_fail_as_stated(tmp_path):
    args = ("load", GATE, "--cameras", "2", "--speed", "max", "--until", "1m", "-q")
    passing = ffsim(*args, "--threshold", "delivered>0", "--threshold", "lost==0", "--threshold", "p99 < 60s",
                    "--threshold", "parking-gate:rejected==0", "--json")
    assert passing.returncode == 0, passing.stderr
    out = json.loads(passing.stdout)
    assert [t["ok"] for t in out["thresholds"]] == [True] * 4
    assert out["end_to_end"]["lost"] == 0 and out["receiver"]["packets"] == out["totals"]["total"]["delivered"]

    failing = ffsim(*args, "--threshold", "p99<0.0001ms", "--threshold", "rejected==0", "--threshold",
                    "events_per_s<0.5", "--json")
    assert failing.returncode == 1
    verdict = json.loads(failing.stdout)
    assert verdict["ok"] is False and verdict["delivered_all"] is True  # the exit's verdict, in the JSON
    failing = ffsim(*args, "--threshold", "p99<0.0001ms", "--threshold", "rejected==0", "--threshold",
                    "events_per_s<0.5")
    named = [line for line in failing.stderr.splitlines() if line.startswith("ffsim: threshold failed")]
    assert len(named) == 2 and "p99<0.0001ms" in named[0] and "events_per_s<0.5" in named[1], failing.stderr
    assert "threshold ok     rejected==0" in failing.stdout and "threshold FAILED p99<0.0001ms" in failing.stdout


def test_rejections_fail_the_run_unless_thresholds_say_otherwise():
    with Receiver(http="127.0.0.1:0", respond=400) as receiver:
        args = ("load", GATE, "--cameras", "2", "--speed", "max", "--until", "1m", "-q", "--http",
                receiver.http_url + "events")
        refused = ffsim(*args)
        assert refused.returncode == 1 and "rejected" in refused.stdout
        allowed = ffsim(*args, "--threshold", "rejected>0", "--threshold", "delivered==0")
        assert allowed.returncode == 0, allowed.stderr


def test_csv_and_report_are_written_owner_only(tmp_path):
    series, report = tmp_path / "series.csv", tmp_path / "report.html"
    result = ffsim("load", GATE, "--cameras", "3", "--speed", "max", "--until", "1m", "-q", "--csv", series,
                   "--report", report)
    assert result.returncode == 0, result.stderr
    for path in (series, report):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    rows = list(csv.DictReader(series.open()))
    assert rows and {row["group"] for row in rows} == {"parking-gate", "total"}
    total = sum(int(row["delivered"]) for row in rows if row["group"] == "total")
    assert total > 0
    html = report.read_text()
    assert 'id="events-per-s"' in html and "parking-gate" in html


def test_an_output_that_cannot_be_written_is_an_error_before_the_run(tmp_path):
    result = ffsim("load", GATE, "--speed", "max", "--csv", tmp_path / "no" / "such" / "dir.csv")
    assert result.returncode == 1 and "cannot write" in result.stderr and "delivered" not in result.stdout


def test_an_unreachable_target_is_counted_not_crashed(tmp_path):
    from .servers import refusing_port

    with refusing_port() as port:
        result = ffsim("load", GATE, "--cameras", "2", "--speed", "max", "--until", "1m", "-q", "--drain", "0.3s",
                       "--http", f"http://127.0.0.1:{port}/events", "--json")
    assert result.returncode == 1
    out = json.loads(result.stdout)
    total = out["totals"]["total"]
    assert total["delivered"] == 0 and total["connection_errors"] > 0
    assert out["handed"] == total["dropped"] + out["buffered"] + total["rejected"]


def _signalled_load(signum: int, cameras: int, *extra) -> tuple[int, str, str]:
    """`python -m ffsim load --json ...` sent signum once every camera waits on a receiver that
    never answers; (exit status, stdout, stderr)."""
    import subprocess
    import sys

    from .servers import wait_for
    from .test_stop import Holder

    holder = Holder()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "ffsim", "load", GATE, "--cameras", str(cameras), "--speed",
                                 "max", "--until", "1m", "--http", f"http://{holder.target}/events", "--json", *extra],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: len(holder.held) >= cameras, what="every camera sending")
            proc.send_signal(signum)
            out, err = proc.communicate(timeout=30)
        finally:
            proc.kill()
    finally:
        holder.close()
    return proc.returncode, out, err


def test_ctrl_c_stops_at_once_and_still_prints_the_summary():
    import signal

    code, out, err = _signalled_load(signal.SIGINT, 4)
    assert code == 1 and "Traceback" not in err, err
    summary = json.loads(out)
    assert summary["interrupted"] and summary["buffered"] >= 4
    assert summary["totals"]["total"]["delivered"] == 0
    assert summary["handed"] == summary["buffered"]


def test_sigterm_stops_like_ctrl_c_and_keeps_the_results(tmp_path):
    """`timeout`, `docker stop` and CI runners send SIGTERM: the summary and outputs still come."""
    import signal

    series = tmp_path / "series.csv"
    code, out, err = _signalled_load(signal.SIGTERM, 2, "--csv", str(series))
    assert code == 1 and "Traceback" not in err, err
    summary = json.loads(out)
    assert summary["interrupted"] and not summary["ok"] and summary["buffered"] >= 2
    assert series.read_text().startswith("start_s,")


def test_against_a_receiver_that_is_down_a_max_speed_run_ends_after_its_drain():
    from ffsim.load.run import LoadRun
    from ffsim.scenario.fleet import fleet_from_scenario

    from .servers import refusing_port

    with refusing_port() as port:
        run = LoadRun(fleet_from_scenario(GATE, cameras=2), http=f"http://127.0.0.1:{port}/", speed="max",
                      until="10m", drain="0.3s").start()
        summary = run.wait(timeout=60)  # before the fix: waited drain for each lane of each camera in turn
        if summary is None:
            run.stop()
    assert summary is not None and not summary.interrupted
    total = summary.total
    assert total["delivered"] == 0 and total["connection_errors"] > 0 and summary.accounted
    assert total["latency_ms"]["count"] == 0  # latency is the delivered attempts'
    assert summary.totals["total"]["latency_ms"]["p99"] is None


def test_a_fleet_too_big_for_the_open_files_limit_is_refused_before_anything_is_sent(tmp_path):
    import resource
    import subprocess
    import sys

    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (200, 200))

    result = subprocess.run([sys.executable, "-m", "ffsim", "load", GATE, "--cameras", "400", "--speed", "max",
                             "--http", "http://127.0.0.1:9/"], capture_output=True, text=True, timeout=120,
                            preexec_fn=low_limit)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "open files" in result.stderr and "ulimit -n" in result.stderr


def test_a_fifo_or_a_directory_as_the_file_is_one_clear_line(tmp_path):
    fifo = tmp_path / "fleet.yaml"
    os.mkfifo(fifo)
    result = ffsim("load", fifo)
    assert result.returncode == 1 and "not a regular file" in result.stderr, result.stderr
    assert ffsim("load", tmp_path).returncode == 2  # a directory: click's usage error


def test_a_pattern_width_cannot_ask_for_gigabytes(tmp_path):
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(f"version: 1\ngroups:\n  - scenario: {GATE}\n    device_id: \"{{n:999999999}}\"\n")
    result = ffsim("load", fleet)
    assert result.returncode == 1 and result.stderr.startswith(f"{fleet}:4:")
    assert "width" in result.stderr


def test_a_bad_threshold_is_echoed_bounded_and_printable():
    long = ffsim("load", GATE, "--threshold", "p99<" + "9" * 100_000 + "x")
    assert long.returncode == 2 and len(long.stderr) < 2_000
    bidi = ffsim("load", GATE, "--threshold", "p99<5\u202ems")
    assert bidi.returncode == 2 and "\u202e" not in bidi.stderr and "\\u202e" in bidi.stderr


def test_durations_may_be_plain_seconds():
    result = ffsim("load", GATE, "--cameras", "2", "--speed", "max", "--until", "60", "--drain", "5", "-q")
    assert result.returncode == 0, result.stderr


def test_verify_compares_delivered_with_what_ffsim_receive_stored(tmp_path):
    """Against `ffsim receive --out DIR` in its own process, failing a tenth of the requests."""
    import subprocess
    import sys

    from .servers import free_port, wait_for_port

    port = free_port()
    out = tmp_path / "received"
    receiver = subprocess.Popen([sys.executable, "-m", "ffsim", "receive", "--http", f"127.0.0.1:{port}", "--out",
                                 str(out), "--fail-rate", "0.1", "--quiet"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        args = ("load", GATE, "--cameras", "3", "--speed", "max", "--until", "1m", "-q", "--json",
                "--http", f"http://127.0.0.1:{port}/events")
        before = ffsim(*args)  # the same cameras, earlier: what they stored then is not this run's
        assert before.returncode == 0, before.stderr
        result = ffsim(*args, "--verify", out, "--threshold", "lost==0")
    finally:
        receiver.terminate()
        receiver.wait(10)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    e2e = summary["end_to_end"]
    assert e2e["checked"].endswith("packets.jsonl")
    assert e2e["delivered"] == e2e["stored"] == summary["totals"]["total"]["delivered"] > 0
    assert e2e["lost"] == e2e["duplicates"] == 0 and summary["totals"]["total"]["failed"] > 0


def test_verify_needs_a_receiver_s_folder(tmp_path):
    result = ffsim("load", GATE, "--speed", "max", "--http", "http://127.0.0.1:9/", "--verify", tmp_path)
    assert result.returncode == 1 and "not the --out folder" in result.stderr
