"""One vehicle: where it is, on which frames the camera recognises it, and the
events of each of its passages.

The rules are stated per frame (see README, "Engine semantics"). Walking every
frame of every vehicle would make a day of traffic cost millions of Python
steps, so the work here is done on *boundaries* instead: the times where the
answer to "recognised, and in which zone?" can change (path pieces, zone edge
crossings, hidden intervals, read changes). Frames next to a boundary are
checked one by one with the exact per-frame test; the frames between two
boundaries share one state, checked once. ``tests/reference.py`` holds a plain
frame-by-frame implementation of the same rules; property tests compare both.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..vocabulary import LOST, NEW, RELIABLE, STATE_RANK, UPDATE
from . import geometry
from .frames import FrameClock

__all__ = ["NEW", "UPDATE", "RELIABLE", "LOST", "STATE_RANK", "Trajectory", "Reading", "Vehicle", "Passage", "Event",
           "Recogniser"]


class Trajectory:
    """Plate centre over time: straight moves and waits, times in float microseconds."""

    __slots__ = ("pieces", "_starts", "start", "end")

    def __init__(self, at_us: int, points: Sequence[tuple[float, float, int]], speed: float | None,
                 duration_us: int | None, times_us: Sequence[int] | None = None):
        """points: (x, y, wait_us) waypoints; speed in px/s, or the moving time of the whole path.

        times_us (a timed path): when the vehicle is at each point, after at_us, increasing from 0;
        it moves straight and evenly between two of them, and waits where a point repeats. Speed,
        duration and waits are then unused."""
        if times_us is not None:
            self._timed(at_us, points, times_us)
            return
        length = 0.0
        for a, b in zip(points, points[1:]):
            length += math.hypot(b[0] - a[0], b[1] - a[1])
        total_us = float(duration_us or 0)
        by_duration = speed is None
        if length == 0:
            per_px = 0.0
        elif speed is None:
            per_px = total_us / length
        else:
            per_px = 1e6 / speed

        def moved(travelled: float) -> float:
            # a path given by its duration ends at exactly at + duration, whatever the rounding
            if by_duration and travelled == length and length > 0:
                return total_us
            return travelled * per_px

        pieces: list[tuple[float, float, float, float, float, float]] = []
        waited = 0
        travelled = 0.0
        x, y, wait = points[0]
        if wait:
            pieces.append((float(at_us), float(at_us + wait), x, y, x, y))
            waited += wait
        for nx, ny, nwait in points[1:]:
            dist = math.hypot(nx - x, ny - y)
            if dist > 0:
                t0 = at_us + waited + moved(travelled)
                travelled += dist
                pieces.append((t0, at_us + waited + moved(travelled), x, y, nx, ny))
            x, y = nx, ny
            if nwait:
                t0 = at_us + waited + moved(travelled)
                waited += nwait
                pieces.append((t0, at_us + waited + moved(travelled), x, y, x, y))
        t = at_us + waited + moved(travelled)
        if length == 0 and duration_us:
            pieces.append((float(t), float(t + duration_us), x, y, x, y))
            t += duration_us
        if not pieces:
            pieces.append((float(t), float(t), x, y, x, y))
        self.pieces = pieces
        self._starts = [p[0] for p in pieces]
        self.start = float(at_us)
        self.end = float(t)

    def _timed(self, at_us: int, points: Sequence[tuple[float, float, int]], times_us: Sequence[int]) -> None:
        # integer times: at each point's time, position() gives that point exactly
        pieces: list[tuple[float, float, float, float, float, float]] = []
        for (x0, y0, _), (x1, y1, _), t0, t1 in zip(points, points[1:], times_us, times_us[1:]):
            pieces.append((float(at_us + t0), float(at_us + t1), x0, y0, x1, y1))
        x, y, _ = points[-1]
        end = float(at_us + times_us[-1])
        if not pieces:
            pieces.append((end, end, x, y, x, y))
        self.pieces = pieces
        self._starts = [p[0] for p in pieces]
        self.start = float(at_us)
        self.end = end

    def position(self, t: float) -> tuple[float, float]:
        i = bisect_right(self._starts, t) - 1
        if i < 0:
            i = 0
        t0, t1, x0, y0, x1, y1 = self.pieces[i]
        if t1 <= t0 or t >= t1:
            return (x1, y1) if t >= t1 else (x0, y0)
        f = (t - t0) / (t1 - t0)
        return (x0 + f * (x1 - x0), y0 + f * (y1 - y0))


@dataclass(slots=True)
class Reading:
    text: str
    confidence: float
    for_us: int | None


@dataclass(slots=True, eq=False)
class Vehicle:
    """A vehicle ready for the engine (from the scenario or generated)."""

    seq: int
    trajectory: Trajectory
    hidden: list[tuple[int, int]]  # absolute [start, end) microseconds
    reads: list[Reading]
    plate: str  # as shown on the vehicle
    country: str
    region: str
    region_code: str
    iso3166_2: str
    brand: str
    model: str
    color: str
    type: str
    view: str
    confidence_mmr: float
    confidence_color: float
    plate_w: float
    plate_h: float
    cache: dict = field(default_factory=dict)  # per-vehicle memo for the payload layer


@dataclass(slots=True, eq=False)
class Passage:
    vehicle: Vehicle
    car_id: int | None = None  # given by the engine when the New is sent


@dataclass(slots=True, eq=False)
class Event:
    """One event the camera sends, before any profile turns it into a payload."""

    time_us: int  # virtual send time
    state: str
    passage: Passage
    capture_us: int  # frame time of the result: the last recognition at or before time_us
    text: str
    confidence: float
    direction: str
    zone: int
    x: float
    y: float
    plate_shot: tuple[int, str]  # (capture time, plate text) of the plate image this event carries
    vehicle_shot: tuple[int, str]


class Recogniser:
    """The scenario-wide parts of recognition: zones, frames and settings."""

    def __init__(self, zones, clock: FrameClock, lost_timeout_us: int, min_travel: float, update_interval_us: int,
                 reliable_confidence: float = 0.9, reliable_timeout_us: int = 1_000_000, reliable: bool = True,
                 dark: Sequence[tuple[int, int]] = ()):
        """dark: sorted, non-overlapping [start, end) windows in which the camera is down (restarts)."""
        self.zones = [(z.id, z.polygon, z.arrow) for z in zones]
        self._arrows = {z.id: z.arrow for z in zones}
        eps = geometry.EDGE_EPS
        self._boxes = [
            (z.id, z.polygon, min(p[0] for p in z.polygon) - eps, max(p[0] for p in z.polygon) + eps,
             min(p[1] for p in z.polygon) - eps, max(p[1] for p in z.polygon) + eps)
            for z in zones
        ]
        self.clock = clock
        self.lost_timeout_us = lost_timeout_us
        self.min_travel = min_travel
        self.update_interval_us = update_interval_us
        self.reliable_confidence = reliable_confidence
        self.reliable_timeout_us = reliable_timeout_us
        self.reliable = reliable  # False when no profile sends Reliable events: none is made
        # None, or a list that gets each passage's decisions (ffsim explain); off, nothing is recorded
        self.trace: list[PassageTrace] | None = None
        self.dark: tuple[tuple[int, int], ...] = ()
        self._dark_starts: list[int] = []
        self._dark_ends: list[int] = []
        self.set_dark(dark)

    def set_dark(self, dark: Sequence[tuple[int, int]]) -> None:
        """The camera sees nothing in each window [start, end), and a passage under way when one
        begins is forgotten (a restart: no Lost, no later event of it), however short the window."""
        self.dark = tuple((int(a), int(b)) for a, b in dark)
        self._dark_starts = [a for a, _ in self.dark]
        self._dark_ends = [b for _, b in self.dark]

    # -- the exact per-frame test ----------------------------------------------------
    def state_at(self, v: Vehicle, k: int) -> int | None:
        """Zone in which v is recognised on frame k, or None."""
        t = self.clock.time(k)
        traj = v.trajectory
        if t < traj.start or t > traj.end:
            return None
        for a, b in v.hidden:
            if a <= t < b:
                return None
        if self._dark_starts:
            i = bisect_right(self._dark_starts, t) - 1
            if i >= 0 and t < self._dark_ends[i]:
                return None
        x, y = traj.position(t)
        for zone_id, polygon, x0, x1, y0, y1 in self._boxes:
            if x0 <= x <= x1 and y0 <= y <= y1 and geometry.contains(polygon, x, y):
                return zone_id
        return None

    def unseen_because(self, v: Vehicle, k: int) -> str:
        """Why v is not recognised on frame k, by state_at's tests in its order: "path" (before its
        start or after its end), "hidden", "dark" (a restart) or "outside" (in no zone); "" if it is."""
        t = self.clock.time(k)
        if t < v.trajectory.start or t > v.trajectory.end:
            return "path"
        if any(a <= t < b for a, b in v.hidden):
            return "hidden"
        i = bisect_right(self._dark_starts, t) - 1
        if i >= 0 and t < self._dark_ends[i]:
            return "dark"
        return "outside" if self.state_at(v, k) is None else ""

    # -- runs of recognised frames ---------------------------------------------------
    def runs(self, v: Vehicle) -> list[list[int]]:
        """Maximal runs [first frame, last frame, zone] of frames on which v is recognised.

        The state can change only at a boundary: a zone edge crossing, a hidden
        interval's or a dark window's start or end (the path is continuous, so its pieces are
        no boundary). Runs are parted at a dark window's start even when no frame falls in it.
        The frames on either side of each boundary are tested exactly; every
        frame after a tested one, up to the next tested one, lies in the same
        gap between boundaries and so shares its state.
        """
        clock, traj = self.clock, v.trajectory
        k_lo, k_hi = clock.ceil(traj.start), clock.floor(traj.end)
        if k_lo > k_hi:
            return []
        num, den_us = clock.fps_fraction
        special = {k_lo, k_hi}
        for a, b in v.hidden:
            k = ((a + 1) * num - 1) // den_us
            special.add(k)
            special.add(k + 1)
            k = ((b + 1) * num - 1) // den_us
            special.add(k)
            special.add(k + 1)
        if self._dark_starts:  # as hidden intervals, for the windows the path's time overlaps
            i = bisect_right(self._dark_ends, traj.start)
            n_dark = len(self._dark_starts)
            while i < n_dark and self._dark_starts[i] <= traj.end:
                for edge in (self._dark_starts[i], self._dark_ends[i]):
                    k = ((edge + 1) * num - 1) // den_us
                    special.add(k)
                    special.add(k + 1)
                i += 1
        for t0, t1, x0, y0, x1, y1 in traj.pieces:
            if x0 == x1 and y0 == y1:
                continue
            sx0, sx1 = (x0, x1) if x0 < x1 else (x1, x0)
            sy0, sy1 = (y0, y1) if y0 < y1 else (y1, y0)
            for _, polygon, bx0, bx1, by0, by1 in self._boxes:
                if sx1 < bx0 or sx0 > bx1 or sy1 < by0 or sy0 > by1:
                    continue
                for s in geometry.segment_crossings((x0, y0), (x1, y1), polygon):
                    k = ((int((t0 + s * (t1 - t0)) // 1) + 1) * num - 1) // den_us
                    special.add(k)
                    special.add(k + 1)
        marks = sorted([k for k in special if k_lo <= k <= k_hi])
        marks.append(k_hi + 1)
        out: list[list[int]] = []
        state_at = self.state_at
        dark = len(self._dark_starts) > 0
        for i in range(len(marks) - 1):
            k = marks[i]
            zone = state_at(v, k)
            if zone is None:
                continue
            last = marks[i + 1] - 1
            # a restart between two frames (a window too short to hold one) parts them all the same
            if out and out[-1][2] == zone and out[-1][1] == k - 1 and not (
                    dark and self._dark_start_in(clock.time(k - 1), clock.time(k)) is not None):
                out[-1][1] = last
            else:
                out.append([k, last, zone])
        return out

    # -- passages and their events ---------------------------------------------------
    def events(self, v: Vehicle) -> list[Event]:
        """Every event of v, passage after passage."""
        runs = self.runs(v)
        if not runs:
            return []
        time = self.clock.time
        timeout = self.lost_timeout_us
        first_us = time(runs[0][0])
        read_frames: list[int] = []  # frame where read i+1 takes over
        elapsed = 0
        for reading in v.reads[:-1]:
            elapsed += reading.for_us or 0
            read_frames.append(self.clock.ceil(first_us + elapsed))
        out: list[Event] = []
        group = [runs[0]]
        dark = len(self._dark_starts) > 0
        trace = self.trace
        before: int | None = None  # the last recognised frame of the vehicle's previous passage
        for run in runs[1:]:
            t_last, t_next = time(group[-1][1]), time(run[0])
            if t_next - t_last > timeout or (dark and self._dark_start_in(t_last, t_next) is not None):
                self._passage(v, group, read_frames, out,
                              None if trace is None else self._traced(trace, v, group, read_frames, before))
                before = group[-1][1]
                group = [run]
            else:
                group.append(run)
        self._passage(v, group, read_frames, out,
                      None if trace is None else self._traced(trace, v, group, read_frames, before))
        return out

    def _traced(self, trace: list[PassageTrace], v: Vehicle, group, read_frames: list[int],
                before: int | None) -> PassageTrace:
        """A new passage's record, in trace: its runs, and what parted it from the vehicle's previous one."""
        why = PassageTrace(v, [(run[0], run[1], run[2]) for run in group], read_frames, before)
        if before is not None:
            why.restart_us = self._dark_start_in(self.clock.time(before), self.clock.time(group[0][0]))
        trace.append(why)
        return why

    def _dark_start_in(self, after_us: int, until_us: int | None) -> int | None:
        """The first dark window's start in (after_us, until_us] (until_us None: no end), or None."""
        i = bisect_right(self._dark_starts, after_us)
        if i < len(self._dark_starts) and (until_us is None or self._dark_starts[i] <= until_us):
            return self._dark_starts[i]
        return None

    def _changes(self, v: Vehicle, group, read_frames, why: PassageTrace | None = None) -> list[tuple]:
        """(frame, kind, value) of each change of the zone, confidence or reported text after
        the first frame; kind 0 zone, 1 confidence, 2 text (value (text, confidence))."""
        reads = v.reads
        changes: list[tuple] = []
        counts: dict[str, int] = {}
        reported = conf = zone = None
        n_reads = len(read_frames)
        for k0, k1, z in group:
            a = k0
            while a <= k1:
                i = bisect_right(read_frames, a)  # a read may last less than a frame: look it up
                b = read_frames[i] - 1 if i < n_reads and read_frames[i] <= k1 else k1
                read = reads[i]
                text, c, n = read.text, read.confidence, b - a + 1
                if reported is None:
                    reported, conf, zone = text, c, z
                    counts[text] = n
                else:
                    if z != zone:
                        changes.append((a, 0, z))
                        zone = z
                    if text == reported:
                        counts[text] += n
                        if c != conf:
                            changes.append((a, 1, c))
                            conf = c
                    else:
                        before = counts.get(text, 0)
                        need = counts[reported] - before
                        if need < 1:
                            need = 1
                        if need <= n:
                            changes.append((a + need - 1, 2, (text, c)))
                            if why is not None:
                                why.text_reads.append((a + need - 1, reported, before + need, counts[reported]))
                            reported, conf = text, c
                        counts[text] = before + n
                a = b + 1
        return changes

    def _passage(self, v: Vehicle, group, read_frames, events: list[Event], why: PassageTrace | None) -> None:
        if self._dark_starts:
            # a restart during the passage forgets it: its events from the restart on are never sent
            n_before = len(events)
            self._events_of_passage(v, group, read_frames, events, why)
            cut = self._dark_start_in(self.clock.time(group[0][0]), None)
            if cut is not None:
                if why is not None:
                    why.dropped = [(ev.time_us, ev.state) for ev in events[n_before:] if ev.time_us >= cut]
                    if why.dropped:  # else the restart comes after its Lost
                        why.cut_us = cut
                events[n_before:] = [ev for ev in events[n_before:] if ev.time_us < cut]
            return
        self._events_of_passage(v, group, read_frames, events, why)

    def _events_of_passage(self, v: Vehicle, group, read_frames, events: list[Event],
                           why: PassageTrace | None = None) -> None:
        clock = self.clock
        time = clock.time
        position = v.trajectory.position
        k_first, k_last = group[0][0], group[-1][1]
        changes = self._changes(v, group, read_frames, why) if (len(group) > 1 or read_frames) else []
        direction = self._direction(v, group, why)
        if direction is not None:
            changes.append(direction)
            if len(changes) > 1:
                changes.sort(key=lambda ch: ch[0])

        first = v.reads[bisect_right(read_frames, k_first)]
        text, conf, zone, heading = first.text, first.confidence, group[0][2], "unknown"
        passage = Passage(v)
        if why is not None:
            why.passage, why.first_read, why.changes = passage, bisect_right(read_frames, k_first), changes
        t_first = time(k_first)
        x, y = position(t_first)
        vehicle_shot = plate_shot = (t_first, text)
        events.append(Event(t_first, NEW, passage, t_first, text, conf, heading, zone, x, y, plate_shot, vehicle_shot))
        k_lost = clock.after(time(k_last) + self.lost_timeout_us)
        if why is not None:
            why.last_frame, why.lost_frame = k_last, k_lost
        k_reliable = self._reliable_frame(changes, k_first, conf, k_lost, why) if self.reliable else k_lost
        start = (text, conf, zone, heading)
        reliable_due = self.reliable
        sent = (text, heading, zone)
        interval = self.update_interval_us
        i, n_changes = 0, len(changes)
        while i < n_changes:
            # the next change that can make an Update (a confidence alone does not)
            j = i
            while j < n_changes and changes[j][1] == 1:
                j += 1
            if j == n_changes:
                break
            send = changes[j][0]
            if interval:
                send = max(send, min(clock.floor(time(send) + interval), k_lost))
            if reliable_due and k_reliable < send:  # on the same frame, the Update goes first
                self._reliable(v, passage, group, changes, k_reliable, start, vehicle_shot, events)
                reliable_due = False
            i_from = i
            i, text, conf, zone, heading = _apply(changes, i, send, text, conf, zone, heading)
            if (text, heading, zone) == sent:
                if why is not None:  # the changes cancelled out
                    why.updates.append((send, changes[j][0], i_from, i, False))
                continue
            if why is not None:
                why.updates.append((send, changes[j][0], i_from, i, True))
            sent = (text, heading, zone)
            t_cap = time(_capture_frame(group, send))
            x, y = position(t_cap)
            plate_shot = (t_cap, text)
            events.append(Event(time(send), UPDATE, passage, t_cap, text, conf, heading, zone, x, y,
                                plate_shot, vehicle_shot))
        if reliable_due:
            self._reliable(v, passage, group, changes, k_reliable, start, vehicle_shot, events)
        _, text, conf, zone, heading = _apply(changes, i, k_last, text, conf, zone, heading)
        t_last = time(k_last)
        x, y = position(t_last)
        # a Lost takes no new frame: it names the images of the result it finalises, which
        # the last New or Update announced (the Lost's own changes are confidence only)
        events.append(Event(time(k_lost), LOST, passage, t_last, text, conf, heading, zone, x, y,
                            plate_shot, vehicle_shot))

    def _reliable_frame(self, changes: list[tuple], k_first: int, conf: float, k_lost: int,
                        why: PassageTrace | None = None) -> int:
        """The frame of the passage's Reliable: the reported confidence reaches the threshold,
        or the timeout after the New has run out; no later than the Lost."""
        clock = self.clock
        threshold = self.reliable_confidence
        k_timeout = clock.ceil(clock.time(k_first) + self.reliable_timeout_us)
        k = min(k_timeout, k_lost)
        if conf >= threshold:
            if why is not None:
                why.reliable = (k_first, "new", conf)
            return k_first
        for change in changes:
            frame, kind = change[0], change[1]
            if frame >= k:
                break
            if kind == 1:
                conf = change[2]
            elif kind == 2:
                conf = change[2][1]
            else:
                continue
            if conf >= threshold:
                if why is not None:
                    why.reliable = (frame, "confidence", conf)
                return frame
        if why is not None:
            why.reliable = (k, "timeout" if k == k_timeout else "lost", conf)
        return k

    def _reliable(self, v: Vehicle, passage: Passage, group, changes: list[tuple], k: int,
                  start: tuple[str, float, int, str], vehicle_shot: tuple[int, str], events: list[Event]) -> None:
        # the result as consolidated on frame k, announced by an Update or not
        text, conf, zone, heading = start
        _, text, conf, zone, heading = _apply(changes, 0, k, text, conf, zone, heading)
        t_cap = self.clock.time(_capture_frame(group, k))
        x, y = v.trajectory.position(t_cap)
        events.append(Event(self.clock.time(k), RELIABLE, passage, t_cap, text, conf, heading, zone, x, y,
                            (t_cap, text), vehicle_shot))

    def _direction(self, v: Vehicle, group, why: PassageTrace | None = None) -> tuple[int, int, str] | None:
        """(frame, 3, 'in'|'out') of the first recognised frame far enough from the start."""
        time, ceil, floor = self.clock.time, self.clock.ceil, self.clock.floor
        traj, m = v.trajectory, self.min_travel
        position = traj.position
        x0, y0 = position(time(group[0][0]))
        pieces = traj.pieces
        for k0, k1, zone in group:
            t_from, t_to = time(k0), time(k1)
            for t0, t1, px, py, qx, qy in pieces:
                if t1 < t_from or t0 > t_to:
                    continue
                ka = k0 if t0 <= t_from else max(k0, ceil(t0))
                kb = k1 if t1 >= t_to else min(k1, floor(t1))
                if ka > kb:
                    continue
                x, y = position(time(ka))
                if math.hypot(x - x0, y - y0) >= m:
                    found = ka
                elif px == qx and py == qy:
                    continue
                else:
                    s = geometry.first_exit_from_disk((px, py), (qx, qy), (x0, y0), m)
                    if s is None:
                        continue
                    k = max(ka, ceil(t0 + s * (t1 - t0)))
                    while k > ka and _distance(position(time(k - 1)), x0, y0) >= m:
                        k -= 1
                    while k <= kb and _distance(position(time(k)), x0, y0) < m:
                        k += 1
                    if k > kb:
                        continue
                    found = k
                x, y = position(time(found))
                ax, ay = self._arrows[zone]
                if why is not None:
                    why.direction = (found, zone, x0, y0, x, y, ax, ay)
                return (found, 3, "in" if (x - x0) * ax + (y - y0) * ay > 0 else "out")
        return None


