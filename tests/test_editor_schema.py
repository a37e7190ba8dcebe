"""`ffsim schema`: the editor's JSON Schema agrees with the loader (issue 12, item 1).

The shipped schemas, ffsim/schema/scenario.schema.json and fleet.schema.json, are the output of
ffsim.scenario.editor_schema; after a change to it (or to ffsim/scenario/schema.py) regenerate them:

    ffsim schema -o ffsim/schema/scenario.schema.json
    ffsim schema --fleet -o ffsim/schema/fleet.schema.json

(or, without the command: python -c "from ffsim.scenario.editor_schema import schema_json as s;
open('ffsim/schema/scenario.schema.json', 'w').write(s()); open('ffsim/schema/fleet.schema.json',
'w').write(s(True))").
"""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

import ffsim
from ffsim.cli_schema import schema_command
from ffsim.scenario import load_fleet, scenario_from_text
from ffsim.scenario import schema as S
from ffsim.scenario.editor_schema import FAULT_DOCS, FLEET_DOCS, SCENARIO_DOCS, _Deriver, fleet_schema, scenario_schema
from ffsim.scenario.loader import ScenarioError, _Validator
from ffsim.scenario.yamlsource import load as yaml_load

from .test_faults_schema import BASE as FAULTS_BASE
from .test_fleet import FLEET
from .test_validate import CASES, GOOD

PACKAGE = Path(ffsim.__file__).resolve().parent
SCHEMAS = {"scenario": PACKAGE / "schema" / "scenario.schema.json", "fleet": PACKAGE / "schema" / "fleet.schema.json"}
BUNDLED = sorted((PACKAGE / "scenarios").glob("*.yaml")) + sorted((PACKAGE / "scenarios" / "faults").glob("*.yaml"))
CHECK_JSONSCHEMA = str(Path(sys.executable).parent / "check-jsonschema")


def check_jsonschema(schema: str, *files: Path) -> subprocess.CompletedProcess:
    """The standard validator's own command line (it reads YAML 1.2, timestamps as text)."""
    return subprocess.run([CHECK_JSONSCHEMA, "--schemafile", str(SCHEMAS[schema]), *map(str, files)],
                          capture_output=True, text=True, timeout=120)


def errors(schema: dict, text: str) -> list[str]:
    """The jsonschema library's errors for YAML text (parsed as the loader parses it), with the standard
    draft 2020-12 validator and with the loader's (whose integer refuses 5.0): both must agree."""
    data = yaml_load(text).data
    standard = sorted(e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(data))
    loaders = sorted(e.message for e in _Validator(schema).iter_errors(data))
    assert bool(standard) == bool(loaders), (standard, loaders)
    return loaders


def walk(orig: dict, editor: dict, path: str = ""):
    """(path, editor's subschema) of every key of the loader's schema, with the loader's subschema."""
    for name, sub in orig.get("properties", {}).items():
        node = editor["properties"][name]
        yield f"{path}{name}", node, sub
        yield from walk(sub, node, f"{path}{name}.")
    if isinstance(orig.get("items"), dict):
        yield from walk(orig["items"], editor["items"], path.rstrip(".") + "[].")
    if isinstance(orig.get("additionalProperties"), dict):
        yield from walk(orig["additionalProperties"], editor["additionalProperties"], path + "*.")
    for o, e in zip(orig.get("anyOf", []), editor.get("anyOf", []), strict=True):
        yield from walk(o, e, path)
    rules = orig.get("allOf", [])  # the editor's may add its own after them (TIMED_PATH_RULE)
    for o, e in zip(rules, editor.get("allOf", [])[:len(rules)], strict=True):
        yield from walk(o["then"], e["then"], f"{path}({o['if']['properties']['type']['const']})")


# -- the document -------------------------------------------------------------------------------
@pytest.mark.parametrize("name, orig, make", [("scenario", S.SCENARIO, scenario_schema),
                                              ("fleet", S.FLEET, fleet_schema)])
