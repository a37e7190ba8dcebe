"""Plane geometry in frame pixels (x to the right, y downwards)."""

from __future__ import annotations

from collections.abc import Sequence

Point = tuple[float, float]

EDGE_EPS = 1e-6  # pixels: a point this close to an edge is on it (boundaries are inside)


def polygon_area(polygon: Sequence[Point]) -> float:
    area = 0.0
    n = len(polygon)
    for i in range(n):
        x0, y0 = polygon[i]
        x1, y1 = polygon[(i + 1) % n]
        area += x0 * y1 - x1 * y0
    return abs(area) / 2.0


def polygon_centroid(polygon: Sequence[Point]) -> Point:
    a = cx = cy = 0.0
    n = len(polygon)
    for i in range(n):
        x0, y0 = polygon[i]
        x1, y1 = polygon[(i + 1) % n]
        cross = x0 * y1 - x1 * y0
        a += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if abs(a) < 1e-12:
        return (sum(p[0] for p in polygon) / n, sum(p[1] for p in polygon) / n)
    return (cx / (3.0 * a), cy / (3.0 * a))


def _on_segment(px: float, py: float, ax: float, ay: float, bx: float, by: float) -> bool:
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    if length2 == 0.0:
        return (px - ax) ** 2 + (py - ay) ** 2 <= EDGE_EPS * EDGE_EPS
    t = ((px - ax) * dx + (py - ay) * dy) / length2
    if t < 0.0:
        t = 0.0
    elif t > 1.0:
        t = 1.0
    qx, qy = ax + t * dx - px, ay + t * dy - py
    return qx * qx + qy * qy <= EDGE_EPS * EDGE_EPS


def contains(polygon: Sequence[Point], x: float, y: float) -> bool:
    """Point in polygon, boundary included (even-odd rule for the interior)."""
    inside = False
    eps = EDGE_EPS
    ax, ay = polygon[-1]
    for bx, by in polygon:
        # on this edge? (cheap box test first: most edges are far away)
        if (min(ax, bx) - eps <= x <= max(ax, bx) + eps and min(ay, by) - eps <= y <= max(ay, by) + eps
                and _on_segment(x, y, ax, ay, bx, by)):
            return True
        if (ay > y) != (by > y) and x < ax + (y - ay) * (bx - ax) / (by - ay):
            inside = not inside
        ax, ay = bx, by
    return inside


def segment_crossings(p0: Point, p1: Point, polygon: Sequence[Point]) -> list[float]:
    """Parameters s in [0, 1] along p0->p1 where the segment meets an edge of polygon.

    Generous on purpose: a spurious parameter costs one extra exact test, a
    missed one would hide a zone change.
    """
    x0, y0 = p0
    dx, dy = p1[0] - x0, p1[1] - y0
    length2 = dx * dx + dy * dy
    if length2 == 0.0:
        return []
    out: list[float] = []
    n = len(polygon)
    tol = 1e-9
    for i in range(n):
        ax, ay = polygon[i]
        bx, by = polygon[(i + 1) % n]
        ex, ey = bx - ax, by - ay
        wx, wy = ax - x0, ay - y0
        denom = dx * ey - dy * ex
        scale = (length2 * (ex * ex + ey * ey)) ** 0.5
        if abs(denom) > 1e-12 * max(scale, 1e-300):
            s = (wx * ey - wy * ex) / denom
            u = (wx * dy - wy * dx) / denom
            if -tol <= s <= 1 + tol and -tol <= u <= 1 + tol:
                out.append(min(max(s, 0.0), 1.0))
        else:
            # Parallel: if collinear, the state can change where the edge's ends lie.
            if abs(wx * dy - wy * dx) <= 1e-9 * max(length2, 1.0):
                for qx, qy in ((ax, ay), (bx, by)):
                    s = ((qx - x0) * dx + (qy - y0) * dy) / length2
                    if -tol <= s <= 1 + tol:
                        out.append(min(max(s, 0.0), 1.0))
    return out


def first_exit_from_disk(p0: Point, p1: Point, centre: Point, radius: float) -> float | None:
    """Largest s in [0, 1] where |p0 + s (p1 - p0) - centre| = radius, if any."""
    dx, dy = p1[0] - p0[0], p1[1] - p0[1]
    fx, fy = p0[0] - centre[0], p0[1] - centre[1]
    a = dx * dx + dy * dy
    if a == 0.0:
        return None
    b = 2.0 * (fx * dx + fy * dy)
    c = fx * fx + fy * fy - radius * radius
    disc = b * b - 4.0 * a * c
    if disc < 0.0:
        return None
    s = (-b + disc**0.5) / (2.0 * a)
    if s < 0.0 or s > 1.0:
        return None
    return s
