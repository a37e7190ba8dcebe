"""The discrete-event loop: a virtual clock and a heap of timed things.

Three kinds of things wait in the heap: a scenario vehicle's arrival, a
traffic flow's next arrival, and the next event of a vehicle on its way. Each
vehicle has at most one entry at a time, so the heap (and memory) grows with
the vehicles present at once, not with the length of the run.

Heap keys order same-time entries as the protocol asks: arrivals first (so a
vehicle arriving on a frame can be recognised on it), then events by carID and
New, Update, Lost. A New has no carID yet; every passage already under way
has a smaller one, so News sort after them, in arrival order, and take their
carIDs in that order.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..scenario.model import Scenario
from ..vocabulary import NEW, STATE_RANK
from .frames import FrameClock
from .lists import ListMatcher
from .traffic import FlowGenerator, make_normaliser, vehicle_from_spec
from .vehicle import Event, PassageTrace, Recogniser

if TYPE_CHECKING:  # imported when needed: ffsim.faults.timing imports the engine's Rng
    from ..faults.timing import Window

_ARRIVAL, _EVENT = 0, 1
_RUNNING, _STARTING = 0, 1


class Engine:
    def __init__(self, scenario: Scenario, reliable: bool = True):
        """reliable: make Reliable events (a camera none of whose profiles sends them need not)."""
        self.scenario = scenario
        rec = scenario.recognition
        self.clock = FrameClock(scenario.camera.fps)
        self.recogniser = Recogniser(
            scenario.zones, self.clock, rec.lost_timeout_us, rec.direction_min_travel, rec.update_interval_us,
            rec.reliable_confidence, rec.reliable_timeout_us, reliable,
        )
        self.windows: tuple[Window, ...] = ()
        if scenario.faults:
            self._dark(None)
        self.normalise = make_normaliser(rec.keep_separators)
        self.lists = ListMatcher(scenario.lists, self.normalise)
        # while tracing (trace()): each vehicle's origin by its seq, (0, index in scenario.vehicles)
        # or (1, index in scenario.traffic)
        self.origins: dict[int, tuple[int, int]] | None = None

    def trace(self) -> list[PassageTrace]:
        """Record the engine's decisions from now on: the list gets a PassageTrace per passage
        (made when its vehicle arrives), and origins each vehicle's place in the scenario."""
        trace: list[PassageTrace] = []
        self.recogniser.trace = trace
        self.origins = {}
        return trace

    def _dark(self, until_us: int | None) -> None:
        """The restarts' dark windows up to until_us (restart_windows), given to the recogniser."""
        from ..faults.timing import restart_windows

        self.windows = restart_windows(self.scenario, until_us)
        self.recogniser.set_dark([(w.start_us, w.end_us) for w in self.windows])

    def events(self, until_us: int | None = None) -> Iterator[Event]:
        """Every event the camera sends, in send order, up to virtual time until_us (inclusive)."""
        scenario = self.scenario
        if scenario.faults:
            self._dark(until_us)
        # restarts still to come: a New after one's start takes the first carID again
        windows = list(reversed(self.windows))
        heap: list[tuple] = []
        tick = 0  # insertion order, so entries never compare their payloads

        def push(time_us: int, kind: int, a: int, b: int, c: int, item) -> None:
            nonlocal tick
            tick += 1
            heapq.heappush(heap, (time_us, kind, a, b, c, tick, item))

        order = sorted(range(len(scenario.vehicles)), key=lambda i: (scenario.vehicles[i].at_us, i))
        for i in order:
            push(scenario.vehicles[i].at_us, _ARRIVAL, 0, i, 0, i)
        for i, flow in enumerate(scenario.traffic):
            gen = FlowGenerator(flow, i, scenario, self.normalise)
            if gen.next_us is not None:
                push(gen.next_us, _ARRIVAL, 1, i, 0, gen)

        next_seq = 0
        next_car_id = scenario.recognition.first_car_id
        recogniser = self.recogniser
        origins = self.origins

        def schedule(pending: list[Event], index: int) -> None:
            if index < len(pending):
                ev = pending[index]
                car_id = ev.passage.car_id
                if car_id is None:
                    push(ev.time_us, _EVENT, _STARTING, ev.passage.vehicle.seq, STATE_RANK[ev.state], (pending, index))
                else:
                    push(ev.time_us, _EVENT, _RUNNING, car_id, STATE_RANK[ev.state], (pending, index))

        while heap:
            time_us, kind, a, b, _, _, item = heapq.heappop(heap)
            if until_us is not None and time_us > until_us:
                return
            if kind == _ARRIVAL:
                if a == 0:
                    vehicle = vehicle_from_spec(scenario.vehicles[item], item, next_seq, scenario, self.normalise)
                else:
                    vehicle = item.make(next_seq)
                    item.advance()
                    if item.next_us is not None:
                        push(item.next_us, _ARRIVAL, 1, b, 0, item)
                if origins is not None:
                    origins[next_seq] = (a, b)
                next_seq += 1
                schedule(recogniser.events(vehicle), 0)
                continue
            pending, index = item
            ev = pending[index]
            if ev.state == NEW:
                while windows and windows[-1].start_us <= ev.time_us:
                    restart = windows.pop().restart
                    if restart.car_ids != "keep":
                        first = restart.first_car_id
                        next_car_id = first if first is not None else scenario.recognition.first_car_id
                ev.passage.car_id = next_car_id
                next_car_id += 1
            pending[index] = None  # the vehicle's list is the only other holder; let it go
            schedule(pending, index + 1)
            yield ev


def simulate(scenario: Scenario, until_us: int | None = None) -> Iterator[Event]:
    return Engine(scenario).events(until_us)