def test_every_key_has_a_description_and_no_x_message_is_left(name, orig, make):
    editor = make()
    assert editor["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert editor["$id"].endswith(f"/{name}.schema.json") and editor["title"] and editor["description"]
    keys = list(walk(orig, editor))
    assert len(keys) > (200 if name == "scenario" else 100)
    missing = [path for path, node, _ in keys if not node.get("description")]
    assert not missing, f"keys of schema.{name.upper()} without a description: {missing}"
    for path, node, sub in keys:  # enums as the loader has them (a number may stand for text: firmware: 2019)
        if "enum" in sub:
            assert node["enum"][:len(sub["enum"])] == sub["enum"], path
    assert "x-message" not in json.dumps(editor)
    jsonschema.Draft202012Validator.check_schema(editor)


def test_every_description_is_of_a_key_that_exists():
    used = set()
    for docs, orig in ((SCENARIO_DOCS, S.SCENARIO), (FLEET_DOCS, S.FLEET)):
        deriver = _Deriver(docs)
        deriver.node(orig, "", True)
        assert set(docs) <= deriver.used, set(docs) - deriver.used
        used |= {key for kind, key in (k for k in deriver.used if isinstance(k, tuple))}
    assert set(FAULT_DOCS) == used, set(FAULT_DOCS) ^ used


def test_defaults_and_examples_are_valid_values_of_their_keys():
    for orig, editor in ((S.SCENARIO, scenario_schema()), (S.FLEET, fleet_schema())):
        for path, node, sub in walk(orig, editor):
            check = jsonschema.Draft202012Validator({k: v for k, v in node.items() if k != "default"})
            if "default" in node:
                assert not list(check.iter_errors(node["default"])), path
            for example in node.get("examples", []):
                assert not list(check.iter_errors(example)), (path, example)


@pytest.mark.parametrize("name, make", [("scenario", scenario_schema), ("fleet", fleet_schema)])
def test_the_shipped_schema_is_the_functions_output(name, make):
    """If this fails, regenerate the files (see the module's docstring)."""
    assert json.loads(SCHEMAS[name].read_text()) == make()
    result = CliRunner().invoke(schema_command, ["--fleet"] if name == "fleet" else [])
    assert result.exit_code == 0 and result.output == SCHEMAS[name].read_text()


def test_the_schema_command_prints_json_and_writes_an_owner_only_file(tmp_path):
    result = CliRunner().invoke(schema_command, [])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == scenario_schema()
    result = CliRunner().invoke(schema_command, ["--fleet"])
    assert result.exit_code == 0 and json.loads(result.output) == fleet_schema()
    out = tmp_path / "s.json"
    out.write_text("old, longer than nothing" * 10000)
    result = CliRunner().invoke(schema_command, ["-o", str(out)])
    assert result.exit_code == 0 and result.output == ""
    assert json.loads(out.read_text()) == scenario_schema()
    fresh = tmp_path / "fleet.json"
    assert CliRunner().invoke(schema_command, ["--fleet", "--output", str(fresh)]).exit_code == 0
    assert json.loads(fresh.read_text()) == fleet_schema()
    assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o600
    result = CliRunner().invoke(schema_command, ["-o", str(tmp_path / "no" / "such.json")])
    assert result.exit_code == 1 and "cannot write" in result.output


# -- the bundled scenarios -------------------------------------------------------------------------
def test_every_bundled_scenario_names_the_schema_on_its_first_line():
    assert len(BUNDLED) >= 13
    for path in BUNDLED:
        first = path.read_text().split("\n", 1)[0]
        prefix = "# yaml-language-server: $schema="
        assert first.startswith(prefix), path
        assert (path.parent / first[len(prefix):]).resolve() == SCHEMAS["scenario"], path


def test_every_bundled_scenario_passes_check_jsonschema():
    result = check_jsonschema("scenario", *BUNDLED)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


def test_the_schemas_pass_check_jsonschemas_metaschema_check():
    result = subprocess.run([CHECK_JSONSCHEMA, "--check-metaschema", *map(str, SCHEMAS.values())],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.parent.name + "/" + p.name)
def test_every_bundled_scenario_passes_the_jsonschema_library(path):
    assert errors(scenario_schema(), path.read_text()) == []


# -- what the loader accepts, the schema accepts; its structural mistakes the schema refuses ---------
STRUCTURAL = ["wrong type", "unknown key", "three zones", "two-point polygon", "negative duration", "version 2",
              "missing version", "zone id", "bad rate", "protocol", "four profiles", "event type", "waypoint",
              "infinite"]
FAULT_MISTAKES = ["{type: duplicat, at: 1s}", "{type: reorder, at: 1s, windw: 3}",
                  "{type: clock_jump, at: 1m, by: 1 hour}", "{type: wrong_type, at: 1s, as: float}",
                  "{type: duplicate, share: 0}", "{type: duplicate, at: 1s, cameras: [1]}",
                  "{type: duplicate, at: 1s, copies: 9}", "{type: invalid_utf8_plate, at: 1s, bytes: 41}"]
MISTAKES = ([(name, GOOD.replace(old, new, 1)) for name, old, new, *_ in CASES if name in STRUCTURAL]
            + [(fault, FAULTS_BASE + f"  - {fault}\n") for fault in FAULT_MISTAKES]
            + [("rate as a number", GOOD.replace("vehicles:", "traffic: [{zone: 1, rate: 300}]\nvehicles:")),
               ("start as a number", GOOD.replace("version: 1", "version: 1\nstart: 2026")),
               ("firmware 2021", GOOD.replace("camera: {", "camera: {firmware: 2021, ")),
               ("seed 5.5", GOOD.replace("version: 1", "version: 1\nseed: 5.5"))]
            # timed paths: the rules on the whole path that an editor can flag too
            + [("timed path with a duration", GOOD.replace("[960, 1060]]", "{at: [960, 1060], time: 4s}]")),
               ("timed path with a wait", GOOD.replace("[960, 1060]]\n    duration: 4s",
                                                        "{at: [960, 1060], time: 4s, wait: 1s}]")),
               ("timed and plain points", GOOD.replace("[[960, 320], [960, 1060]]\n    duration: 4s",
                                                        "[[960, 320], {at: [960, 700], time: 2s}, [960, 1060]]")),
               ("plain point with a wait in a timed path",
                GOOD.replace("[[960, 320], [960, 1060]]\n    duration: 4s",
                             "[[960, 320], {at: [960, 700], wait: 2s}, {at: [960, 1060], time: 4s}]"))])


def test_the_structural_cases_are_those_of_the_validation_tests():
    assert set(STRUCTURAL) <= {c[0] for c in CASES}


@pytest.mark.parametrize("name, text", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_the_loaders_structural_mistakes_are_refused(tmp_path, name, text):
    with pytest.raises(ScenarioError):
        scenario_from_text(text, "s.yaml")
    assert errors(scenario_schema(), text), name
    path = tmp_path / "s.yaml"
    path.write_text(text)
    result = check_jsonschema("scenario", path)
    assert result.returncode == 1 and "validation errors" in result.stdout + result.stderr, result.stdout


ACCEPTED = [
    ("plate: 1234", GOOD.replace("plate: 5SX2207", "plate: 1234")),
    ("plate: 5E50011", GOOD.replace("plate: 5SX2207", "plate: 5E50011")),  # a float in YAML: 5 * 10 ** 50011
    ("start timestamp", GOOD.replace("version: 1", "version: 1\nstart: 2026-11-24T08:00:00Z")),
    ("start without offset", GOOD.replace("version: 1", "version: 1\nstart: 2026-11-24 08:00:00")),
    ("firmware: 2019", GOOD.replace("camera: {", "camera: {firmware: 2019, ")),
    ("numbers for text", GOOD.replace("version: 1", "version: 1\nname: 2024\ndescription: 7")
     .replace("camera: {", "camera: {device_id: 42, serial: 1234567, model: 1465, ip: 10, ")
     + "lists: {allow: [1234, {plate: 987, description: 12, date: 2026-10-02}]}\n"
     + "profiles: [{id: 1, device_id: 5, user_agent: 1.5, json_content_type: 7, boundary: abc}]\n"
     + "heartbeat: {firmware: 11, anpr_version: 2.7, auth: {type: basic, user: 1, password: 2}}\n"),
    ("a timed path", GOOD.replace("[[960, 320], [960, 1060]]\n    duration: 4s",
                                  "[{at: [960, 320], time: 0s}, {at: [960, 700], time: 2s}, {at: [960, 700], "
                                  "time: 9s}, {at: [960, 1060], time: 10.5s}]")),
    ("a fault", FAULTS_BASE + "  - {type: duplicate, at: 1s, copies: 2, profiles: [1], events: [lost]}\n"
     + "  - {type: invalid_utf8_plate, at: 2s, bytes: c328ff, name: bad, seed: 3}\n"),
]


@pytest.mark.parametrize("name, text", ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_what_the_loader_accepts_the_schema_accepts(tmp_path, name, text):
    scenario_from_text(text, "s.yaml")  # the loader takes it...
    assert errors(scenario_schema(), text) == []  # ...so do the schema
    path = tmp_path / "s.yaml"
    path.write_text(text)
    result = check_jsonschema("scenario", path)  # ...and the standard validator reading the file
    assert result.returncode == 0, result.stdout + result.stderr


# -- fleet files ------------------------------------------------------------------------------------
def fleet_file(tmp_path, text: str) -> Path:
    (tmp_path / "road.yaml").write_text(ffsim.bundled("busy-road").read_text())
    (tmp_path / "gate.yaml").write_text(ffsim.bundled("parking-gate").read_text())
    path = tmp_path / "fleet.yaml"
    path.write_text(text)
    return path


FLEET_FAULTS = FLEET.replace("seed: 1\n", """\
  - scenario: gate.yaml
    seed: 7
    offset_spread: seeded
    faults:
      - {type: burst, during: [3s, 26s]}
      - {type: duplicate, at: 18s, cameras: [2, 3]}
    count: 3
fleet: true
seed: 1
""")


@pytest.mark.parametrize("text", [FLEET, FLEET_FAULTS], ids=["fleet", "fleet with faults"])
def test_the_fleet_schema_validates_a_fleet_file(tmp_path, text):
    path = fleet_file(tmp_path, text)
    load_fleet(path)
    assert errors(fleet_schema(), text) == []
    result = check_jsonschema("fleet", path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("old, new", [("ramp: 60s", "rampp: 60s"), ("count: 5", "count: five"),
                                      ("firmware: 2021-lpv", "firmware: 2021"), ("version: 1", "version: 2"),
                                      ("duration: 10m", "duration: ten minutes")])
def test_the_fleet_schema_refuses_what_the_loader_refuses(tmp_path, old, new):
    text = FLEET.replace(old, new, 1)
    path = fleet_file(tmp_path, text)
    with pytest.raises(ScenarioError):
        load_fleet(path)
    assert errors(fleet_schema(), text)
    result = check_jsonschema("fleet", path)
    assert result.returncode == 1, result.stdout
