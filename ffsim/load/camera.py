"""One camera of a load run, sans I/O: what it sends and when, and each delivery's policy.

A camera of a fleet keeps the camera's semantics (issue 10): per profile (and for its
heartbeat) one ``Lane``: a ``DeliveryQueue`` (one event at a time, in order, its own buffer,
retry policy and counters) and the transport whose handle or socket carries it. The
packets come from the same ``Camera`` and the same ``schedule`` as ``ffsim run``, so the
bytes are those of ``ffsim run`` of that camera's scenario.

Times here are load times: seconds of virtual time since the start of the load, where the
camera's scenario t=0 falls at ``FleetCamera.start_us`` (its joining plus its offset).
Nothing here reads a clock or touches a socket: the drivers (asyncio for ``ffsim load``,
gevent for the Locust workers) do, and report outcomes back with ``Lane.outcome``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

from ..protocol import Camera
from ..runner import delivery_name, schedule, sending_profiles
from ..scenario.fleet import FleetCamera
from ..scenario.model import Profile, Scenario, WireFault
from ..vocabulary import FAULT_FAMILIES, HTTP_WIRE_FAULTS
from ..transport import Outcome, TargetError
from ..transport.policy import DeliveryQueue, Item, Reports


def attempt_kind(outcome: Outcome) -> str:
    """What an attempt's outcome (as the queue reports it) means for the camera: "delivered",
    "rejected" (refused, skipped), "dropped" (given up), "fatal" (the target cannot work) or
    "retrying" (it stays at the head of its buffer). One reading for every driver."""
    if outcome.ok:
        return "delivered"
    if outcome.detail.endswith(" rejected"):
        return "rejected"
    if outcome.detail.startswith("dropped"):
        return "dropped"
    return "fatal" if outcome.fatal else "retrying"


# what `ffsim load`'s drivers (transport.multi, aio_tcp) cannot send: a raw path of their own
# would be needed. tcp_coalesce they send (the documents of one write are the message's).
UNSENT_WIRE_FAULTS = (*HTTP_WIRE_FAULTS, "tcp_split")


def unsent_wire_fault(scenario: Scenario, device_id: str) -> str | None:
    """The one-line refusal of a camera whose scenario has a wire fault load cannot send; None."""
    for fault in scenario.faults:
        if isinstance(fault.spec, WireFault) and fault.spec.kind in UNSENT_WIRE_FAULTS:
            return (f"camera {device_id}: faults[{fault.index}] ({fault.name}): wire faults are sent by ffsim run "
                    f"and the pytest camera; ffsim load does not send {fault.spec.kind} yet")
    return None


class Lane:
    """One delivery of one camera: a profile's, or the heartbeat's."""

    __slots__ = ("camera", "name", "profile", "queue", "transport", "handed", "driver", "documents", "copies",
                 "faulted")

    def __init__(self, camera: LoadCamera, name: str, profile: Profile, transport: Any,
                 backoff: tuple[float, float]) -> None:
        self.camera = camera
        self.name = name  # "1".."3" or "heartbeat"
        self.profile = profile
        self.queue = DeliveryQueue(profile.buffer, profile.buffer_size, profile.retry_on, backoff)
        self.transport = transport
        self.handed = 0  # events handed to the queue
        self.driver: Any = None  # what the driver keeps per lane (its wake-up signal)
        # delivered documents (a coalesced TCP write holds several) and, of them, the copies a
        # `duplicate` fault sent on purpose: what the end-to-end check expects the receiver to store
        self.documents = 0
        self.copies = 0
        self.faulted = 0  # delivered with a payload fault: the receiver may well find one thing wrong each

    def offer(self, item: Item) -> Reports:
        self.handed += 1
        return self.queue.offer(item)

    def outcome(self, outcome: Outcome, now: float) -> Reports:
        reports = self.queue.on_outcome(outcome, now)
        if outcome.ok:
            for item, _ in reports:
                self.documents += 1 + len(item.message.coalesced)
                marks = item.label.get("fault", ())
                self.copies += sum(1 for f in marks if f.get("type") == "duplicate")
                self.faulted += any(FAULT_FAMILIES.get(f.get("type")) == "payload" for f in marks)
        return reports

    @property
    def kept_connection(self) -> bool:
        """A TCP profile that keeps its connection (newline or none framing)."""
        return self.profile.protocol == "tcp" and self.profile.framing != "per-connection"


class LoadCamera:
    """A fleet camera's packets, in send order, and its lanes."""

    def __init__(self, fleet_camera: FleetCamera, scenario: Scenario, epoch_us: int, until_us: int | None,
                 transport: Callable[[Profile], Any], backoff: tuple[float, float] = (0.1, 5.0)) -> None:
        """scenario: the camera's, with its targets; epoch_us: the load's t=0 in epoch microseconds
        (payload times); until_us: the end of the load (load time), None: the scenario's end."""
        refusal = unsent_wire_fault(scenario, fleet_camera.device_id)
        if refusal:
            raise TargetError(refusal)
        self.fleet_camera = fleet_camera
        self.index = fleet_camera.index
        self.group = fleet_camera.group
        self.device_id = fleet_camera.device_id
        self.offset_s = fleet_camera.start_us / 1e6
        self.join_s = fleet_camera.join_us / 1e6
        profiles = sending_profiles(scenario)
        self.lanes: dict[str, Lane] = {
            delivery_name(pid): Lane(self, delivery_name(pid), p, transport(p), backoff) for pid, p in profiles.items()}
        local_until = None if until_us is None else until_us - fleet_camera.start_us
        self.camera = Camera(scenario, epoch_us + fleet_camera.start_us)
        self._items: Iterator[tuple[float, str, Item]] = (
            iter(()) if local_until is not None and local_until < 0
            else schedule(self.camera, profiles, local_until))
        self.exhausted = False  # every packet was taken
        self.taken = 0  # packets taken by the driver (handed to a lane, or held when a stop came)

    def next(self) -> tuple[float, Lane, Item] | None:
        """The next packet: (load time in seconds, its lane, the item); None after the last."""
        for moment, name, item in self._items:
            self.taken += 1
            return self.offset_s + moment, self.lanes[name], item
        self.exhausted = True
        return None

    def count_rest(self, give_up: Callable[[], bool]) -> int | None:
        """How many packets were never handed to a lane (a stopped load): the one the driver
        held, and the rest generated to the end, unless give_up() says so first (then None:
        unknown)."""
        rest = self.taken - sum(lane.handed for lane in self.lanes.values())
        for n, _ in enumerate(self._items):
            rest += 1
            if n % 256 == 255 and give_up():
                return None
        self.exhausted = True
        return rest

    def pending(self) -> int:
        return sum(len(lane.queue) for lane in self.lanes.values())

    def counters(self) -> dict[str, dict[str, int]]:
        """Per lane: the camera's own counters and what is still buffered."""
        return {name: {**dataclasses.asdict(lane.queue.counters), "handed": lane.handed,
                       "buffered": len(lane.queue)} for name, lane in self.lanes.items()}
