"""`ffsim explain FILE`: why each event is sent when it is, passage by passage (issue 12, item 3).

Registered by ffsim.cli as ``main.add_command(explain_command, "explain")``.
"""

from __future__ import annotations

import json

import click

from .cli_common import DURATION, fail, load_or_exit
from .terminal import printable


@click.command(name="explain")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--car", "car_id", type=int, metavar="ID", help="Only the passage(s) with this carID.")
@click.option("--until", "until_us", type=DURATION,
              help="Up to this virtual time (e.g. 10m), inclusive; needed when traffic has no end.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per passage, one per line.")
def explain_command(file: str, car_id: int | None, until_us: int | None, as_json: bool) -> None:
    """Print, per passage, why each event is sent when it is.

    The engine's own decisions: the first frame and read (New), the changes an Update carries
    and why it comes when it does (update_interval), the direction's distance and angles (0 up
    the image, 90 right, as zones' direction), what made the Reliable, the last recognition and
    lost_timeout (Lost), gaps rejoined within the timeout, restarts. Times are seconds after the
    scenario's t=0. The events are those of `ffsim events --no-faults`, with the restarts.
    """
    from .explain import iter_explain, json_object, text_lines
    from .vocabulary import CAMERA_FAULTS

    scenario = load_or_exit(file)
    if until_us is None and any(f.until_us is None for f in scenario.traffic):
        fail(f"a traffic flow of {printable(file)} has no `until`: give --until (e.g. --until 10m)")
    several = len(scenario.profiles) > 1
    later = sorted({f.type for f in scenario.faults if f.type not in CAMERA_FAULTS})
    if later and not as_json:  # they act on the packets after the engine: copies, holds, payloads, the wire
        click.echo(f"(the engine's events, restarts included; the faults {', '.join(later)} act on the packets "
                   "after it: see ffsim events)")
    # each passage as soon as it is over: a long run prints as it goes, in bounded memory
    shown = 0
    for passage in iter_explain(scenario, until=None if until_us is None else until_us / 1e6, car=car_id):
        if as_json:
            click.echo(json.dumps(json_object(passage), ensure_ascii=False))
        else:
            if shown:
                click.echo("")
            for line in text_lines(passage, several):
                click.echo(line)
        shown += 1
    up_to = "" if until_us is None else f" up to --until {until_us / 1e6:g} s"
    if car_id is not None and not shown:
        fail(f"no passage has carID {car_id} in {printable(file)}{up_to}")
    if not shown:  # said, so that an empty output is not taken for a failure to run
        click.echo(f"no passage in {printable(file)}{up_to}", err=True)
