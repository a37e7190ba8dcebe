"""Why each event is sent when it is (`ffsim explain`): the engine's own decisions, in words.

The engine records what it decides for each passage while it runs (``Engine.trace()``: a
``PassageTrace`` per passage, see ffsim/engine/vehicle.py); nothing here decides anything
again. This module pairs each event the engine sends with the record of its passage and
words it: the first frame and read for the New, the changes an Update carries (and why it
is later than them), the direction's numbers, what made the Reliable, the last recognition
and the timeout for the Lost, the gaps a passage was rejoined over, a restart that cut it.

    >>> for passage in explain("scenarios/misread-corrected.yaml"):
    ...     print("\\n".join(text_lines(passage)))
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

from .engine import Engine, Event, Passage
from .engine.vehicle import PassageTrace
from .scenario.model import Scenario
from .terminal import printable
from .vocabulary import LOST, NEW, RELIABLE, UPDATE

__all__ = ["ExplainedEvent", "Note", "PassageExplanation", "explain", "iter_explain", "text_lines", "json_object", "seconds"]


@dataclass(frozen=True, slots=True)
class ExplainedEvent:
    """One event the camera sends, and why then."""

    time_us: int  # virtual send time after t=0 (the packets' time)
    state: str
    text: str  # the reported plate text (plateUTF8)
    confidence: float
    direction: str  # carMoveDirection
    zone: int  # roiID
    profiles: tuple[int, ...]  # the profiles that send it (each sends the event types it lists)
    why: str
    facts: dict = field(default_factory=dict)  # the numbers behind `why` (times in microseconds)


@dataclass(frozen=True, slots=True)
class Note:
    """Something that shaped the passage without an event of its own at that moment."""

    time_us: int
    text: str
    facts: dict = field(default_factory=dict)


@dataclass(slots=True)
class PassageExplanation:
    """One passage: its carID, its vehicle, its events with their reasons, and the notes between."""

    car_id: int
    plate: str  # as shown on the vehicle
    source: str  # "vehicles" (listed in the scenario) or "traffic" (made by a flow)
    index: int  # position in the scenario's vehicles or traffic
    seq: int  # the vehicle's number in arrival order (several passages may share it)
    events: list[ExplainedEvent]
    notes: list[Note]

    @property
    def origin(self) -> str:
        """vehicles[2], or traffic[0], arrival #17 (the vehicles in arrival order, from 0)."""
        if self.source == "vehicles":
            return f"vehicles[{self.index}]"
        return f"traffic[{self.index}], arrival #{self.seq}"


def seconds(time_us: int) -> str:
    """A virtual time as seconds after t=0 with 3 decimals (milliseconds truncated, as the payloads' times)."""
    return f"{time_us // 1_000_000}.{time_us // 1000 % 1000:03d} s"


def _duration(us: int) -> str:
    text = f"{us / 1e6:.6f}".rstrip("0").rstrip(".")
    return f"{text} s"


def _num(value: float, digits: int = 1) -> str:
    """A measured number, rounded for reading (41.2, 180)."""
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _conf(value: float) -> str:
    return f"{value:g}"


def _angle(dx: float, dy: float) -> float:
    """A movement's heading in the scenario's convention: degrees, 0 up the image, 90 right."""
    return math.degrees(math.atan2(dx, -dy)) % 360.0


_UNSEEN = {"path": "its path ends", "outside": "it left the zones", "hidden": "hidden",
           "dark": "the camera is down (a restart)"}