@dataclass(slots=True, eq=False)
class PassageTrace:
    """What the engine decided for one passage, recorded while Recogniser.trace is a list (ffsim
    explain puts it in words). Frames are frame numbers: clock.time(k) is frame k's time."""

    vehicle: Vehicle
    runs: list[tuple[int, int, int]]  # the passage's runs of recognised frames: (first, last, zone)
    read_frames: list[int]  # the vehicle's: the frame on which read i+1 takes over from read i
    before: int | None = None  # the vehicle's previous passage: its last recognised frame
    restart_us: int | None = None  # a restart between that passage and this one: its dark window's start
    passage: Passage | None = None  # its events' (car_id once the New is sent)
    first_read: int = 0  # index in vehicle.reads of the New's read
    changes: list[tuple] = field(default_factory=list)  # (frame, kind, value): Recogniser._changes, and the
    # direction (kind 3), in frame order
    # per text change: (frame, the text it replaced, frames read of the new text, of the replaced one)
    text_reads: list[tuple[int, str, int, int]] = field(default_factory=list)
    # the direction's decision: (frame, zone, first position x, y, position then x, y, the zone's arrow x, y)
    direction: tuple[int, int, float, float, float, float, float, float] | None = None
    # per Update due: (send frame, frame of its first change, changes[i:j] it applies, sent: False when they
    # cancelled out)
    updates: list[tuple[int, int, int, int, bool]] = field(default_factory=list)
    reliable: tuple[int, str, float] | None = None  # (frame, "new" | "confidence" | "timeout" | "lost", confidence)
    last_frame: int = 0  # last recognised frame
    lost_frame: int = 0  # the Lost's frame (due: a restart may cut it)
    cut_us: int | None = None  # a restart's start during the passage: none of its events from then on is sent
    dropped: list[tuple[int, str]] = field(default_factory=list)  # (time, state) of the events the cut took


def _apply(changes: list[tuple], i: int, until: int, text: str, conf: float, zone: int,
           heading: str) -> tuple[int, str, float, int, str]:
    """The result after the changes from index i up to frame until; and the next index."""
    n = len(changes)
    while i < n and changes[i][0] <= until:
        _, kind, value = changes[i]
        if kind == 2:
            text, conf = value
        elif kind == 1:
            conf = value
        elif kind == 0:
            zone = value
        else:
            heading = value
        i += 1
    return i, text, conf, zone, heading


def _capture_frame(group, k: int) -> int:
    """The last recognised frame of the passage at or before frame k."""
    for run in reversed(group):
        if run[0] <= k:
            return min(k, run[1])
    return group[0][0]


def _distance(point: tuple[float, float], x0: float, y0: float) -> float:
    return math.hypot(point[0] - x0, point[1] - y0)
