"""`ffsim schema`: the JSON Schema of scenario (or fleet) files, for editors (issue 12, item 1).

Registered by ffsim.cli as ``main.add_command(schema_command, "schema")``.
"""

from __future__ import annotations

import os
import sys

import click


@click.command(name="schema")
@click.option("--fleet", is_flag=True, help="The schema of fleet files (ffsim load) instead of scenarios.")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), default=None,
              help="Write the schema to this file (owner-only) instead of printing it.")
def schema_command(fleet: bool, output: str | None) -> None:
    """Print the JSON Schema of the scenario format (or of fleet files, --fleet).

    For yaml-language-server (VS Code, JetBrains, Neovim): put
    `# yaml-language-server: $schema=PATH/scenario.schema.json` as a scenario's first line.
    The schema checks structure; `ffsim validate FILE` has the last word.
    """
    from .scenario.editor_schema import schema_json

    text = schema_json(fleet)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    except OSError as exc:
        click.echo(f"ffsim: error: cannot write {output}: {exc.strerror or exc}", err=True)
        sys.exit(1)
