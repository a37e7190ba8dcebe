"""ffsim init: every template, written by the command, validates and plays to its end against
the built-in receiver; the command refuses to overwrite, --force replaces, unknown names and
--list. Real files in a temporary folder, real runs, no mocks."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

import ffsim
from ffsim.cli_common import FILE_MODE
from ffsim.cli_init import DEFAULT, TEMPLATES, init_command, template_text
from ffsim.scenario.fleet import load_fleet

SCENARIOS = [name for name in TEMPLATES if name != "fleet"]
FOLDER = Path(ffsim.__file__).resolve().parent / "templates"


def init(folder: Path, *args: str):
    """Run `ffsim init ARGS` in folder."""
    runner = CliRunner()
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        return runner.invoke(init_command, list(args), catch_exceptions=False)
    finally:
        os.chdir(cwd)


def umasked(mode: int) -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mode & ~mask


def test_every_template_file_is_listed_and_every_listed_one_exists():
    assert sorted(p.stem for p in FOLDER.glob("*.yaml")) == sorted(TEMPLATES)
    assert DEFAULT == "gate"


@pytest.mark.parametrize("name", SCENARIOS)
def test_a_scenario_template_validates_and_plays_to_its_end(tmp_path, name):
    result = init(tmp_path, name)
    assert result.exit_code == 0, result.output
    path = tmp_path / f"{name}.yaml"
    assert path.read_bytes() == template_text(name)
    assert f"wrote {name}.yaml" in result.stdout
    assert f"next: ffsim validate {name}.yaml && ffsim run {name}.yaml --speed max" in result.stdout
    assert stat.S_IMODE(path.stat().st_mode) == umasked(FILE_MODE)

    scenario = ffsim.load_scenario(str(path))
    assert scenario.traffic and all(flow.until_us is not None for flow in scenario.traffic)  # it ends
    run = ffsim.Run(str(path), speed="max")
    assert run.embedded and not run.endless  # no target in the template: the built-in receiver receives
    summary = run.play()
    assert summary.delivered_all and not summary.interrupted
    assert run.receiver_summary["violations"] == 0 and not run.receiver.violations
    states = [a.state for a in run.attempts]
    assert states and states.count("new") == states.count("lost") > 0  # every passage ends with its Lost


@pytest.mark.parametrize("name", SCENARIOS)
def test_a_template_says_what_it_shows_and_how_to_run_it(name):
    text = template_text(name).decode()
    head = text.split("\nversion:")[0]
    assert head.startswith(f"# Starter scenario (ffsim init {name}): ")
    for command in (f"ffsim validate {name}.yaml", f"ffsim events {name}.yaml", f"ffsim run {name}.yaml --speed max"):
        assert command in head
    for key in ("camera:", "zones:", "polygon:", "direction:", "traffic:", "rate:", "until:", "profiles:", "# url:"):
        line = next(line for line in text.splitlines() if line.strip().startswith(key))
        assert "#" in line or key == "# url:", f"{name}: {key} has no comment"


def test_the_garage_has_an_entry_and_an_exit_zone():
    scenario = ffsim.load_scenario(str(FOLDER / "garage.yaml"))
    assert [z.id for z in scenario.zones] == [1, 2]
    text = template_text("garage").decode()
    assert "the entry lane" in text and "the exit lane" in text


def test_the_fleet_template_writes_its_scenario_and_plays(tmp_path):
    result = init(tmp_path, "fleet")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "fleet.yaml").read_bytes() == template_text("fleet")
    assert (tmp_path / "gate.yaml").read_bytes() == template_text("gate")  # the scenario it names
    assert "wrote gate.yaml" in result.stdout and "next: ffsim validate fleet.yaml && ffsim load fleet.yaml" in result.stdout
    fleet = load_fleet(str(tmp_path / "fleet.yaml"))
    assert len(fleet.cameras) == 3 and len({c.device_id for c in fleet.cameras}) == 3
    summary = ffsim.LoadRun(fleet, speed="max").play()
    assert summary.delivered_all and summary.end_to_end["violations"] == 0 and summary.total["delivered"] > 0


def test_the_fleet_keeps_a_gate_scenario_already_there(tmp_path):
    mine = template_text("gate").replace(b"seed: 1 ", b"seed: 5 ")
    (tmp_path / "gate.yaml").write_bytes(mine)
    result = init(tmp_path, "fleet", "--force")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "gate.yaml").read_bytes() == mine  # --force is for the fleet file alone
    assert "kept gate.yaml" in result.stdout


def test_the_fleet_in_another_folder_gets_its_scenario_there(tmp_path):
    (tmp_path / "load").mkdir()
    result = init(tmp_path, "fleet", "-o", "load/rush.yaml")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "load" / "gate.yaml").exists() and not (tmp_path / "gate.yaml").exists()
    load_fleet(str(tmp_path / "load" / "rush.yaml"))


def test_the_fleet_may_not_take_its_scenario_s_name(tmp_path):
    result = init(tmp_path, "fleet", "-o", "gate.yaml")
    assert result.exit_code == 1 and "give another file name" in result.stderr
    assert not list(tmp_path.iterdir())


def test_default_is_the_gate_and_o_names_the_file_or_the_folder(tmp_path):
    assert init(tmp_path).exit_code == 0
    assert (tmp_path / "gate.yaml").read_bytes() == template_text("gate")
    assert init(tmp_path, "road", "-o", "my road.yaml").exit_code == 0
    assert (tmp_path / "my road.yaml").read_bytes() == template_text("road")
    (tmp_path / "sub").mkdir()
    result = init(tmp_path, "garage", "-o", "sub")
    assert result.exit_code == 0 and (tmp_path / "sub" / "garage.yaml").exists()
    assert "ffsim run 'my road.yaml'" in init(tmp_path, "road", "-o", "my road.yaml", "--force").stdout


def test_an_existing_file_is_refused_without_force(tmp_path):
    (tmp_path / "gate.yaml").write_text("mine\n")
    result = init(tmp_path, "gate")
    assert result.exit_code == 1
    assert result.stderr == "ffsim: error: gate.yaml already exists; give --force to replace it, or -o another file\n"
    assert result.stdout == ""
    assert (tmp_path / "gate.yaml").read_text() == "mine\n"
    dangling = tmp_path / "road.yaml"
    dangling.symlink_to(tmp_path / "nowhere.yaml")  # a dangling link is taken too: nothing is created through it
    assert init(tmp_path, "road").exit_code == 1 and not (tmp_path / "nowhere.yaml").exists()


def test_force_replaces_the_file_and_a_link_is_replaced_not_followed(tmp_path):
    (tmp_path / "gate.yaml").write_text("mine\n")
    (tmp_path / "gate.yaml").chmod(0o600)
    result = init(tmp_path, "gate", "--force")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "gate.yaml").read_bytes() == template_text("gate")
    assert stat.S_IMODE((tmp_path / "gate.yaml").stat().st_mode) == umasked(FILE_MODE)
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep me\n")
    (tmp_path / "road.yaml").symlink_to(target)
    assert init(tmp_path, "road", "--force").exit_code == 0
    assert target.read_text() == "keep me\n"
    assert not (tmp_path / "road.yaml").is_symlink() and (tmp_path / "road.yaml").read_bytes() == template_text("road")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere.txt", "gate.yaml", "road.yaml"]  # no temp left


def test_a_folder_that_cannot_be_written_is_one_line(tmp_path):
    result = init(tmp_path, "gate", "-o", "missing/gate.yaml")
    assert result.exit_code == 1
    assert result.stderr.startswith("ffsim: error: cannot write missing/gate.yaml: ") and result.stderr.count("\n") == 1


def test_an_unknown_template_is_one_line_with_a_suggestion(tmp_path):
    result = init(tmp_path, "garag")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "no template 'garag'; did you mean 'garage'?" in result.stderr
    assert "ffsim init --list" in result.stderr
    assert not list(tmp_path.iterdir())
    assert "did you mean" not in init(tmp_path, "xyzzy").stderr


def test_list_describes_every_template(tmp_path):
    result = init(tmp_path, "--list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == list(TEMPLATES)
    assert all(len(line.split(None, 1)[1]) > 20 for line in lines)
    assert "(default)" in lines[list(TEMPLATES).index(DEFAULT)]
    assert not list(tmp_path.iterdir())
