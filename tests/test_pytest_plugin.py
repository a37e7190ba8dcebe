"""The pytest plugin (ffsim/pytest_plugin.py), as a user meets it: small test files run by pytest
in a temporary folder outside the repository, without any conftest, the plugin loaded by
ffsim's `pytest11` entry point."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import ffsim.receiver.server  # noqa: F401 - see below
import ffsim.session  # noqa: F401
from ffsim.pytest_plugin import bundled_scenarios
from ffsim.vocabulary import GENERATIONS

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]

# runpytest() runs the test files in this process and then forgets the modules they imported; the
# library is imported here once, so that they share it. (Imported anew in each run, PyYAML's
# yaml.events would be new classes while its libyaml parser, an extension module that is never
# imported twice, still made events of the first ones, and no scenario would parse.)

# one car through the zone: New, an Update (direction), Lost, in about three seconds of virtual time;
# and traffic without end
SCENARIO = """\
SCENARIO = '''
version: 1
seed: 1
start: 2026-11-24T08:00:00Z
zones: [{id: 1, polygon: [[0, 300], [1920, 300], [1920, 1080], [0, 1080]], direction: 180}]
vehicles:
  - {plate: 5SX 2207, at: 0s, path: [[960, 320], [960, 1060]], duration: 1s}
recognition: {lost_timeout: 2s}
profiles: [{id: 1, image: none}]
'''
ENDLESS = '''
version: 1
seed: 1
zones: [{id: 1, polygon: [[0, 300], [1920, 300], [1920, 1080], [0, 1080]], direction: 180}]
traffic: [{zone: 1, rate: 3600/h}]
profiles: [{id: 1, image: none}]
'''
"""


def write_tests(pytester: pytest.Pytester, body: str) -> None:
    """A test module in pytester's folder: the scenarios above, then body."""
    pytester.makepyfile(SCENARIO + textwrap.dedent(body))


def test_the_fixtures_come_with_the_package(pytester):
    assert not list(pytester.path.rglob("conftest.py"))
    assert ROOT not in pytester.path.resolve().parents  # outside the repository: no pyproject.toml, no conftest
    write_tests(pytester, """
        from ffsim import Run, Scenario
        from ffsim.receiver.server import Receiver

        def test_fixtures(ffsim_receiver, ffsim_scenario, ffsim_camera):
            assert isinstance(ffsim_receiver, Receiver) and ffsim_receiver.url.startswith("http://127.0.0.1:")
            assert isinstance(ffsim_scenario(SCENARIO, "2019"), Scenario)
            assert ffsim_scenario(SCENARIO, "2019").camera.firmware == "2019"
            assert isinstance(ffsim_camera(SCENARIO), Run)
    """)
    result = pytester.runpytest_subprocess()  # a pytest of its own: nothing but the entry point
    result.assert_outcomes(passed=1)

    blocked = pytester.runpytest("-p", "no:ffsim")  # the entry point's name is "ffsim"
    blocked.assert_outcomes(errors=1)
    blocked.stdout.fnmatch_lines(["*fixture 'ffsim_receiver' not found*"])


def test_the_receiver_is_cleared_between_tests(pytester):
    write_tests(pytester, """
        def test_first(ffsim_camera, ffsim_receiver):
            ffsim_camera(SCENARIO)
            assert len(ffsim_receiver.records) == 3

        def test_second(ffsim_receiver):
            assert ffsim_receiver.records == [] and ffsim_receiver.packets == 0
            ffsim_receiver.check()  # nor are the first test's passages remembered
    """)
    pytester.runpytest().assert_outcomes(passed=2)


def test_the_camera_reports_every_packet_with_its_answer(pytester):
    write_tests(pytester, """
        import json
        import ffsim

        def test_report(ffsim_camera, ffsim_receiver):
            run = ffsim_camera(SCENARIO)
            packets = [json.loads(p.json_bytes()) for p in ffsim.events(SCENARIO)]

            assert run.summary.delivered_all and not run.running
            assert [(a.state, a.counter) for a in run.attempts] == [
                (p["carState"], p["packetCounter"]) for p in packets] == [
                ("new", "1"), ("update", "2"), ("lost", "3")]
            for attempt in run.attempts:
                assert (attempt.ok, attempt.status, attempt.number, attempt.plate) == (True, 200, 1, "5SX2207")
                assert 0 < attempt.latency_s < 5
            assert [r.payload["packetCounter"] for r in ffsim_receiver.records] == ["1", "2", "3"]
            ffsim_receiver.check()
    """)
    pytester.runpytest().assert_outcomes(passed=1)


def test_the_camera_sends_over_tcp(pytester):
    write_tests(pytester, """
        def test_tcp(ffsim_camera, ffsim_receiver):
            run = ffsim_camera(SCENARIO, tcp=ffsim_receiver.tcp_address)

            assert run.summary.delivered_all
            assert [(a.ok, a.status) for a in run.attempts] == [(True, None)] * 3  # no HTTP answer over TCP
            assert ffsim_receiver.wait(count=3)
            assert {r.protocol for r in ffsim_receiver.records} == {"tcp"}
            ffsim_receiver.check()
    """)
    pytester.runpytest().assert_outcomes(passed=1)


