"""What `ffsim load` plays: a fleet file, a scenario file made a quick fleet (--cameras N), or
recorded traffic of one camera (a capture or JSON lines) made a fleet (load.recorded)."""

from __future__ import annotations

import os
import stat

from ..scenario.fleet import Fleet, FleetError, fleet_from_scenario, is_fleet_file, load_fleet
from ..scenario.model import Scenario
from .recorded import Recording, is_recording, load_recording

QUICK_OPTIONS = ("--cameras", "--ramp", "--seed")


def fleet_of(path: str | os.PathLike[str] | Scenario, cameras: int | None = None, ramp_us: int = 0,
             seed: int = 0) -> Fleet | Recording:
    """The fleet a `ffsim load FILE` plays. A fleet file says everything itself (cameras, ramp and
    seed are its groups' business: ValueError when given as well); a scenario gives `cameras`
    cameras of itself (default 1), and so does a recording (a capture or JSON lines). Raises
    ScenarioError / FleetError with positions; RecordingError (`FILE:LINE: message`) for a
    recording with nothing to replay."""
    if not isinstance(path, Scenario):
        shown = os.fsdecode(path)
        try:
            mode = os.stat(shown).st_mode
        except OSError:
            mode = None  # the loaders say why, with a position
        if mode is not None and not stat.S_ISREG(mode):
            raise RecordingError(f"{shown}: not a regular file (a fleet file, a scenario, a capture or JSON lines)")
    if not isinstance(path, Scenario) and is_recording(os.fsdecode(path)):
        if seed:
            raise ValueError("--seed makes a fleet of a scenario file; a recording is replayed as recorded")
        try:
            return load_recording(os.fsdecode(path), cameras or 1, ramp_us)
        except ValueError as exc:
            raise RecordingError(str(exc)) from None
    if not isinstance(path, Scenario) and is_fleet_file(path):
        given = [name for name, value in zip(QUICK_OPTIONS, (cameras, ramp_us, seed)) if value]
        if given:
            raise ValueError(f"{', '.join(given)} make a fleet of a scenario file; {os.fsdecode(path)} is a fleet "
                             "file: say it in its groups (count:, ramp:, seed:)")
        return load_fleet(path)
    return fleet_from_scenario(path, cameras=cameras or 1, seed=seed, ramp_us=ramp_us)


class RecordingError(Exception):
    """A recording with nothing to replay: `FILE:LINE: message`."""


__all__ = ["FleetError", "RecordingError", "fleet_of", "is_fleet_file"]
