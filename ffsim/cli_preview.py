"""``ffsim preview FILE``: draw the scenario (frame, zones, paths, timeline of passages) as a picture.

* The picture is ffsim.render.preview's: PNG or SVG, the same bytes for the same scenario.
* Without ``-o``, FILE's name with .png (or .svg with ``--format svg``) is written in the current
  folder (``-o FOLDER``: in that folder); ``-o NAME.png`` or ``-o NAME.svg`` names it (the format
  follows the suffix unless ``--format`` says); ``-o -`` writes the picture to standard output
  (the summary then goes to standard error). A file named is replaced if it exists: that is what
  asking for a picture means. It is written beside its destination and renamed over it, so a
  reader never sees half a picture and a symbolic link there is replaced, not written through
  (a folder, device or pipe there is refused); owner-only, as every file ffsim writes.
* A scenario with errors prints them as ``FILE:LINE:COL: message`` and exits 1, as ``ffsim events``.

Registered by ffsim.cli as ``main.add_command(preview_command, "preview")``.
"""

from __future__ import annotations

import json
import os
import sys
import time

import click

from .cli_common import DURATION, fail, load_or_exit, progress_bar, replace_file
from .terminal import printable

SUFFIXES = {".png": "png", ".svg": "svg"}


def _format_of(output: str | None, given: str | None) -> str:
    if given is not None:
        return given
    if output is None or output == "-":
        return "png"
    suffix = os.path.splitext(output)[1].lower()
    if suffix not in SUFFIXES:
        raise click.UsageError(f"cannot tell the picture's format from {printable(output)!r}: "
                               "name it .png or .svg, or give --format")
    return SUFFIXES[suffix]


@click.command("preview")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", metavar="FILE",
              help="Where to write the picture: NAME.png or NAME.svg, or - for standard output "
                   "(default: FILE's name with .png, here; a folder: in it).")
@click.option("--format", "image_format", type=click.Choice(["png", "svg"]),
              help="The picture's format (default: from -o's suffix, else png).")
@click.option("--at", "at_us", type=DURATION, metavar="TIME",
              help="Draw the frame at this virtual time (e.g. 12.5s) as the camera sees it, and the minute "
                   "before it (TIME - 60 s to TIME + 10 s).")
@click.option("--until", "until_us", type=DURATION, metavar="DURATION",
              help="Vehicles and events up to this virtual time (default: all; for traffic without "
                   "an end in sight, the first minute).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def preview_command(file: str, output: str | None, image_format: str | None, at_us: int | None,
                    until_us: int | None, as_json: bool) -> None:
    """Draw FILE as one picture: the camera frame with the zones (ids, polygons, arrows) and each
    vehicle's path (a dot every second, its times, its plate); under it, per profile, a timeline
    of the passages, one bar per carID from New to Lost, with Updates, Reliables, misreads,
    occlusions and restarts marked. With --at, the frame is the scene at that moment as the
    camera sees it, and the timeline has a line there.

    The same scenario gives the same bytes, PNG or SVG."""

    folder = output if output is not None and output != "-" and os.path.isdir(output) else None
    chosen = _format_of(None if folder is not None else output, image_format)
    if output is None or folder is not None:
        output = os.path.join(folder or "", os.path.splitext(os.path.basename(file))[0] + "." + chosen)
    started = time.perf_counter()
    scenario = load_or_exit(file)
    from .render.preview import PreviewError, render_preview

    try:
        with progress_bar(f"preview {os.path.basename(file)}") as advance:
            picture = render_preview(scenario, until_us=until_us, at_us=at_us, image_format=chosen,
                                     progress=advance)
    except PreviewError as exc:
        fail(f"{printable(file)}: {exc}")
        return
    if output == "-":
        try:
            sys.stdout.buffer.write(picture.data)
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(0)
    else:
        try:
            replace_file(output, picture.data)
        except OSError as exc:
            fail(f"cannot write {printable(output)}: {exc.strerror or exc}")
    seconds = time.perf_counter() - started
    summary = {
        "path": output, "format": chosen, "width": picture.size[0], "height": picture.size[1],
        "bytes": len(picture.data), "vehicles": len(picture.vehicles), "passages": picture.passages,
        "bin": picture.bin_us / 1e6 if picture.bin_us else None,
        "events": picture.events, "profiles": list(picture.profiles),
        "until": None if picture.until_us is None else picture.until_us / 1e6,
        "windowed": picture.windowed, "window": [picture.window_us[0] / 1e6, picture.window_us[1] / 1e6],
        "at": None if at_us is None else at_us / 1e6,
        "seconds": round(seconds, 3),
    }
    to_stderr = output == "-"
    if as_json:
        click.echo(json.dumps(summary), err=to_stderr)
        return
    shown = "standard output" if output == "-" else printable(output)
    window = f"; {picture.shown}" if picture.shown else ""
    moment = "" if at_us is None else f", the frame at {at_us / 1e6:g} s"
    click.echo(f"wrote {shown} ({chosen.upper()}, {picture.size[0]}x{picture.size[1]} px{moment}): "
               f"{len(picture.vehicles)} vehicle(s){' drawn' if picture.bin_us else ''}, {picture.passages} passage(s)"
               f"{f' counted per {picture.bin_us / 1e6:g} s' if picture.bin_us else ''}, {picture.events} event(s)"
               f"{window}, in {seconds:.2f} s", err=to_stderr)
