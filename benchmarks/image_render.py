#!/usr/bin/env python3
"""Time to render and encode each image kind, as a ratio to Pillow's bare JPEG encode.

For each kind (plate, vehicle, frame 1080p, frame_downsized, frame 4K), a vehicle
drives down the frame through N positions; ffsim's time is
``ImageRenderer.image()`` (drawing, grain, encode, splicing) for every position;
the baseline is Pillow's ``Image.save(..., "JPEG")`` of the very same pictures
(``ImageRenderer.render()``, made before timing), at the same quality and chroma
subsampling, so it is the encode alone. Both are timed in this one run,
alternating rounds so a noisy shared machine slows both alike; medians are
compared. Goal: ratio <= 2. The road of each frame size is built once, before
timing (its one-off cost is printed apart), as a run builds it once.

    python benchmarks/image_render.py [--rounds 5] [--positions 20] [--quality 80]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

from ffsim.engine.plates import plate_size
from ffsim.engine.vehicle import Vehicle
from ffsim.render import DEFAULT_QUALITY, PLATE_SUBSAMPLING, ImageRenderer
from ffsim.render.splice import SUBSAMPLING

CASES = [  # label, kind, frame size
    ("plate", "plate", (1920, 1080)),
    ("vehicle", "vehicle", (1920, 1080)),
    ("frame 1080p", "frame", (1920, 1080)),
    ("frame_downsized", "frame_downsized", (1920, 1080)),
    ("frame 4K", "frame", (3840, 2160)),
]


def vehicle(frame_w: int) -> Vehicle:
    w, h = plate_size("CZE", frame_w)
    return Vehicle(seq=0, trajectory=None, hidden=[], reads=[], plate="5SX 2207", country="CZE", region="",
                   region_code="", iso3166_2="", brand="", model="", color="RED", type="CAR", view="front",
                   confidence_mmr=0.0, confidence_color=0.0, plate_w=w, plate_h=h)


def positions(frame_w: int, frame_h: int, n: int) -> list[tuple[float, float]]:
    # down the middle lane and a little sideways, as a vehicle crosses the zone
    return [(frame_w * (0.45 + 0.1 * i / n), frame_h * (0.3 + 0.6 * i / n)) for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--positions", type=int, default=20)
    parser.add_argument("--quality", type=int, default=DEFAULT_QUALITY)
    args = parser.parse_args()
    q = args.quality
    print(f"JPEG quality {q}, {args.positions} positions, {args.rounds} rounds (medians)")
    print(f"{'kind':16} {'ffsim ms':>9} {'Pillow ms':>9} {'ratio':>6}  {'bytes (min-max)':>21}  size")
    worst = 0.0
    for label, kind, (fw, fh) in CASES:
        renderer = ImageRenderer(fw, fh, seed=0)
        v = vehicle(fw)
        at = positions(fw, fh, args.positions)
        t0 = time.perf_counter()
        renderer.image(kind, v, *at[0], "jpeg", q)  # builds (and caches) the road of this size
        setup = time.perf_counter() - t0
        pictures = [renderer.render(kind, v, x, y) for x, y in at]
        subsampling = PLATE_SUBSAMPLING if kind == "plate" else SUBSAMPLING

        def ffsim() -> list[bytes]:
            return [renderer.image(kind, v, x, y, "jpeg", q) for x, y in at]

        def pillow() -> list[bytes]:
            out = []
            for img in pictures:
                buf = io.BytesIO()
                img.save(buf, "JPEG", quality=q, subsampling=subsampling)
                out.append(buf.getvalue())
            return out

        ours, base = [], []
        for _ in range(args.rounds):
            t = time.perf_counter()
            data = ffsim()
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            pillow()
            base.append(time.perf_counter() - t)
        mine, bare = statistics.median(ours) / len(at), statistics.median(base) / len(at)
        ratio = mine / bare
        worst = max(worst, ratio)
        sizes = [len(d) for d in data]
        print(f"{label:16} {mine * 1e3:9.3f} {bare * 1e3:9.3f} {ratio:6.2f}  {min(sizes):>10}-{max(sizes):<10}"
              f"  {pictures[0].width}x{pictures[0].height}  (first image of this size: {setup * 1e3:.0f} ms)")
    print(f"worst ratio {worst:.2f} (goal <= 2): {'ok' if worst <= 2 else 'MISSED'}")


if __name__ == "__main__":
    main()
