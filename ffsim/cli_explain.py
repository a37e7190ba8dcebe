"""`ffsim explain FILE`: why each event is sent when it is, passage by passage (issue 12, item 3).

Registered by ffsim.cli as ``main.add_command(explain_command, "explain")``.
"""

from __future__ import annotations

import json
import sys

import click


class _Duration(click.ParamType):
    """A duration as ffsim reads them (10m, 90s, 1.5); the text itself, checked."""

    name = "DURATION"

    def convert(self, value, param, ctx):
        from .units import parse_duration

        try:
            parse_duration(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        return value


@click.command(name="explain")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--car", "car_id", type=int, metavar="ID", help="Only the passage(s) with this carID.")
@click.option("--until", type=_Duration(),
              help="Up to this virtual time (e.g. 10m), inclusive; needed when traffic has no end.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per passage, one per line.")
def explain_command(file: str, car_id: int | None, until: str | None, as_json: bool) -> None:
    """Print, per passage, why each event is sent when it is.

    The engine's own decisions: the first frame and read (New), the changes an Update carries
    and why it comes when it does (update_interval), the direction's distance and angles (0 up
    the image, 90 right, as zones' direction), what made the Reliable, the last recognition and
    lost_timeout (Lost), gaps rejoined within the timeout, restarts. Times are seconds after the
    scenario's t=0. The events are those of `ffsim events --no-faults`, with the restarts.
    """
    from .cli import _load_or_exit
    from .explain import explain, json_object, text_lines
    from .vocabulary import CAMERA_FAULTS

    scenario = _load_or_exit(file)
    if until is None and any(f.until_us is None for f in scenario.traffic):
        click.echo(f"ffsim: error: a traffic flow of {file} has no `until`: give --until (e.g. --until 10m)",
                   err=True)
        sys.exit(1)
    passages = explain(scenario, until=until, car=car_id)
    if car_id is not None and not passages:
        click.echo(f"ffsim: error: no passage has carID {car_id} in {file}"
                   + ("" if until is None else f" up to --until {until}"), err=True)
        sys.exit(1)
    several = len(scenario.profiles) > 1
    if as_json:
        for passage in passages:
            click.echo(json.dumps(json_object(passage), ensure_ascii=False))
        return
    later = sorted({f.type for f in scenario.faults if f.type not in CAMERA_FAULTS})
    if later:  # they act on the packets after the engine: copies, holds, payloads, the wire
        click.echo(f"(the engine's events, restarts included; the faults {', '.join(later)} act on the packets "
                   "after it: see ffsim events)")
    for i, passage in enumerate(passages):
        if i:
            click.echo("")
        for line in text_lines(passage, several):
            click.echo(line)