class _Words:
    """Puts one scenario's passage records into words."""

    def __init__(self, scenario: Scenario, engine: Engine):
        self.scenario = scenario
        self.engine = engine
        self.rec = engine.recogniser
        self.time = engine.clock.time
        self.zones = {z.id: z for z in scenario.zones}
        recognition = scenario.recognition
        self.timeout = recognition.lost_timeout_us
        self.interval = recognition.update_interval_us
        self.threshold = recognition.reliable_confidence
        self.reliable_timeout = recognition.reliable_timeout_us

    def at(self, frame: int) -> str:
        return seconds(self.time(frame))

    def profiles(self, state: str) -> tuple[int, ...]:
        return tuple(p.id for p in self.scenario.profiles if state in p.events)

    def unseen(self, why: PassageTrace, frame: int) -> tuple[str, dict]:
        """Why the vehicle is not recognised on frame, in words, and the hidden interval if that is it."""
        v = why.vehicle
        reason = self.rec.unseen_because(v, frame)
        if reason == "hidden":
            t = self.time(frame)
            for a, b in v.hidden:
                if a <= t < b:
                    return (f"hidden from {seconds(a)} to {seconds(b)}",
                            {"reason": reason, "hidden_us": [a, b]})
        return _UNSEEN.get(reason, reason), {"reason": reason}

    # -- the events ---------------------------------------------------------------------------------
    def new(self, why: PassageTrace, ev: Event) -> tuple[str, dict]:
        k_first, zone = why.runs[0][0], why.runs[0][2]
        reads = why.vehicle.reads
        read = reads[why.first_read]
        text = f"first frame in zone {zone} at {self.at(k_first)}; "
        text += f"read {why.first_read + 1} of {len(reads)}: " if len(reads) > 1 else "read "
        text += f"{printable(read.text)}, confidence {_conf(read.confidence)}"
        facts: dict = {"frame_us": self.time(k_first), "zone": zone, "read": why.first_read + 1,
                       "reads": len(reads)}
        if why.before is not None:
            last = self.time(why.before)
            facts["previous_recognition_us"] = last
            if why.restart_us is not None:
                text += (f"; a new passage: the camera restarted at {seconds(why.restart_us)}, after the "
                         f"vehicle's last recognition at {seconds(last)}")
                facts["restart_us"] = why.restart_us
            else:
                text += (f"; a new passage: seen again {_duration(self.time(k_first) - last)} after the last "
                         f"recognition at {seconds(last)}, more than lost_timeout {_duration(self.timeout)}")
        return text, facts

    def update(self, why: PassageTrace, ev: Event, nth: int) -> tuple[str, dict]:
        sent = [u for u in why.updates if u[4]]
        send, k_change, i_from, i_to, _ = sent[nth]
        parts = []
        carried = []
        text_changes = [c for c in why.changes if c[1] == 2]
        for change in why.changes[i_from:i_to]:
            frame, kind, value = change
            if kind == 3:
                parts.append(self.direction(why, value))
                carried.append({"kind": "direction", "frame_us": self.time(frame), "value": value})
            elif kind == 2:
                _, old, n_new, n_old = why.text_reads[text_changes.index(change)]
                new_text = value[0]
                if n_new == n_old:
                    count = f"as many as {printable(old)} had, and the more recent"
                else:
                    count = f"more than {printable(old)}'s {n_old}"
                parts.append(f"plate text changed from {printable(old)} to {printable(new_text)} at "
                             f"{self.at(frame)} after {n_new} reads ({count})")
                carried.append({"kind": "text", "frame_us": self.time(frame), "from": old, "to": new_text,
                                "reads": n_new, "reads_before": n_old, "confidence": value[1]})
            elif kind == 0:
                parts.append(f"now in zone {value} (since {self.at(frame)})")
                carried.append({"kind": "zone", "frame_us": self.time(frame), "zone": value})
        text = "; ".join(parts)
        facts: dict = {"changes": carried}
        if send > k_change:
            due = self.time(k_change) + self.interval
            facts["update_interval_us"] = self.interval
            if send == why.lost_frame and self.engine.clock.floor(due) > send:
                text += (f"; sent on the Lost's frame: the update_interval {_duration(self.interval)} from the "
                         f"change at {self.at(k_change)} would end later")
            else:
                text += (f"; held for the update_interval {_duration(self.interval)} from the change at "
                         f"{self.at(k_change)}: sent on its last frame")
        return text, facts

    def direction(self, why: PassageTrace, decided: str) -> str:
        """decided: the engine's verdict (in or out), worded with the numbers it came from."""
        assert why.direction is not None
        frame, zone, x0, y0, x, y, _, _ = why.direction
        dx, dy = x - x0, y - y0
        moved, heading = math.hypot(dx, dy), _angle(dx, dy)
        arrow = self.zones[zone].direction % 360.0
        off = abs((heading - arrow + 180.0) % 360.0 - 180.0)
        # the engine's test is the sign of the movement along the arrow: in when it is positive
        verdict = "(less than 90): in" if decided == "in" else "(90 or more): out"
        return (f"direction decided at {self.at(frame)} after {_num(moved)} px at {_num(heading)} degrees "
                f"compared with the arrow of zone {zone} at {_num(arrow)} degrees: {_num(off)} degrees off {verdict}")

    def direction_facts(self, why: PassageTrace) -> dict:
        if why.direction is None:
            return {}
        frame, zone, x0, y0, x, y, _, _ = why.direction
        heading = _angle(x - x0, y - y0)
        return {"direction": {"frame_us": self.time(frame), "zone": zone, "from": [x0, y0], "to": [x, y],
                              "distance_px": math.hypot(x - x0, y - y0), "angle": heading,
                              "arrow": self.zones[zone].direction % 360.0,
                              "min_travel_px": self.scenario.recognition.direction_min_travel}}

    def reliable(self, why: PassageTrace, ev: Event) -> tuple[str, dict]:
        assert why.reliable is not None
        frame, reason, conf = why.reliable
        threshold = _conf(self.threshold)
        facts = {"reason": reason, "confidence": conf, "reliable_confidence": self.threshold,
                 "reliable_timeout_us": self.reliable_timeout}
        if reason == "new":
            return (f"the first read's confidence {_conf(conf)} reaches reliable_confidence {threshold} "
                    "on the New's frame"), facts
        if reason == "confidence":
            return (f"confidence {_conf(conf)} of {printable(ev.text)} at {self.at(frame)} reaches "
                    f"reliable_confidence {threshold}"), facts
        new_at = self.at(why.runs[0][0])
        if reason == "timeout":
            return (f"reliable_timeout {_duration(self.reliable_timeout)} after the New at {new_at} ran out; "
                    f"confidence {_conf(conf)} stayed below reliable_confidence {threshold}"), facts
        return (f"due on the Lost's frame, before reliable_timeout {_duration(self.reliable_timeout)} after the "
                f"New at {new_at} ran out; confidence {_conf(conf)} stayed below reliable_confidence "
                f"{threshold}"), facts

    def lost(self, why: PassageTrace, ev: Event) -> tuple[str, dict]:
        last = self.time(why.last_frame)
        then, facts = self.unseen(why, why.last_frame + 1)
        facts.update({"last_recognition_us": last, "lost_timeout_us": self.timeout})
        return (f"the first frame more than lost_timeout {_duration(self.timeout)} after the last recognition at "
                f"{seconds(last)} (then {then})"), facts

    # -- between the events ---------------------------------------------------------------------------
    def notes(self, why: PassageTrace) -> list[Note]:
        out = []
        for (_, k1, _), (k0, _, zone) in zip(why.runs, why.runs[1:]):
            if k0 == k1 + 1:
                continue  # a zone change: its Update says so
            then, facts = self.unseen(why, k1 + 1)
            gap = self.time(k0) - self.time(k1)
            facts.update({"last_recognition_us": self.time(k1), "again_us": self.time(k0), "zone": zone})
            out.append(Note(self.time(k1 + 1), (
                f"not recognised from {self.at(k1 + 1)} ({then}); recognised again at {self.at(k0)} in zone "
                f"{zone}, {_duration(gap)} after the last recognition: within lost_timeout "
                f"{_duration(self.timeout)}, the same passage"), facts))
        for send, k_change, _, _, sent in why.updates:
            if not sent:
                out.append(Note(self.time(send), (
                    f"the changes since {self.at(k_change)} cancelled out within the update_interval "
                    f"{_duration(self.interval)}: no Update"), {"change_us": self.time(k_change)}))
        if why.cut_us is not None:
            window = next((w for w in self.engine.windows if w.start_us == why.cut_us), None)
            name = f" ({printable(window.fault.name)}, down until {seconds(window.end_us)})" if window else ""
            dropped = ", ".join(f"{state.capitalize()} at {seconds(t)}" for t, state in why.dropped)
            out.append(Note(why.cut_us, (
                f"the camera restarted at {seconds(why.cut_us)}{name}: the passage is forgotten"
                + (f"; not sent: {dropped}" if dropped else "")),
                {"restart_us": why.cut_us, "not_sent": [{"time_us": t, "state": s} for t, s in why.dropped]}))
        return out


