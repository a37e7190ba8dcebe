"""Event images drawn with Pillow: plate crop, vehicle crop, full frame, downsized frame.

The crops of a passage are drawn once, when it is first recognised, and reused by
all its events (the plate on the car does not change when the OCR improves); a
frame shows the vehicle where it is at the event's capture, so it is drawn per
capture. Geometry comes from :mod:`ffsim.protocol.crops`, so the plate in a
picture lies exactly where ``plateCoordinates`` / ``plateCoordinatesRelative`` say.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from ..engine.vehicle import Vehicle
from ..protocol.crops import DOWNSIZED_WIDTH, Box, crop_box, plate_box, scale_of

ASSETS = Path(__file__).resolve().parents[2] / "images"
PIL_FORMAT = {"jpeg": "JPEG", "png": "PNG", "bmp": "BMP"}

COLORS = {
    "BEIGE": (214, 196, 160), "BLACK": (28, 28, 30), "BLUE": (34, 72, 160), "BROWN": (110, 72, 40),
    "GRAY": (120, 124, 128), "GREEN": (40, 110, 60), "ORANGE": (230, 120, 30), "RED": (170, 28, 30),
    "WHITE": (236, 236, 232), "YELLOW": (236, 200, 40), "SILVER": (180, 184, 188), "": (96, 100, 110),
}
EU_BAND = {"CZE", "DEU", "POL", "FRA", "SWE", "UKR", "AUT", "SVK", "NLD", "BEL", "ITA", "ESP"}
ASPHALT = (74, 76, 78)
# body size in plate widths (width, height above the plate's bottom edge)
BODY = {"CAR": (3.6, 2.2), "SUV": (3.8, 2.6), "VAN": (3.9, 2.9), "TRUCK": (4.0, 3.0), "BUS": (4.0, 3.0)}


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = ASSETS / "DejaVuSansMono-Bold.ttf"
    if path.exists():
        # BASIC layout: the same pixels whether or not this machine's Pillow has raqm
        return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)
    return ImageFont.load_default(size=size)


def draw_plate(draw: ImageDraw.ImageDraw, box: Box, text: str, country: str, view: str) -> None:
    """A plate of the country's shape with its text, filling box = (left, top, width, height)."""
    left, top, w, h = box
    right, bottom = left + w - 1, top + h - 1
    yellow = country == "GBR" and view == "rear"
    draw.rectangle((left, top, right, bottom), fill=(240, 200, 40) if yellow else (245, 245, 240), outline=(20, 20, 20))
    text_left = left + 1
    if country in EU_BAND and w >= 20:
        band = max(3, w // 11)
        draw.rectangle((left + 1, top + 1, left + band, bottom - 1), fill=(0, 51, 153))
        text_left = left + band + 1
    if country == "USA" and h >= 12:
        draw.rectangle((left + 1, top + 1, right - 1, top + max(2, h // 6)), fill=(180, 30, 40))
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    size = max(6, int(h * 0.72))
    font = _font(size)
    span = right - text_left
    while size > 6 and draw.textlength(text, font=font) > span - 2:
        size -= 1
        font = _font(size)
    cx = (text_left + right) / 2
    draw.text((cx, top + h / 2), text, fill=(15, 15, 15), font=font, anchor="mm")


def draw_vehicle(draw: ImageDraw.ImageDraw, v: Vehicle, plate: Box) -> None:
    """The vehicle's body, windows and lights around its plate (front or rear view)."""
    left, top, w, h = plate
    cx = left + w / 2
    bw, bh = BODY.get(v.type, BODY["CAR"])
    body_w, body_h = w * bw, w * bh
    base = top + h + h * 1.2
    body = (cx - body_w / 2, base - body_h, cx + body_w / 2, base)
    color = COLORS.get(v.color, COLORS[""])
    draw.rounded_rectangle(body, radius=max(2, int(w * 0.25)), fill=color, outline=(20, 20, 20))
    glass_top = base - body_h + body_h * 0.12
    glass_bottom = base - body_h * 0.5
    inset = body_w * 0.12
    draw.polygon(
        [(body[0] + inset * 1.4, glass_top), (body[2] - inset * 1.4, glass_top),
         (body[2] - inset * 0.6, glass_bottom), (body[0] + inset * 0.6, glass_bottom)],
        fill=(40, 52, 64),
    )
    light = (250, 240, 200) if v.view == "front" else (200, 20, 20)
    ly = base - body_h * 0.36
    lw, lh = body_w * 0.16, body_h * 0.1
    draw.rectangle((body[0] + body_w * 0.05, ly, body[0] + body_w * 0.05 + lw, ly + lh), fill=light)
    draw.rectangle((body[2] - body_w * 0.05 - lw, ly, body[2] - body_w * 0.05, ly + lh), fill=light)
    wheel = body_w * 0.14
    for x in (body[0] + body_w * 0.06, body[2] - body_w * 0.06 - wheel):
        draw.rectangle((x, base - 1, x + wheel, base + h * 0.9), fill=(18, 18, 18))


@lru_cache(maxsize=16)
def _photo(path: str) -> Image.Image:
    with Image.open(path) as img:
        return img.convert("RGB")


class ImageRenderer:
    """Draws and encodes the images of events, memoising what a passage reuses.

    With the user's photos, vehicle and frame images are those photos (one per
    vehicle, chosen by its arrival order, scaled to the image's size); the plate
    crop is still drawn, so that its text is the plate's. The coordinates then
    say where ffsim's plate would be, not where the photo's plate is.
    """

    def __init__(self, frame_w: int, frame_h: int, photos: tuple[str, ...] = ()):
        self.frame_w, self.frame_h = frame_w, frame_h
        self.photos = photos

    def _plate(self, v: Vehicle, x: float, y: float) -> Box:
        return plate_box(x, y, v.plate_w, v.plate_h, self.frame_w, self.frame_h)

    def scene(self, v: Vehicle, x: float, y: float) -> Image.Image:
        """The full frame with the vehicle whose plate centre is at (x, y)."""
        img = Image.new("RGB", (self.frame_w, self.frame_h), ASPHALT)
        draw = ImageDraw.Draw(img)
        for lane in range(1, 4):
            lx = self.frame_w * lane / 4
            for y0 in range(0, self.frame_h, 80):
                draw.rectangle((lx - 3, y0, lx + 3, y0 + 40), fill=(220, 220, 210))
        plate = self._plate(v, x, y)
        draw_vehicle(draw, v, plate)
        draw_plate(draw, plate, v.plate, v.country, v.view)
        return img

    def render(self, kind: str, v: Vehicle, x: float, y: float) -> Image.Image:
        """The image of this kind for a capture with the plate centre at (x, y)."""
        plate = self._plate(v, x, y)
        if kind == "plate":
            x0, y0, cw, ch = crop_box("plate", plate, self.frame_w, self.frame_h)
            img = Image.new("RGB", (cw, ch), ASPHALT)
            draw_plate(ImageDraw.Draw(img), (plate[0] - x0, plate[1] - y0, plate[2], plate[3]), v.plate, v.country,
                       v.view)
            return img
        if kind == "vehicle":
            x0, y0, cw, ch = crop_box("vehicle", plate, self.frame_w, self.frame_h)
            if self.photos:
                return self._from_photo(v, (cw, ch))
            return self.scene(v, x, y).crop((x0, y0, x0 + cw, y0 + ch))
        img = self._from_photo(v, (self.frame_w, self.frame_h)) if self.photos else self.scene(v, x, y)
        if kind == "frame_downsized":
            s = scale_of(kind, self.frame_w)
            if s != 1.0:
                img = img.resize((DOWNSIZED_WIDTH, max(1, int(self.frame_h * s + 0.5))), Image.Resampling.BILINEAR)
        return img


    def _from_photo(self, v: Vehicle, size: tuple[int, int]) -> Image.Image:
        return _photo(self.photos[v.seq % len(self.photos)]).resize(size, Image.Resampling.BILINEAR)


def encode(img: Image.Image, image_format: str) -> bytes:
    out = io.BytesIO()
    if image_format == "jpeg":
        img.save(out, "JPEG", quality=85)
    else:
        img.save(out, PIL_FORMAT[image_format])
    return out.getvalue()
