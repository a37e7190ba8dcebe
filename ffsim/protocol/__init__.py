"""Sans-I/O protocol layer: engine events to each profile's packets and their bytes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..engine import Engine, Event
from ..scenario.model import Scenario
from .jsonwire import camera_json
from .payload import KEY_ORDER, Payload, PayloadBuilder


@dataclass(slots=True)
class Packet:
    """One payload a profile sends: what a transport puts on the wire."""

    time_us: int  # virtual send time after t=0
    epoch_ms: int  # the same, as wall-clock epoch milliseconds
    profile: int
    payload: Payload
    event: Event

    def json_bytes(self) -> bytes:
        return self.payload.camera_json()


class Camera:
    """A scenario's camera: every packet of every profile, in send order."""

    def __init__(self, scenario: Scenario, start_us: int, profiles: list[int] | None = None):
        self.scenario = scenario
        self.start_us = start_us
        self.engine = Engine(scenario)
        chosen = scenario.profiles if profiles is None else [scenario.profile(p) for p in profiles]
        self.builders = [PayloadBuilder(scenario, p, start_us, self.engine.lists) for p in chosen if p is not None]

    def packets(self, until_us: int | None = None) -> Iterator[Packet]:
        start_us = self.start_us
        builders = self.builders
        for ev in self.engine.events(until_us):
            epoch_ms = (start_us + ev.time_us) // 1000
            for builder in builders:
                payload = builder.build(ev)
                if payload is not None:
                    yield Packet(ev.time_us, epoch_ms, builder.profile.id, payload, ev)


__all__ = ["Camera", "Packet", "Payload", "PayloadBuilder", "camera_json", "KEY_ORDER"]
