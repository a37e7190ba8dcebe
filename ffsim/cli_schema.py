"""`ffsim schema`: the JSON Schema of scenario (or fleet) files, for editors (issue 12, item 1).

Registered by ffsim.cli as ``main.add_command(schema_command, "schema")``.
"""

from __future__ import annotations

import click


@click.command(name="schema")
@click.option("--fleet", is_flag=True, help="The schema of fleet files (ffsim load) instead of scenarios.")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), default=None,
              help="Write the schema to this file (replaced if it exists) instead of printing it.")
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
    from .cli_common import fail, replace_file
    from .terminal import printable

    try:
        replace_file(output, text.encode("utf-8"))
    except OSError as exc:
        fail(f"cannot write {printable(output)}: {exc.strerror or exc}")
