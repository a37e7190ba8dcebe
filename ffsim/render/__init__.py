"""Event images drawn with Pillow: plate crop, vehicle crop, full frame, downsized frame.

Every picture is a piece of one scene: a seeded photographic road
(:mod:`.texture`) with the vehicle drawn on it, then the road's sensor grain
over both. Only the piece asked for is drawn: a crop draws its own rectangle, a
JPEG frame draws the rectangle around the vehicle and splices its encode into
the road's, encoded once (:mod:`.splice`). Geometry comes from
:mod:`ffsim.protocol.crops`, so the plate in a picture lies exactly where
``plateCoordinates`` / ``plateCoordinatesRelative`` say.

Which capture a picture shows (the crops of a passage are those of its first
recognition, a frame is its event's capture) is the payload layer's choice; the
renderer draws the vehicle at the plate centre it is given.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFont

from ..engine.vehicle import Vehicle
from .splice import SplicedJpeg, jpeg
from .texture import ASPHALT, Background, plate_grain, tone

ASSETS = Path(__file__).resolve().parent / "assets"  # shipped in the package (pyproject package-data)
PIL_FORMAT = {"jpeg": "JPEG", "png": "PNG", "bmp": "BMP"}
KINDS = ("plate", "vehicle", "frame", "frame_downsized")
# JPEG quality when a profile does not set image_quality; the texture is tuned so
# that sizes at this quality match the cameras' (tests/test_images.py)
DEFAULT_QUALITY = 80
PLATE_SUBSAMPLING = "4:4:4"

COLORS = {
    "BEIGE": (214, 196, 160), "BLACK": (28, 28, 30), "BLUE": (34, 72, 160), "BROWN": (110, 72, 40),
    "GRAY": (120, 124, 128), "GREEN": (40, 110, 60), "ORANGE": (230, 120, 30), "RED": (170, 28, 30),
    "WHITE": (236, 236, 232), "YELLOW": (236, 200, 40), "SILVER": (180, 184, 188), "": (96, 100, 110),
}
EU_BAND = {"CZE", "DEU", "POL", "FRA", "SWE", "UKR", "AUT", "SVK", "NLD", "BEL", "ITA", "ESP"}
# body size in plate widths (width, height above the plate's bottom edge)
BODY = {"CAR": (3.6, 2.2), "SUV": (3.8, 2.6), "VAN": (3.9, 2.9), "TRUCK": (4.0, 3.0), "BUS": (4.0, 3.0)}

Box = tuple[int, int, int, int]  # left, top, width, height

__all__ = ["ASPHALT", "DEFAULT_QUALITY", "KINDS", "ImageRenderer", "draw_plate", "encode", "paint_vehicle",
           "vehicle_bounds"]


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = ASSETS / "DejaVuSansMono-Bold.ttf"
    if not path.exists():
        # a package built without its data would draw other letters: better to say so
        raise FileNotFoundError(f"ffsim's font is missing from the installed package: {path}")
    # BASIC layout: the same pixels whether or not this machine's Pillow has raqm
    return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)


def draw_plate(draw: ImageDraw.ImageDraw, box: Box, text: str, country: str, view: str) -> None:
    """A plate of the country's shape with its text, filling box = (left, top, width, height)."""
    left, top, w, h = box
    right, bottom = left + w - 1, top + h - 1
    yellow = country == "GBR" and view == "rear"
    draw.rectangle((left, top, right, bottom), fill=tone((240, 200, 40) if yellow else (245, 245, 240)),
                   outline=tone((20, 20, 20)))
    text_left = left + 1
    if country in EU_BAND and w >= 20:
        band = max(3, w // 11)
        draw.rectangle((left + 1, top + 1, left + band, bottom - 1), fill=tone((0, 51, 153)))
        text_left = left + band + 1
    if country == "USA" and h >= 12:
        draw.rectangle((left + 1, top + 1, right - 1, top + max(2, h // 6)), fill=tone((180, 30, 40)))
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    size = max(6, int(h * 0.72))
    font = _font(size)
    span = right - text_left
    while size > 6 and draw.textlength(text, font=font) > span - 2:
        size -= 1
        font = _font(size)
    cx = (text_left + right) / 2
    draw.text((cx, top + h / 2), text, fill=tone((15, 15, 15)), font=font, anchor="mm")


@lru_cache(maxsize=256)
def _plate_image(text: str, country: str, view: str, w: int, h: int) -> Image.Image:
    # the plate is opaque and the same wherever the vehicle is: drawn once, pasted
    img = Image.new("RGB", (w, h))
    draw_plate(ImageDraw.Draw(img), (0, 0, w, h), text, country, view)
    return img


Shape = tuple[str, tuple[int, int, int, int], tuple[int, int, int]]


@lru_cache(maxsize=256)
def _shapes(vtype: str, color: str, view: str, w: int, h: int) -> tuple[tuple[Shape, ...], int]:
    """The vehicle around a w x h plate: (kind, (x0, y0, x1, y1) inclusive, relative to the
    plate's top-left corner, colour) in drawing order, and the body's corner radius.

    Integer coordinates: moving a shape by whole pixels moves its pixels exactly, so
    a crop draws what the whole frame shows there."""
    bw, bh = BODY.get(vtype, BODY["CAR"])
    body_w, body_h = w * bw, w * bh
    cx, base = w / 2, h * 2.2
    body = (cx - body_w / 2, base - body_h, cx + body_w / 2, base)
    glass_top, glass_bottom = base - body_h * 0.88, base - body_h * 0.5
    inset = body_w * 0.12
    ly, lw, lh = base - body_h * 0.36, body_w * 0.16, body_h * 0.1
    wheel = body_w * 0.14
    left_light, right_light = body[0] + body_w * 0.05, body[2] - body_w * 0.05 - lw
    left_wheel, right_wheel = body[0] + body_w * 0.06, body[2] - body_w * 0.06 - wheel
    light = (250, 240, 200) if view == "front" else (200, 20, 20)
    r = round
    shapes: list[Shape] = [
        ("body", (r(body[0]), r(body[1]), r(body[2]), r(body[3])), tone(COLORS.get(color, COLORS[""]))),
        # the windscreen, a trapezium: its top and bottom corners as a box
        ("glass", (r(body[0] + inset * 0.6), r(glass_top), r(body[2] - inset * 0.6), r(glass_bottom)),
         tone((40, 52, 64))),
    ]
    for x in (left_light, right_light):
        shapes.append(("rect", (r(x), r(ly), r(x + lw), r(ly + lh)), tone(light)))
    for x in (left_wheel, right_wheel):
        shapes.append(("rect", (r(x), r(base) - 1, r(x + wheel), r(base + h * 0.9)), tone((18, 18, 18))))
    return tuple(shapes), max(2, int(w * 0.25))


def vehicle_bounds(v: Vehicle, plate: Box) -> tuple[int, int, int, int]:
    """(left, top, right, bottom), right and bottom exclusive: all that paint_vehicle draws."""
    left, top, w, h = plate
    shapes, _ = _shapes(v.type, v.color, v.view, w, h)
    x0, y0, x1, y1 = 0, 0, w - 1, h - 1
    for _, (a, b, c, d), _ in shapes:
        x0, y0, x1, y1 = min(x0, a), min(y0, b), max(x1, c), max(y1, d)
    return left + x0, top + y0, left + x1 + 1, top + y1 + 1


def paint_vehicle(img: Image.Image, v: Vehicle, plate: Box, origin: tuple[int, int] = (0, 0)) -> None:
    """The vehicle and its plate (front or rear view) drawn on img, the part of the frame
    whose top-left corner is origin; plate is the plate's box in frame pixels."""
    left, top, w, h = plate
    ox, oy = left - origin[0], top - origin[1]
    iw, ih = img.size
    shapes, radius = _shapes(v.type, v.color, v.view, w, h)
    draw = ImageDraw.Draw(img)
    for kind, (a, b, c, d), fill in shapes:
        x0, y0, x1, y1 = a + ox, b + oy, c + ox, d + oy
        if x1 < 0 or y1 < 0 or x0 >= iw or y0 >= ih:
            continue  # outside this picture: skipping it is the cheapest way to clip
        if kind == "glass":
            inset = (x1 - x0) // 9  # the top edge is narrower: a windscreen seen from the front
            draw.polygon([(x0 + inset, y0), (x1 - inset, y0), (x1, y1), (x0, y1)], fill=fill)
        elif kind != "body":
            draw.rectangle((x0, y0, x1, y1), fill=fill)
        elif x0 + 2 * radius < 0 and x1 - 2 * radius >= iw or y0 + 2 * radius < 0 and y1 - 2 * radius >= ih:
            # no rounded corner (of diameter 2 * radius) in the picture, as in a plate
            # crop: a plain rectangle has the same pixels, at a twentieth of the cost
            draw.rectangle((x0, y0, x1, y1), fill=fill, outline=tone((20, 20, 20)))
        else:
            draw.rounded_rectangle((x0, y0, x1, y1), radius=radius, fill=fill, outline=tone((20, 20, 20)))
    img.paste(_plate_image(v.plate, v.country, v.view, w, h), (ox, oy))


# Caches, bounded: a run has one frame size and the downsized one. A 4K road is
# about 66 MB of pixels (clean and grain) and 1.3 MB of JPEG.
@lru_cache(maxsize=3)
def _background(w: int, h: int, seed: int) -> Background:
    return Background(w, h, seed)


@lru_cache(maxsize=4)
def _road_jpeg(w: int, h: int, seed: int, quality: int) -> SplicedJpeg:
    return SplicedJpeg(_background(w, h, seed).picture(), quality)


@lru_cache(maxsize=2)
def _photo(path: str) -> Image.Image:
    with Image.open(path) as img:
        return img.convert("RGB")


@lru_cache(maxsize=32)
def _photo_bytes(path: str, size: tuple[int, int], image_format: str, quality: int) -> bytes:
    # a photo is the same picture for every vehicle that shows it: resize and encode once
    return encode(_photo(path).resize(size, Image.Resampling.BILINEAR), image_format, quality)


def encode(img: Image.Image, image_format: str, quality: int = DEFAULT_QUALITY) -> bytes:
    """img as a file of image_format (jpeg | png | bmp); quality applies to JPEG only."""
    if image_format == "jpeg":
        return jpeg(img, quality)
    out = io.BytesIO()
    img.save(out, PIL_FORMAT[image_format])
    return out.getvalue()


class ImageRenderer:
    """Draws and encodes the images of events for one camera.

    With the user's photos, vehicle and frame images are those photos (one per
    vehicle, chosen by its arrival order, scaled to the image's size); the plate
    crop is still drawn, so that its text is the plate's. The coordinates then
    say where ffsim's plate would be, not where the photo's plate is.
    """

    def __init__(self, frame_w: int, frame_h: int, photos: tuple[str, ...] = (), seed: int = 0):
        self.frame_w, self.frame_h = frame_w, frame_h
        self.photos = tuple(photos)
        self.seed = seed

    def _scene(self, kind: str, v: Vehicle, x: float, y: float) -> tuple[tuple[int, int], Box, Box]:
        """(scene size, plate box in it, the box of the scene the image shows) for an image kind."""
        # imported here: ffsim.protocol imports this package, which may be imported first
        from ..protocol.crops import DOWNSIZED_WIDTH, crop_box, plate_box, relative_box, scale_of

        w, h = self.frame_w, self.frame_h
        plate = plate_box(x, y, v.plate_w, v.plate_h, w, h)
        if kind == "frame_downsized" and scale_of(kind, w) != 1.0:
            # drawn at its own size (not scaled down from a whole frame): the plate where
            # plateCoordinatesRelative puts it, the road with the grain of that size
            size = (DOWNSIZED_WIDTH, max(1, int(h * scale_of(kind, w) + 0.5)))
            return size, relative_box(kind, plate, w, h), (0, 0) + size
        if kind not in KINDS:
            raise ValueError(f"unknown image kind {kind!r}")
        return (w, h), plate, crop_box(kind, plate, w, h)

    def _draw(self, size: tuple[int, int], v: Vehicle, plate: Box, box: tuple[int, int, int, int]) -> Image.Image:
        """The pixels of the scene in box = (left, top, right, bottom): road, vehicle, grain."""
        bg = _background(size[0], size[1], self.seed)
        clean = bg.clean.crop(box)
        paint_vehicle(clean, v, plate, box[:2])
        return bg.picture(clean, box)

    def _plate_crop(self, v: Vehicle, plate: Box, box: tuple[int, int, int, int]) -> Image.Image:
        """The plate crop: the scene without its grain, and the stronger grain of a sharpened crop."""
        clean = _background(self.frame_w, self.frame_h, self.seed).clean.crop(box)
        paint_vehicle(clean, v, plate, box[:2])
        w, h = clean.size
        tile = plate_grain(self.seed, w, h)
        # where in the tile: moves with the plate, so successive shots differ
        x, y = box[0] % (tile.width - w + 1), box[1] % (tile.height - h + 1)
        return ImageChops.add(clean, tile.crop((x, y, x + w, y + h)), 1, -128)

    def _photo_of(self, v: Vehicle) -> str:
        return self.photos[v.seq % len(self.photos)]

    def render(self, kind: str, v: Vehicle, x: float, y: float) -> Image.Image:
        """The picture of this kind for a capture with the plate centre at (x, y)."""
        size, plate, (left, top, w, h) = self._scene(kind, v, x, y)
        if self.photos and kind != "plate":
            return _photo(self._photo_of(v)).resize((w, h), Image.Resampling.BILINEAR)
        if kind == "plate":
            return self._plate_crop(v, plate, (left, top, left + w, top + h))
        if kind == "vehicle":
            return self._draw(size, v, plate, (left, top, left + w, top + h))
        # a whole frame: the road with the rectangle around the vehicle drawn in
        box = vehicle_bounds(v, plate)
        box = (max(0, box[0]), max(0, box[1]), min(size[0], box[2]), min(size[1], box[3]))
        img = _background(size[0], size[1], self.seed).picture()
        if box[0] < box[2] and box[1] < box[3]:
            img.paste(self._draw(size, v, plate, box), box[:2])
        return img

    def scene(self, placed: Sequence[tuple[Vehicle, float, float]]) -> Image.Image:
        """The whole frame with every vehicle of placed drawn with its plate centre at (x, y), the
        later ones in front: a moment of the scene with all the vehicles in sight (`ffsim preview
        --at`). One vehicle gives the pixels of its "frame" image (without photos: a photo shows
        one vehicle, so this draws ffsim's own)."""
        # imported here, as in _scene: ffsim.protocol imports this package
        from ..protocol.crops import plate_box

        w, h = self.frame_w, self.frame_h
        bg = _background(w, h, self.seed)
        clean = bg.clean.copy()
        for v, x, y in placed:
            paint_vehicle(clean, v, plate_box(x, y, v.plate_w, v.plate_h, w, h))
        return bg.picture(clean, (0, 0, w, h))

    def image(self, kind: str, v: Vehicle, x: float, y: float, image_format: str,
              quality: int = DEFAULT_QUALITY) -> bytes:
        """The encoded image of this kind (plate | vehicle | frame | frame_downsized) for a
        capture with the plate centre at (x, y), as image_format (jpeg | png | bmp)."""
        size, plate, (left, top, w, h) = self._scene(kind, v, x, y)
        if self.photos and kind != "plate":
            return _photo_bytes(self._photo_of(v), (w, h), image_format, quality)
        if kind == "plate":
            img = self._plate_crop(v, plate, (left, top, left + w, top + h))
            # small pictures keep their colour resolution: chroma subsampling would save
            # little and blur the plate's colours (the EU band, a yellow plate)
            return jpeg(img, quality, subsampling=PLATE_SUBSAMPLING) if image_format == "jpeg" else encode(img, image_format)
        if kind == "vehicle":
            return encode(self._draw(size, v, plate, (left, top, left + w, top + h)), image_format, quality)
        if image_format != "jpeg":
            return encode(self.render(kind, v, x, y), image_format)
        road = _road_jpeg(size[0], size[1], self.seed, quality)
        box = road.region(*vehicle_bounds(v, plate))
        return road.splice(self._draw(size, v, plate, box), box)