def explain(scenario, *, until: float | int | str | None = None, car: int | None = None) -> list[PassageExplanation]:
    """Every passage the camera reports up to virtual time `until` (seconds or a duration such as
    "10m"; required when a traffic flow has no end), with why each of its events comes when it
    does, in the order of their News; car: only the passages with that carID. The events are
    the engine's (those of `ffsim events`, with the scenario's restarts; the faults applied
    after the engine, such as duplicates or reordering, are not in them). As a list: see
    iter_explain for one passage at a time."""
    return list(iter_explain(scenario, until=until, car=car))


def iter_explain(scenario, *, until: float | int | str | None = None,
                 car: int | None = None) -> Iterator[PassageExplanation]:
    """explain(), one passage at a time, each as soon as it is over and every passage whose New
    came before it has been given: memory grows with the passages under way, not with the run."""
    from . import scenario_of
    from .options import duration_us

    model = scenario_of(scenario)
    until_us = duration_us(until, "until")
    if until_us is None and any(f.until_us is None for f in model.traffic):
        raise ValueError("a traffic flow of this scenario has no `until`: give until=")
    engine = Engine(model, reliable=any(RELIABLE in p.events for p in model.profiles))
    trace = engine.trace()
    origins = engine.origins
    assert origins is not None
    words = _Words(model, engine)
    records: dict[Passage, tuple[PassageTrace, tuple[int, int]]] = {}  # its record and its vehicle's origin
    under_way: dict[Passage, list[Event]] = {}  # in the order of their News
    over: set[Passage] = set()
    cuts: list[tuple[int, int, Passage]] = []  # (restart, New's number, passage): over once time passes it
    resets: dict[Passage, int] = {}
    restarts_seen = 0
    news = 0
    for ev in engine.events(until_us):
        if trace:  # the passages of the vehicles that arrived since the last event
            for why in trace:
                if why.passage is not None:
                    records[why.passage] = (why, origins[why.vehicle.seq])
            for why in trace:
                origins.pop(why.vehicle.seq, None)
            trace.clear()
        passage = ev.passage
        if ev.state == NEW:
            under_way[passage] = [ev]
            news += 1
            why = records[passage][0]
            if why.cut_us is not None:
                heapq.heappush(cuts, (why.cut_us, news, passage))
            # carIDs start again at a restart: the first New after it (after several, the last one's start)
            windows = engine.windows
            reset = None
            while restarts_seen < len(windows) and windows[restarts_seen].start_us <= ev.time_us:
                if windows[restarts_seen].restart.car_ids != "keep":
                    reset = windows[restarts_seen].start_us
                restarts_seen += 1
            if reset is not None:
                resets[passage] = reset
        else:
            under_way[passage].append(ev)
            if ev.state == LOST:
                over.add(passage)
        while cuts and cuts[0][0] <= ev.time_us:  # its events all come before the restart
            over.add(heapq.heappop(cuts)[2])
        while under_way:
            first = next(iter(under_way))
            if first not in over:
                break
            over.discard(first)
            done = _explained(words, first, under_way.pop(first), records.pop(first), resets.pop(first, None),
                              until_us, car)
            if done is not None:
                yield done
    for passage, events in under_way.items():  # under way at --until, or cut by a restart after their last event
        done = _explained(words, passage, events, records[passage], resets.get(passage), until_us, car)
        if done is not None:
            yield done


