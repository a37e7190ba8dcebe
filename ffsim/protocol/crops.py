"""Where the plate lies in the frame and in each kind of attached image.

Shared by the payload (``plateCoordinates``, ``plateCoordinatesRelative``) and
the image renderer, so the numbers always describe the pictures sent.
"""

from __future__ import annotations

DOWNSIZED_WIDTH = 640  # width of the "frame_downsized" image

Box = tuple[int, int, int, int]  # left, top, width, height


def plate_box(x: float, y: float, w: float, h: float, frame_w: int, frame_h: int) -> Box:
    """The plate's box around its centre (x, y), clipped to the frame."""
    left = max(0, min(int(round(x - w / 2)), frame_w - 1))
    top = max(0, min(int(round(y - h / 2)), frame_h - 1))
    right = max(left + 1, min(int(round(x + w / 2)), frame_w))
    bottom = max(top + 1, min(int(round(y + h / 2)), frame_h))
    return (left, top, right - left, bottom - top)


def crop_box(kind: str, plate: Box, frame_w: int, frame_h: int) -> Box:
    """The region of the frame that an image of this kind shows (before any scaling)."""
    left, top, w, h = plate
    if kind == "plate":
        pad = max(2, int(round(h * 0.25)))
        x0, y0 = max(0, left - pad), max(0, top - pad)
        x1, y1 = min(frame_w, left + w + pad), min(frame_h, top + h + pad)
        return (x0, y0, x1 - x0, y1 - y0)
    if kind in ("frame", "frame_downsized"):
        return (0, 0, frame_w, frame_h)
    # vehicle (also used when no image is attached): the car around its plate,
    # plate low in the picture as on the front or rear of a car
    width, height = int(round(w * 4.2)), int(round(w * 3.0))
    cx = left + w / 2
    x0 = int(round(cx - width / 2))
    y0 = int(round(top + h + h * 1.5 - height))
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(frame_w, x0 + width), min(frame_h, y0 + height)
    return (x0, y0, x1 - x0, y1 - y0)


def scale_of(kind: str, frame_w: int) -> float:
    return DOWNSIZED_WIDTH / frame_w if kind == "frame_downsized" and frame_w > DOWNSIZED_WIDTH else 1.0


def relative_box(kind: str, plate: Box, frame_w: int, frame_h: int) -> Box:
    x0, y0, _, _ = crop_box(kind, plate, frame_w, frame_h)
    s = scale_of(kind, frame_w)
    left, top, w, h = plate
    if s == 1.0:
        return (left - x0, top - y0, w, h)
    return (int(round((left - x0) * s)), int(round((top - y0) * s)), max(1, int(round(w * s))), max(1, int(round(h * s))))
