"""The catalogue of faults: every entry works as it stands, `ffsim faults` shows it, the bundled
scenario of each family loads, and pytest runs a test over the catalogue in one line."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

import ffsim
import ffsim.receiver.server  # noqa: F401 - shared with pytester's in-process runs (see test_pytest_plugin)
import ffsim.session  # noqa: F401
from ffsim import scenario_from_text
from ffsim.faults import CATALOGUE, FAMILIES
from ffsim.vocabulary import FAULT_TYPES

pytest_plugins = ["pytester"]

GATE = ffsim.bundled("parking-gate").read_text()
TWO_PROFILES = "profiles: [{id: 1}, {id: 2, protocol: tcp, framing: newline}]\n"


def ffsim_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-W", "ignore", "-m", "ffsim", *args], capture_output=True, text=True)


def test_the_catalogue_has_every_fault_type_once_in_every_family():
    assert [e.name for e in CATALOGUE] == list(FAULT_TYPES)
    assert {e.family for e in CATALOGUE} == set(FAMILIES)


@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda e: e.name)
def test_each_snippet_validates_and_strikes_a_packet_of_the_gate(entry):
    scenario = scenario_from_text(GATE + TWO_PROFILES + f"faults:\n  - {entry.yaml}\n")
    assert scenario.faults[0].type == entry.name
    if entry.family in ("restart", "clock", "wire"):
        return  # they act in the engine or on the wire: their own tests
    marked = [p for p in ffsim.events(scenario) if p.fault]
    assert marked and all(m["type"] == entry.name for p in marked for m in p.fault)


def test_each_family_has_a_bundled_scenario_that_says_what_a_robust_receiver_does():
    scenarios = ffsim.fault_scenarios()
    assert sorted(scenarios) == sorted(FAMILIES)
    for family, path in scenarios.items():
        modeline, text = path.read_text().split("\n", 1)  # the first line names the editor schema
        assert modeline == "# yaml-language-server: $schema=../../schema/scenario.schema.json"
        assert text.startswith(f"# Faults, {family}:") and "robust receiver" in text
        assert {f.type for f in ffsim.load_scenario(path).faults} <= {e.name for e in CATALOGUE if e.family == family}
        assert ffsim.bundled(f"faults/{family}") == path


def test_ffsim_faults_lists_prints_one_and_answers_a_typo():
    listing = ffsim_cli("faults")
    assert listing.returncode == 0
    for e in CATALOGUE:
        assert f"faults: [{e.yaml}]" in listing.stdout and e.description in listing.stdout
    as_json = json.loads(ffsim_cli("faults", "--json").stdout)
    assert [e["name"] for e in as_json] == list(FAULT_TYPES)
    assert set(as_json[0]) == {"name", "family", "description", "yaml", "robust_receiver", "scenario"}
    one = ffsim_cli("faults", "restart")
    assert one.stdout == "faults:\n  - {type: restart, at: 20s, down: 10s}\n"
    assert scenario_from_text(GATE + one.stdout).faults[0].type == "restart"  # pastes as it stands
    typo = ffsim_cli("faults", "restrat")
    assert typo.returncode == 1 and typo.stdout == ""
    assert typo.stderr == "ffsim: error: no fault 'restrat'; did you mean 'restart'? (`ffsim faults` lists them)\n"


def test_the_marker_runs_a_test_over_the_catalogue_in_one_line(pytester):
    pytester.makepyfile(textwrap.dedent(f"""
        import pytest, ffsim

        GATE = {str(ffsim.bundled("parking-gate"))!r}

        @pytest.mark.ffsim_faults(families=["duplicate", "payload", "wire"])
        def test_every_fault(ffsim_camera, ffsim_fault):
            run = ffsim_camera(GATE, faults=[ffsim_fault])
            assert any(f["type"] == ffsim_fault.name for a in run.attempts for f in a.faults)
    """))
    result = pytester.runpytest("-v")
    # the gate has one HTTP profile: the TCP wire faults do not fit it, and say so
    result.assert_outcomes(passed=11, skipped=2)
    result.stdout.fnmatch_lines(["*test_every_fault?duplicate? PASSED*", "*test_every_fault?tcp_split? SKIPPED*"])


def test_the_marker_refuses_an_unknown_name(pytester):
    pytester.makepyfile("""
        import pytest

        @pytest.mark.ffsim_faults("restrat")
        def test_it(ffsim_fault):
            pass
    """)
    result = pytester.runpytest()
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*ffsim_faults: unknown 'restrat'*"])


def test_the_readme_lists_the_catalogue_and_its_example_validates():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Faults\n", 1)[1].split("\n## ", 1)[0]
    for e in CATALOGUE:
        assert f"| `{e.name}` | {e.family} | {e.description} | `{e.yaml}` |" in section
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    faults = scenario_from_text(GATE + example).faults
    assert [f.type for f in faults] == ["restart", "duplicate", "truncated_multipart"]


def test_a_fault_that_strikes_nothing_is_said_by_events_run_and_pytest(tmp_path, pytester):
    path = tmp_path / "late.yaml"
    path.write_text(GATE + "faults: [{type: duplicate, at: 2h}, {type: burst, during: [3s, 26s]}]\n")
    line = f"{path}: warning: faults[0] (duplicate) struck no packet: no packet it applies to was sent at or after 7200 s"
    assert ffsim_cli("events", str(path)).stderr.splitlines() == [line]
    run = ffsim_cli("run", str(path), "--speed", "max", "-q")
    assert run.returncode == 0 and line in run.stderr.splitlines() and "burst" not in run.stderr
    pytester.makepyfile(f"""
        def test_late(ffsim_camera):
            ffsim_camera({str(path)!r})
    """)
    result = pytester.runpytest("-W", "error::UserWarning")  # the warning, made an error to be seen
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*UserWarning: ffsim: faults?0? (duplicate) struck no packet*"])
