"""`ffsim import`: scenarios from what already exists (issue 12). `ffsim import sumo` turns SUMO's
floating car data into scenario vehicles as the camera sees them (ffsim.importers.sumo);
`ffsim import camera` turns a camera's recognition configuration into a scenario skeleton with
its zones (ffsim.importers.camera)."""

from __future__ import annotations

import math
import os
import sys

import click

from .cli_common import fail, progress_bar, write_file
from .terminal import printable


@click.group(name="import")
def import_group() -> None:
    """Make a scenario from what already exists."""


def _fail(lines: list[str]) -> None:
    for line in lines:
        click.echo(line, err=True)
    sys.exit(1)


@import_group.command("sumo")
@click.argument("fcd", type=click.Path(exists=True, dir_okay=False))
@click.option("--view", "view_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="YAML: four road points (SUMO x/y, metres) and their pixels, the camera's resolution and fps, "
                   "optionally zones and lost_timeout (README: Traffic from SUMO).")
@click.option("--country", "country_text", default="CZE", show_default=True, metavar="CODE[=W],...",
              help="The plates' countries: one code, or weights such as CZE=0.7,DEU=0.3.")
@click.option("--seed", type=click.IntRange(-(2**63), 2**63 - 1), default=0, show_default=True,
              help="Seed of the plates, makes and colours (and the scenario's seed).")
@click.option("--vtypes", "vtype_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="SUMO route or additional file whose vTypes give the vehicle classes (default: a vType id "
                   "such as truck or bus is taken as the class). Repeatable.")
@click.option("--begin", "begin_text", metavar="SECONDS",
              help="Import from this SUMO time on (as sumo --begin): a vehicle already in view is there from then.")
@click.option("--end", "end_text", metavar="SECONDS",
              help="Import until this SUMO time (as sumo --end); the FCD is read no further.")
@click.option("-o", "--output", metavar="FILE", help="Write the scenario there (default: standard output).")
@click.option("--force", is_flag=True, help="Replace the -o file if it exists.")
def sumo_command(fcd: str, view_file: str, country_text: str, seed: int, vtype_files: tuple[str, ...],
                 begin_text: str | None, end_text: str | None, output: str | None, force: bool) -> None:
    """Turn SUMO's floating car data (sumo --fcd-output FCD.xml[.gz]) into scenario vehicles.

    Each vehicle's stretch inside the view becomes a timed path in frame pixels with SUMO's
    timing (a queue's wait stays a wait), its type from SUMO's vehicle class (passenger CAR,
    truck TRUCK, bus BUS...), a plate generated per country. A vehicle out of the view for at
    most the lost timeout stays one vehicle (hidden meanwhile). A summary goes to standard error.
    At most 2 GB of XML is read (decompressed); --begin/--end import a time window of it.
    """
    from .importers.sumo import ImportProblem, import_fcd, load_view, parse_countries, seconds_us

    try:
        countries = parse_countries(country_text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--country'") from None
    window: dict[str, int | None] = {}
    for key, option, text in (("begin_us", "--begin", begin_text), ("end_us", "--end", end_text)):
        try:
            window[key] = None if text is None else seconds_us(text)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint=f"'{option}'") from None
    try:
        # an FCD may be gigabytes: a bar of its bytes read, on a terminal
        with progress_bar(f"reading {os.path.basename(fcd)}", kind="bytes", after_s=0) as progress:
            imported = import_fcd(fcd, load_view(view_file), countries=countries, seed=seed, vtype_files=vtype_files,
                                  progress=progress, **window)
    except ImportProblem as exc:
        _fail(exc.lines)
        return
    data = imported.text.encode()
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        write_file(output, data, force)
    where = "" if output is None else f" -> {printable(output)}"
    click.echo(f"ffsim import sumo: {imported.summary()}{where}", err=True)


# -- ffsim import camera -------------------------------------------------------------------------

def _resolution(_ctx, _param, value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    from .scenario.schema import MAX_FRAME_SIDE, MIN_FRAME_SIDE

    width, sep, height = value.lower().partition("x")
    if not (sep and width.isdigit() and height.isdigit()
            and all(MIN_FRAME_SIDE <= int(side) <= MAX_FRAME_SIDE for side in (width, height))):
        raise click.BadParameter(f"must be WIDTHxHEIGHT in pixels, each {MIN_FRAME_SIDE}-{MAX_FRAME_SIDE}, "
                                 "e.g. 1920x1080")
    return int(width), int(height)


def _finite(_ctx, _param, value: float) -> float:
    if not math.isfinite(value):
        raise click.BadParameter("must be a number of degrees")
    return value


@import_group.command("camera")
@click.argument("config", metavar="CONFIG.json")
@click.option("-o", "--output", metavar="FILE", help="Write the skeleton here (default: print it).")
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@click.option("--name", help="The scenario's name (default: CONFIG's file name).")
@click.option("--resolution", callback=_resolution, metavar="WxH",
              help="The frame size (default: the smallest of 1920x1080, 2560x1440, 3840x2160 that holds the zones).")
@click.option("--angle-offset", type=float, default=0.0, show_default=True, metavar="DEGREES", callback=_finite,
              help="Turn every arrow by this much, for a camera whose angles are not 0 = up the image, clockwise.")
def camera_command(config: str, output: str | None, force: bool, name: str | None,
                   resolution: tuple[int, int] | None, angle_offset: float) -> None:
    """A scenario skeleton from the camera's recognition configuration (JSON).

    It reads the documented fields wherever they stand: each object with `coordinates`
    (a zone's polygon, frame pixels), its `angle` (the arrow, thousandths of a degree) and
    `active`, and `ttl` (the lost timeout, milliseconds). The skeleton has those zones and
    timeout, and one example vehicle through each active zone along its arrow: it validates
    and plays as it stands. Mistakes: CONFIG:LINE:COL: message, exit 1."""
    from .importers.camera import import_camera_config
    from .scenario import ScenarioError

    try:
        result = import_camera_config(config, name=name, resolution=resolution, angle_offset=angle_offset)
    except ScenarioError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    except OSError as exc:
        fail(f"cannot read {printable(config)}: {exc.strerror or exc}")
    if output is None:
        click.echo(result.text, nl=False)
    else:
        write_file(output, result.text.encode(), force)
    inactive = len(result.zones) - len(result.active)
    timeout = f"lost timeout {result.lost_timeout_ms} ms" if result.lost_timeout_ms else "no ttl (lost timeout 5 s)"
    said = [f"{len(result.active)} zone{'s' if len(result.active) != 1 else ''}"
            + (f" ({inactive} inactive left out)" if inactive else ""), timeout,
            f"frame {result.resolution[0]}x{result.resolution[1]}" + ("" if result.resolution_given else " (guessed)")]
    if result.ignored:
        said.append("not read: " + ", ".join(printable(k) for k in result.ignored))
    where = f"wrote {printable(output)}: " if output else ""
    click.echo(where + "; ".join(said), err=True)
