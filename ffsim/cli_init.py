"""``ffsim init [TEMPLATE]``: write a commented starter scenario (or fleet file) to edit.

The templates are files of the package, ``ffsim/templates/*.yaml``; each one validates and
plays as it stands (tests/test_init.py plays every one against the built-in receiver).

* Without ``-o``, TEMPLATE.yaml is written in the current folder; ``-o FILE`` names the file,
  ``-o FOLDER`` (an existing folder) writes TEMPLATE.yaml in it.
* An existing file is never replaced without ``--force`` (one line, exit 1). The check is the
  creation itself (O_EXCL), so nothing is written over in a race; with ``--force`` the new
  file is written beside the old one and renamed over it, so that a symbolic link at the
  destination is replaced, never written through, and a failed write leaves the old file whole.
* The fleet template names ``gate.yaml`` (relative to the fleet file): ``ffsim init fleet``
  writes that scenario next to the fleet file when it is missing, and leaves an existing one
  alone (even with ``--force``: it may be a scenario you have edited) and says so.
* Files are owner-only (0o600), as every file ffsim writes (ffsim.cli_common).

Registered by ffsim.cli as ``main.add_command(init_command, "init")``.
"""

from __future__ import annotations

import difflib
import os
import shlex
from dataclasses import dataclass
from importlib import resources

import click

from .cli_common import fail, write_file
from .terminal import printable



@dataclass(frozen=True)
class Template:
    name: str
    description: str
    needs: tuple[str, ...] = ()  # other templates the file names, written next to it when missing
    try_next: str = "ffsim validate {file} && ffsim run {file} --speed max"


TEMPLATES: dict[str, Template] = {t.name: t for t in (
    Template("gate", "a car-park gate: cars queue at the barrier, one leaves, a small generated flow (one zone)"),
    Template("road", "a two-lane road: generated traffic in both directions, misreads corrected (JSON over TCP)"),
    Template("garage", "a garage ramp with two zones, entry and exit, barriers and an allow-listed car"),
    Template("fleet", "a fleet file for `ffsim load`: three cameras playing gate.yaml (written too if missing)",
             needs=("gate",), try_next="ffsim validate {file} && ffsim load {file} --speed max"),
)}
DEFAULT = "gate"


def template_text(name: str) -> bytes:
    """The bytes of a bundled template (KeyError for an unknown name)."""
    template = TEMPLATES[name]
    return (resources.files("ffsim") / "templates" / f"{template.name}.yaml").read_bytes()


@click.command("init")
@click.argument("template", required=False, default=DEFAULT, metavar="[TEMPLATE]")
@click.option("-o", "--output", metavar="FILE",
              help="Where to write it (default: TEMPLATE.yaml here; a folder: TEMPLATE.yaml in it).")
@click.option("--force", is_flag=True, help="Replace the file if it exists.")
@click.option("--list", "list_", is_flag=True, help="List the templates and exit.")
def init_command(template: str, output: str | None, force: bool, list_: bool) -> None:
    """Write a commented starter scenario to edit: gate (the default), road, garage or fleet.

    Each one validates and plays as it stands; its first lines say what it shows and the
    commands to try (ffsim validate, ffsim events, ffsim run --speed max)."""
    if list_:
        width = max(map(len, TEMPLATES))
        for t in TEMPLATES.values():
            click.echo(f"{t.name:<{width}}  {t.description}{' (default)' if t.name == DEFAULT else ''}")
        return
    chosen = TEMPLATES.get(template)
    if chosen is None:
        close = difflib.get_close_matches(template, list(TEMPLATES), n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        fail(f"no template {printable(repr(template))}{hint} (templates: {', '.join(TEMPLATES)}; "
              "`ffsim init --list` describes them)")
        return
    path = output if output is not None else f"{chosen.name}.yaml"
    if output is not None and os.path.isdir(output):
        path = os.path.join(output, f"{chosen.name}.yaml")
    if any(os.path.basename(path) == f"{needed}.yaml" for needed in chosen.needs):
        fail(f"{printable(path)}: the {chosen.name} template names {printable(os.path.basename(path))} "
              "as its scenario; give another file name with -o")
    write_file(path, template_text(chosen.name), force)
    click.echo(f"wrote {printable(path)}: {chosen.description}")
    folder = os.path.dirname(path)
    for needed in chosen.needs:  # a file the template names, relative to it
        companion = os.path.join(folder, f"{needed}.yaml")
        if os.path.lexists(companion):
            click.echo(f"kept {printable(companion)} (already there; {printable(os.path.basename(path))} uses it)")
            continue
        write_file(companion, template_text(needed), False)
        click.echo(f"wrote {printable(companion)}: the scenario {printable(os.path.basename(path))} names")
    click.echo("next: " + printable(chosen.try_next.format(file=shlex.quote(path))))