@pytest.mark.parametrize("option, expected", [((), None), (("--ffsim-speed", "50"), 50.0),
                                              (("--ffsim-speed=max",), None)])
def test_the_speed_option(pytester, option, expected):
    write_tests(pytester, f"""
        def test_speed(ffsim_camera):
            default = ffsim_camera(ENDLESS, background=True)
            default.stop()
            assert default.speed == {expected!r}
            given = ffsim_camera(ENDLESS, speed=2, background=True)  # a run's own speed wins
            given.stop()
            assert given.speed == 2.0
    """)
    pytester.runpytest(*option).assert_outcomes(passed=1)


def test_a_wrong_speed_option_is_a_usage_error_at_once(pytester):
    write_tests(pytester, """
        def test_speed(ffsim_camera):
            ffsim_camera(SCENARIO)
    """)
    result = pytester.runpytest("--ffsim-speed", "fast")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--ffsim-speed: speed: expected 1 (real time), a factor such as 10, or 'max'; "
                                 "got 'fast'*"])


def test_the_markers_parametrize(pytester):
    items = pytester.getitems(SCENARIO + textwrap.dedent("""
        import pytest
        from pathlib import Path

        @pytest.mark.ffsim_bundled
        def test_bundled(ffsim_bundled_scenario):
            assert isinstance(ffsim_bundled_scenario, Path)

        @pytest.mark.ffsim_firmware
        def test_firmware(ffsim_firmware):
            pass

        @pytest.mark.ffsim_bundled
        @pytest.mark.ffsim_firmware
        def test_both(ffsim_bundled_scenario, ffsim_firmware):
            pass
    """))
    stems = [path.stem for path in bundled_scenarios()]
    assert {"parking-gate", "busy-road", "misread-corrected"} <= set(stems)
    assert [item.name for item in items] == (
        [f"test_bundled[{stem}]" for stem in stems]
        + [f"test_firmware[{generation}]" for generation in GENERATIONS]
        + [f"test_both[{stem}-{generation}]" for stem in stems for generation in GENERATIONS])
    assert all(item.callspec.params["ffsim_bundled_scenario"].is_file() for item in items if "bundled" in item.name)


def test_the_marked_arguments_play(pytester):
    # a marked test plays what it is given: here one scenario as every firmware generation
    write_tests(pytester, """
        import pytest

        @pytest.mark.ffsim_firmware
        def test_firmware(ffsim_camera, ffsim_receiver, ffsim_firmware):
            run = ffsim_camera(SCENARIO, firmware=ffsim_firmware)
            assert {a.status for a in run.attempts} == {200}
            ffsim_receiver.check()
    """)
    pytester.runpytest().assert_outcomes(passed=len(GENERATIONS))


def test_check_fails_the_test_that_received_a_violation(pytester):
    write_tests(pytester, """
        import urllib.request

        def test_bad_packet(ffsim_receiver):
            request = urllib.request.Request(ffsim_receiver.url + "listener.php", data=b'{"carState": "parked"}',
                                             headers={"Content-Type": "application/json"})
            urllib.request.urlopen(request, timeout=5).close()
            assert ffsim_receiver.wait(count=1)
            ffsim_receiver.check()

        def test_after_it(ffsim_receiver):
            ffsim_receiver.check()  # the violation went with the test that received it
    """)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: * violation(s) received:*",
                                 "*packet 1 (http /listener.php *carState must be one of*got 'parked'*"])
    (failed,) = [r for r in result.reprec.getreports("pytest_runtest_logreport") if r.failed]
    assert failed.nodeid.endswith("test_bad_packet")


def test_a_background_run_is_stopped_at_teardown(pytester):
    write_tests(pytester, """
        import pytest

        RUNS = []

        def test_endless_needs_background(ffsim_camera):
            with pytest.raises(ValueError, match="no end"):
                ffsim_camera(ENDLESS)

        def test_start(ffsim_camera, ffsim_receiver):
            run = ffsim_camera(ENDLESS, background=True)
            RUNS.append(run)
            assert run.running
            assert ffsim_receiver.wait(count=1)  # it sends; the test ends without stopping it

        def test_stopped():
            (run,) = RUNS
            assert not run.running and run.summary is not None and run.attempts
    """)
    pytester.runpytest().assert_outcomes(passed=3)


def test_the_scenario_factory_takes_the_firmware_as_an_option(pytester):
    write_tests(pytester, """
        def test_factory(ffsim_scenario):
            assert ffsim_scenario(SCENARIO).camera.firmware == "2024-lpv"
            assert ffsim_scenario(SCENARIO, firmware="2019").camera.firmware == "2019"
    """)
    pytester.runpytest().assert_outcomes(passed=1)
