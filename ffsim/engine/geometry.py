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
    """Parameters s in [0, 1] along p0->p1 where ``contains`` can change its answer.

    ``contains`` says yes inside the polygon and within EDGE_EPS of an edge, and
    its ray test looks right along the horizontal through the point. So its
    answer can change only where the moving point crosses an edge, enters or
    leaves the EDGE_EPS band around an edge (at distance EDGE_EPS from the
    edge's line, where it passes an end of the edge, or on the circle around an
    end), or passes the height of a vertex. All of those are returned (some
    for nothing: a spurious parameter costs one exact test, a missed one would
    hide a zone change).
    """
    x0, y0 = p0
    dx, dy = p1[0] - x0, p1[1] - y0
    length2 = dx * dx + dy * dy
    if length2 == 0.0:
        return []
    eps = EDGE_EPS
    lo_x, hi_x = min(x0, p1[0]) - eps, max(x0, p1[0]) + eps
    lo_y, hi_y = min(y0, p1[1]) - eps, max(y0, p1[1]) + eps
    out: list[float] = []
    add = out.append
    n = len(polygon)
    for i in range(n):
        ax, ay = polygon[i]
        bx, by = polygon[(i + 1) % n]
        if lo_y <= ay <= hi_y and ax >= lo_x and dy != 0.0:
            add((ay - y0) / dy)  # the rightward ray test may flip at the height of a vertex to the right
        if max(ax, bx) < lo_x or min(ax, bx) > hi_x or max(ay, by) < lo_y or min(ay, by) > hi_y:
            continue  # the segment never comes within EDGE_EPS of this edge
        ex, ey = bx - ax, by - ay
        edge2 = ex * ex + ey * ey
        wx, wy = x0 - ax, y0 - ay
        cross_d = ex * dy - ey * dx  # d(signed distance * |e|) / ds
        if cross_d != 0.0:
            base = ex * wy - ey * wx
            span = eps * edge2**0.5
            add(-base / cross_d)
            add((span - base) / cross_d)
            add((-span - base) / cross_d)
        dot_d = ex * dx + ey * dy  # d(projection * |e|^2) / ds
        if dot_d != 0.0:
            add(-(ex * wx + ey * wy) / dot_d)
            add((edge2 - (ex * wx + ey * wy)) / dot_d)
        for qx, qy in ((ax, ay), (bx, by)):  # the circle of radius EDGE_EPS around an end
            fx, fy = x0 - qx, y0 - qy
            b = 2.0 * (fx * dx + fy * dy)
            c = fx * fx + fy * fy - eps * eps
            disc = b * b - 4.0 * length2 * c
            if disc >= 0.0:
                root = disc**0.5
                add((-b - root) / (2.0 * length2))
                add((-b + root) / (2.0 * length2))
    return [min(max(v, 0.0), 1.0) for v in out if -1e-9 <= v <= 1.0 + 1e-9]


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