def _explained(words: _Words, passage: Passage, events: list[Event], record: tuple[PassageTrace, tuple[int, int]],
               reset: int | None, until_us: int | None, car: int | None) -> PassageExplanation | None:
    """One passage's events with their reasons, and its notes (None: not the carID asked for)."""
    assert passage.car_id is not None
    if car is not None and passage.car_id != car:
        return None
    why, (source, index) = record
    explained = []
    n_updates = 0
    for ev in events:
        if ev.state == NEW:
            text, facts = words.new(why, ev)
            if reset is not None:
                text += f"; carIDs count from {passage.car_id} again after the restart at {seconds(reset)}"
                facts["car_id_restart_us"] = reset
        elif ev.state == UPDATE:
            text, facts = words.update(why, ev, n_updates)
            facts.update(words.direction_facts(why) if any(c["kind"] == "direction" for c in facts["changes"])
                         else {})
            n_updates += 1
        elif ev.state == RELIABLE:
            text, facts = words.reliable(why, ev)
        else:
            text, facts = words.lost(why, ev)
        explained.append(ExplainedEvent(ev.time_us, ev.state, ev.text, ev.confidence, ev.direction, ev.zone,
                                        words.profiles(ev.state), text, facts))
    notes = [n for n in words.notes(why) if until_us is None or n.time_us <= until_us]
    if until_us is not None and events[-1].state != LOST and (why.cut_us is None or why.cut_us > until_us):
        if why.cut_us is None:
            later = f"its Lost is due at {words.at(why.lost_frame)}"
            facts = {"lost_us": words.time(why.lost_frame)}
        else:
            later = f"a restart at {seconds(why.cut_us)} forgets it"
            facts = {"restart_us": why.cut_us}
        notes.append(Note(until_us, f"under way at the end (--until); {later}", facts))
    return PassageExplanation(passage.car_id, why.vehicle.plate, "vehicles" if source == 0 else "traffic",
                              index, why.vehicle.seq, explained, notes)


