"""The engine's rules, applied frame by frame, as plainly as possible.

This is the oracle the property tests hold the analytic engine to. It shares
only the per-frame test (``Recogniser.state_at``: on the path, not hidden, not in
a restart's dark window, in which zone) and the trajectory, and applies every other
rule of the README's "Engine semantics" literally, one frame at a time.

A restart (``rec.dark``: windows [start, end) in which the camera is down) forgets the
passage under way on the first frame at or after its start: no Lost, and an Update or
Reliable still pending is never sent, even when the camera is back within the lost timeout.

A timed path (waypoints with times: SUMO's traffic) has its own plain reference here,
``timed_position``, which the property tests hold the engine's Trajectory to on every frame.
"""

from __future__ import annotations

import math

from ffsim.engine.vehicle import Recogniser, Vehicle


def reference_events(rec: Recogniser, v: Vehicle) -> list[tuple]:
    """(send time, state, capture time, text, confidence, direction, zone, plate shot) of each event."""
    clock = rec.clock
    traj = v.trajectory
    k_lo, k_hi = clock.ceil(traj.start), clock.floor(traj.end)
    arrows = {zid: arrow for zid, _, arrow in rec.zones}
    out: list[tuple] = []
    bounds, elapsed = [], 0
    for reading in v.reads[:-1]:
        elapsed += reading.for_us
        bounds.append(elapsed)
    first_seen_us = None
    p = None  # the passage under way
    k = k_lo
    while k <= k_hi or p is not None:
        t = clock.time(k)
        if p is not None and any(clock.time(k - 1) < a <= t for a, _ in rec.dark):
            p = None  # the camera restarted since the last frame: the passage is forgotten
        if p is not None and t - p["last_t"] > rec.lost_timeout_us:
            if p["pending"] is not None:
                _send(p, k, clock, out)
            if not p["reliable"]:  # never after the Lost: on its frame, before it
                _reliable(p, t, out)
            out.append((t, "lost", p["last_t"], p["text"], p["conf"], p["direction"], p["zone"], p["shot"]))
            p = None
        zone = rec.state_at(v, k) if k <= k_hi else None
        if zone is not None:
            if first_seen_us is None:
                first_seen_us = t
            since = t - first_seen_us
            read = v.reads[sum(1 for b in bounds if since >= b)]
            x, y = traj.position(t)
            if p is None:
                p = {"counts": {read.text: 1}, "seen": {read.text: k}, "confs": {read.text: read.confidence},
                     "text": read.text, "conf": read.confidence, "zone": zone, "direction": "unknown",
                     "start": (x, y), "last_t": t, "pending": None, "new_t": t, "reliable": False,
                     "shot": (t, read.text)}
                p["sent"] = (p["text"], p["direction"], p["zone"])
                out.append((t, "new", t, read.text, read.confidence, "unknown", zone, p["shot"]))
            else:
                p["counts"][read.text] = p["counts"].get(read.text, 0) + 1
                p["seen"][read.text] = k
                p["confs"][read.text] = read.confidence
                best = max(p["counts"], key=lambda text: (p["counts"][text], p["seen"][text]))
                changed = best != p["text"] or zone != p["zone"]
                p["text"], p["conf"], p["zone"] = best, p["confs"][best], zone
                if p["direction"] == "unknown":
                    x0, y0 = p["start"]
                    if math.hypot(x - x0, y - y0) >= rec.min_travel:
                        ax, ay = arrows[zone]
                        p["direction"] = "in" if (x - x0) * ax + (y - y0) * ay > 0 else "out"
                        changed = True
                p["last_t"] = t
                if changed and p["pending"] is None:
                    p["pending"] = clock.floor(t + rec.update_interval_us)
        if p is not None and p["pending"] == k:
            _send(p, k, clock, out)
        if p is not None and not p["reliable"] and (
                p["conf"] >= rec.reliable_confidence or t >= p["new_t"] + rec.reliable_timeout_us):
            _reliable(p, t, out)
        k += 1
    return out


def _send(p: dict, k: int, clock, out: list) -> None:
    p["pending"] = None
    now = (p["text"], p["direction"], p["zone"])
    if now != p["sent"]:
        p["sent"] = now
        p["shot"] = (p["last_t"], p["text"])
        out.append((clock.time(k), "update", p["last_t"], p["text"], p["conf"], p["direction"], p["zone"], p["shot"]))


def _reliable(p: dict, t: int, out: list) -> None:
    p["reliable"] = True
    out.append((t, "reliable", p["last_t"], p["text"], p["conf"], p["direction"], p["zone"], (p["last_t"], p["text"])))


def timed_position(at_us: int, points: list[tuple[float, float]], times_us: list[int], t: float) -> tuple[float, float]:
    """Where a vehicle on a timed path is at t: at points[i] at at_us + times_us[i], straight and
    evenly between two points, at the first point before and at the last after."""
    if t <= at_us + times_us[0]:
        return points[0]
    for (x0, y0), (x1, y1), t0, t1 in zip(points, points[1:], times_us, times_us[1:]):
        start, end = float(at_us + t0), float(at_us + t1)
        if start <= t < end:
            f = (t - start) / (end - start)
            return (x0 + f * (x1 - x0), y0 + f * (y1 - y0))
    return points[-1]
