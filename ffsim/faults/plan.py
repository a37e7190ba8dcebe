"""The fault plan: the camera's packets as a bad day sends them. Sans-I/O, no clock.

``FaultPlan(scenario, profiles).apply(stream)`` takes the camera's packets (and heartbeats) in
send order and yields ``Sent`` items, still in non-decreasing virtual time: each packet with its
payload faults applied and its wire fault attached, copies for duplicates, packets held back
for a reorder, a burst or a TCP coalesce and released later. Memory is bounded by what is held
(a reorder window, a burst's outage, a coalesce's documents).

Restarts and clock faults act inside the engine and the payload builder (they change what the
camera recognises and writes); their packets arrive here already marked (``Packet.fault``), and
their marks are kept.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ..engine.plates import Rng
from ..protocol import HeartbeatPacket, Packet
from ..scenario.model import Burst, Duplicate, Fault, PayloadFault, Profile, Reorder, Scenario, WireFault
from .. import vocabulary as V
from . import payload as payload_faults
from .timing import moments, share_hit


@dataclass(slots=True)
class Sent:
    """One thing to hand over at time_us: a packet as faulted, and what was done to it."""

    time_us: int
    packet: Packet | HeartbeatPacket
    faults: list[dict] = field(default_factory=list)  # the labels: never inside the payload
    wire: WireFault | None = None  # a byte-level fault for its first attempt
    coalesced: tuple[Sent, ...] = ()  # TCP: packets written in the same write after this one
    # duplicates to hand over after this one goes out: (delay, label, the packet copied) each
    copies: list[tuple[int, dict, Packet]] = field(default_factory=list)

    def documents(self) -> Iterator[Sent]:
        """This and the packets coalesced into its write, one by one."""
        yield self
        yield from self.coalesced

    def labelled(self) -> Packet | HeartbeatPacket:
        """The packet with its labels in `fault` (what ffsim.events() gives)."""
        if not self.faults:
            return self.packet
        return dataclasses.replace(self.packet, fault=self.faults)  # type: ignore[arg-type]


def _engine_labels(packet: Packet | HeartbeatPacket) -> list[dict]:
    mark = getattr(packet, "fault", None)
    if mark is None:
        return []
    return list(mark) if isinstance(mark, list) else [dict(mark)]


class _Trigger:
    """Decides, packet by packet, whether a fault strikes (its timing and its selection)."""

    def __init__(self, fault: Fault, profiles: dict[int, Profile], until_us: int | None):
        self.fault = fault
        self.timing = fault.timing
        self.moments = moments(fault, until_us) if (
            fault.timing.at_us is not None or fault.timing.rate_per_s is not None) else None
        self.next = next(self.moments, None) if self.moments is not None else None
        kind = fault.type
        wanted = {p for p in (fault.profiles if fault.profiles is not None else profiles) if p in profiles} - {0}
        if kind in V.HTTP_WIRE_FAULTS:
            wanted = {p for p in wanted if profiles[p].protocol == "http"}
        elif kind in V.TCP_WIRE_FAULTS:
            wanted = {p for p in wanted if profiles[p].protocol == "tcp"}
        elif kind in V.IMAGE_FAULTS:
            wanted = {p for p in wanted if profiles[p].image_kind != "none"}
        self.profiles = wanted

    def eligible(self, packet: Packet | HeartbeatPacket) -> bool:
        if not isinstance(packet, Packet) or packet.profile not in self.profiles:
            return False
        return self.fault.events is None or packet.event.state in self.fault.events

    def hits(self, packet: Packet | HeartbeatPacket) -> bool:
        """Whether the fault strikes this packet; advances at/rate moments past it."""
        if not self.eligible(packet):
            return False
        t = packet.time_us
        timing = self.timing
        if timing.during_us is not None:
            return timing.during_us[0] <= t < timing.during_us[1]
        if timing.share is not None:
            if t < timing.from_us or (timing.until_us is not None and t >= timing.until_us):
                return False
            assert isinstance(packet, Packet)
            return share_hit(self.fault, packet.profile, packet.payload.counter)
        if self.next is None or t < self.next:
            return False
        while self.next is not None and self.next <= t:  # moments before this packet: one hit in all
            self.next = next(self.moments, None) if self.moments is not None else None
        return True


def targets_of(fault: Fault, profiles: dict[int, Profile]) -> set[int]:
    """The profiles (ids) a fault can strike."""
    return _Trigger(fault, profiles, None).profiles


def unfit(scenario: Scenario, profiles: dict[int, Profile] | None = None) -> list[str]:
    """The faults that can strike no packet of this scenario as it is sent (after --http or --tcp
    changed its profiles' protocol): one line each."""
    chosen = profiles if profiles is not None else {p.id: p for p in scenario.profiles}
    out = []
    for fault in scenario.faults:
        if fault.type in V.CAMERA_FAULTS:
            continue
        if not _Trigger(fault, chosen, None).profiles:
            protocols = sorted({p.protocol for pid, p in chosen.items() if pid != 0})
            out.append(f"faults[{fault.index}] ({fault.type}) applies to no profile as they are sent "
                       f"(over {', '.join(protocols)})")
    return out


class FaultPlan:
    """Applies a scenario's delivery-level faults to the camera's packet stream."""

    def __init__(self, scenario: Scenario, profiles: dict[int, Profile] | None = None,
                 until_us: int | None = None):
        self.scenario = scenario
        self.profiles = profiles if profiles is not None else {p.id: p for p in scenario.profiles}
        self.until_us = until_us
        self.faults = tuple(f for f in scenario.faults if f.type not in V.CAMERA_FAULTS)
        self.struck: dict[int, int] = {}  # fault index -> packets struck, over the last apply()
        self.complete = False  # the last apply() went through its whole stream

    def unstruck(self) -> list[str]:
        """After a complete apply(): the faults that struck no packet, one line each (a fault asked
        for and never done would pass a test it should fail)."""
        if not self.complete:
            return []
        return [f"faults[{f.index}] ({f.name}) struck no packet: {_why_not(f)}"
                for f in self.faults if not self.struck.get(f.index)]

    def apply(self, stream: Iterable[Packet | HeartbeatPacket]) -> Iterator[Sent]:
        self.struck, self.complete = {}, False
        if not self.faults:  # the common case: nothing to do, no cost
            for packet in stream:
                yield Sent(packet.time_us, packet, _engine_labels(packet))
            self.complete = True
            return
        yield from _Applier(self).run(stream)
        self.complete = True


class _Applier:
    """The state of one pass over the stream."""

    def __init__(self, plan: FaultPlan):
        self.plan = plan
        self.triggers = [_Trigger(f, plan.profiles, plan.until_us) for f in plan.faults]
        self.by_index = {f.index: f for f in plan.faults}
        self.heap: list[tuple[int, int, Sent]] = []
        self.seq = 0
        # per (fault index, profile): a reorder's or coalesce's held items and what they wait for
        self.waiting: dict[tuple[int, int], tuple[list[Sent], int]] = {}
        self.bursts: dict[int, list[Sent]] = {}  # fault index -> held items

    def push(self, time_us: int, sent: Sent, counts: bool = True) -> None:
        """Hand sent over at time_us (in order with the rest); counts: it is one of the later
        packets a reorder's held one waits for (a duplicate's copy is not)."""
        sent.time_us = time_us
        heapq.heappush(self.heap, (time_us, self.seq, sent))
        self.seq += 1
        copies, sent.copies = sent.copies, []
        for delay_us, label, packet in copies:  # a duplicate follows its original, however late that went out
            self.push(time_us + delay_us, Sent(time_us, packet, [label]), counts=False)
        if counts:
            for doc in sent.documents():
                if isinstance(doc.packet, Packet):
                    self._count_for_reorders(doc.packet.profile, time_us)

    def due(self, time_us: int | None) -> Iterator[Sent]:
        while self.heap and (time_us is None or self.heap[0][0] <= time_us):
            yield heapq.heappop(self.heap)[2]

    def run(self, stream: Iterable[Packet | HeartbeatPacket]) -> Iterator[Sent]:
        last = 0
        for packet in stream:
            t = last = packet.time_us
            self._release_bursts(t)
            self._close_blocks(t)
            yield from self.due(t - 1)
            self._one(Sent(t, packet, _engine_labels(packet)))
            yield from self.due(t)
        self._release_bursts(None)
        for key in list(self.waiting):  # the stream ended before what they wait for: out at its end
            held, _ = self.waiting.pop(key)
            self._flush_held(key[0], held, last)
        yield from self.due(None)

    # -- one packet ------------------------------------------------------------------------
    def _one(self, sent: Sent) -> None:
        packet = sent.packet
        hit = [tr for tr in self.triggers if tr.hits(packet)]
        for tr in hit:
            self.plan.struck[tr.fault.index] = self.plan.struck.get(tr.fault.index, 0) + 1
        for tr in hit:  # the packet's own content first: payload and wire faults
            spec = tr.fault.spec
            if isinstance(spec, PayloadFault):
                assert isinstance(packet, Packet)
                profile = self.plan.profiles[packet.profile]
                rng = Rng(tr.fault.seed, "payload", packet.profile, packet.payload.counter)
                faulted, detail = payload_faults.apply(spec, packet.payload, profile.inline_images, rng)
                packet = dataclasses.replace(packet, payload=faulted)
                sent.packet = packet
                sent.faults.append(self._label(tr.fault, **detail))
            elif isinstance(spec, WireFault) and spec.kind != "tcp_coalesce":
                sent.wire = spec
                sent.faults.append(self._label(tr.fault, **_wire_detail(spec)))
        for tr in hit:
            spec = tr.fault.spec
            if isinstance(spec, Duplicate):
                assert isinstance(packet, Packet)
                sent.copies.extend((spec.delay_us, self._label(tr.fault, of=int(packet.payload.counter), copy=n + 1),
                                    packet) for n in range(spec.copies))
        profile_of = packet.profile if isinstance(packet, Packet) else 0
        holds = [tr for tr in hit if isinstance(tr.fault.spec, Burst) or (
            isinstance(tr.fault.spec, Reorder) and (tr.fault.index, profile_of) not in self.waiting)]
        if isinstance(packet, Packet):
            if holds:  # a fault holds this packet back: a coalesce being gathered ends before it
                self._end_coalesce(packet.profile, sent.time_us)
            elif self._coalesced_into(sent):
                return
        for tr in hit:  # faults that hold the packet back
            fault, spec = tr.fault, tr.fault.spec
            profile_id = packet.profile if isinstance(packet, Packet) else 0
            if isinstance(spec, Burst):
                assert fault.timing.during_us is not None
                sent.faults.append(self._label(fault, held_ms=(fault.timing.during_us[1] - sent.time_us) // 1000))
                self.bursts.setdefault(fault.index, []).append(sent)
                return
            if isinstance(spec, Reorder) and (fault.index, profile_id) not in self.waiting:
                self._reorder(fault, spec, sent)
                return
            if isinstance(spec, WireFault) and spec.kind == "tcp_coalesce":
                sent.faults.append(self._label(fault, documents=spec.documents))
                self.waiting[(fault.index, profile_id)] = ([sent], spec.documents - 1)
                return
        self.push(sent.time_us, sent)

    @staticmethod
    def _label(fault: Fault, **detail) -> dict:
        return {"type": fault.type, "name": fault.name, **detail}

    # -- held packets ----------------------------------------------------------------------
    def _fault(self, index: int) -> Fault:
        return self.by_index[index]

    def _coalesced_into(self, sent: Sent) -> bool:
        """A coalesce of this packet's profile is gathering documents: the packet joins its write."""
        packet = sent.packet
        assert isinstance(packet, Packet)
        for key in [k for k in self.waiting if k[1] == packet.profile]:
            if not isinstance(self._fault(key[0]).spec, WireFault):
                continue
            held, left = self.waiting[key]
            held.append(sent)
            if left <= 1:
                del self.waiting[key]
                self._flush_held(key[0], held, sent.time_us)
            else:
                self.waiting[key] = (held, left - 1)
            return True
        return False

    def _end_coalesce(self, profile: int, time_us: int) -> None:
        """A coalesce of this profile still gathering documents goes out now, with those it has."""
        for key in [k for k in self.waiting if k[1] == profile and isinstance(self._fault(k[0]).spec, WireFault)]:
            held, _ = self.waiting.pop(key)
            self._flush_held(key[0], held, time_us)

    def _count_for_reorders(self, profile: int, time_us: int) -> None:
        """A packet of this profile went out: a reorder's held packet follows after window-1 of them."""
        for key in [k for k in self.waiting if k[1] == profile]:
            if not isinstance(self._fault(key[0]).spec, Reorder):
                continue
            held, left = self.waiting[key]
            if left <= 1:
                del self.waiting[key]
                self._flush_held(key[0], held, time_us)
            else:
                self.waiting[key] = (held, left - 1)

    def _flush_held(self, index: int, held: list[Sent], time_us: int) -> None:
        fault = self._fault(index)
        if isinstance(fault.spec, WireFault):  # a coalesce: one write of all the documents
            self._coalesce(fault, held, time_us)
            return
        if isinstance(fault.spec, Reorder) and fault.timing.during_us is not None and len(held) > 1:
            self._shuffled(fault, held, time_us)
            return
        for s in held:
            self.push(time_us, s)

    def _coalesce(self, fault: Fault, held: list[Sent], time_us: int) -> None:
        first = held[0]
        counter = int(first.packet.payload.counter) if isinstance(first.packet, Packet) else None
        for s in held[1:]:
            s.faults.append(self._label(fault, written_with=counter))
            first.copies.extend(s.copies)  # their duplicates follow the write
            s.copies = []
            if first.wire is None and s.wire is not None:  # a tcp_split of any document splits the write
                first.wire = s.wire
        first.coalesced = tuple(held[1:])
        for s in first.coalesced:
            s.time_us = time_us  # sent in the write, at its time
        self.push(time_us, first)

    def _close_blocks(self, time_us: int) -> None:
        """A reorder's block whose interval has ended goes out as it is (shuffled), at the interval's
        end (after the last packet handed over, before this one)."""
        for key in [k for k in self.waiting if k[1] < 0]:
            fault = self._fault(key[0])
            assert fault.timing.during_us is not None
            if time_us >= fault.timing.during_us[1]:
                held, _ = self.waiting.pop(key)
                self._flush_held(key[0], held, max(fault.timing.during_us[1], held[-1].time_us))

    def _reorder(self, fault: Fault, spec: Reorder, sent: Sent) -> None:
        packet = sent.packet
        assert isinstance(packet, Packet)
        if fault.timing.during_us is None:  # one packet goes out after window-1 later ones
            sent.faults.append(self._label(fault, after=spec.window - 1))
            self.waiting[(fault.index, packet.profile)] = ([sent], spec.window - 1)
            return
        # during: blocks of `window` packets of a profile, each shuffled (seeded)
        key = (fault.index, -packet.profile - 1)  # negative profile: a block, not a waiting packet
        block, _ = self.waiting.get(key, ([], 0))
        block.append(sent)
        if len(block) < spec.window:
            self.waiting[key] = (block, 0)
            return
        self.waiting.pop(key, None)
        self._shuffled(fault, block, sent.time_us)

    def _shuffled(self, fault: Fault, block: list[Sent], time_us: int) -> None:
        first = block[0].packet
        assert isinstance(first, Packet)
        rng = Rng(fault.seed, "reorder", first.profile, first.payload.counter)
        order = list(range(len(block)))
        for i in range(len(order) - 1, 0, -1):  # Fisher-Yates
            j = rng.index(i + 1)
            order[i], order[j] = order[j], order[i]
        if order == sorted(order) and len(order) > 1:  # never the same order: that would be no fault
            order = order[1:] + order[:1]
        for now, was in enumerate(order):
            s = block[was]
            if now != was:
                s.faults.append(self._label(fault, was=was, now=now))
            self.push(time_us, s)

    def _release_bursts(self, time_us: int | None) -> None:
        for index in list(self.bursts):
            fault = self._fault(index)
            assert fault.timing.during_us is not None
            end = fault.timing.during_us[1]
            if time_us is not None and time_us < end:
                continue
            held = self.bursts.pop(index)
            until = self.plan.until_us
            if time_us is None and until is not None and until < end:
                # the run ends (--until) during the outage: the buffer goes out at its end
                end = max(until, held[-1].time_us)
                for s in held:
                    s.faults[-1]["held_ms"] = (end - s.time_us) // 1000
            spec = fault.spec
            if isinstance(spec, Burst) and spec.coalesce:
                by_profile: dict[int, list[Sent]] = {}
                for s in held:
                    assert isinstance(s.packet, Packet)
                    by_profile.setdefault(s.packet.profile, []).append(s)
                for profile, items in by_profile.items():
                    if self.plan.profiles[profile].protocol == "tcp" and len(items) > 1:
                        self._coalesce(fault, items, end)
                    else:
                        for s in items:
                            self.push(end, s)
                continue
            for s in held:
                self.push(end, s)


def _why_not(fault: Fault) -> str:
    timing = fault.timing
    which = "no packet it applies to"
    if fault.profiles is not None or fault.events is not None:
        which += " (its profiles and events)"
    if timing.at_us is not None:
        return f"{which} was sent at or after {timing.at_us / 1e6:g} s"
    if timing.during_us is not None:
        return f"{which} was sent during [{timing.during_us[0] / 1e6:g} s, {timing.during_us[1] / 1e6:g} s)"
    return f"{which} was drawn by its rate or share (seed {fault.seed})"


def _wire_detail(spec: WireFault) -> dict:
    if spec.kind in ("reset_mid_body", "truncated_multipart"):
        if spec.cut_after is not None:
            return {"cut_after": spec.cut_after}
        if spec.cut_image:
            return {"cut": "image"}
        return {"cut": spec.cut if spec.cut is not None else 0.5}
    if spec.kind == "trickle":
        return {"chunk": spec.chunk, "every_ms": spec.every_us / 1000}
    if spec.kind == "tcp_split":
        return {"pieces": spec.pieces, "pause_ms": spec.pause_us / 1000}
    return {}