def text_lines(passage: PassageExplanation, several_profiles: bool = False) -> Iterator[str]:
    """The passage for a person: a heading, then one line per event and note in time order.
    several_profiles: say which profiles send each event (also said when none does)."""
    yield f"carID {passage.car_id}: plate {printable(passage.plate)}, {passage.origin}"
    rows: list[tuple[int, int, str]] = []
    for i, ev in enumerate(passage.events):
        line = (f"{seconds(ev.time_us):>11}  {ev.state.capitalize():<8}  {printable(ev.text):<10}  "
                f"{ev.direction:<7}  zone {ev.zone}  {ev.why}")
        if not ev.profiles:
            line += f"  [no profile sends {ev.state}]"
        elif several_profiles:
            line += f"  [profile{'s' if len(ev.profiles) > 1 else ''} {', '.join(map(str, ev.profiles))}]"
        rows.append((ev.time_us, i, line))
    for note in passage.notes:
        rows.append((note.time_us, len(passage.events), f"{seconds(note.time_us):>11}  {'':<8}  {note.text}"))
    rows.sort(key=lambda row: (row[0], row[1]))
    for _, _, line in rows:
        yield line


def json_object(passage: PassageExplanation) -> dict:
    """The passage as a JSON object (times in seconds, and exactly in microseconds)."""
    return {
        "carID": passage.car_id, "plate": passage.plate, "vehicle": {
            "source": passage.source, "index": passage.index, "seq": passage.seq},
        "events": [{"time": ev.time_us / 1e6, "time_us": ev.time_us, "state": ev.state, "plate": ev.text,
                    "confidence": ev.confidence, "direction": ev.direction, "zone": ev.zone,
                    "profiles": list(ev.profiles), "why": ev.why, "facts": ev.facts} for ev in passage.events],
        "notes": [{"time": n.time_us / 1e6, "time_us": n.time_us, "text": n.text, "facts": n.facts}
                  for n in passage.notes],
    }
