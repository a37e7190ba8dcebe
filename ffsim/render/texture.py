"""The road behind the vehicles: a seeded, photographic background per frame size.

A flat drawing compresses to a few kilobytes, far below what a camera sends, so
receivers would never see the body sizes (and the ``Expect: 100-continue`` of a 4K
frame) they meet in the field. The background therefore carries what a photograph
has: uneven light, stains and patches on the asphalt, worn lane markings and
sensor grain. The grain is kept apart from the drawing (``clean`` + ``grain``),
so that a vehicle drawn on the clean road gets the same grain as the road around
it and any piece of a picture can be rebuilt alone, pixel for pixel.

Adding the grain is the costliest step after the JPEG encode if done with
clipping (ImageChops.add), so the drawing keeps every level within HEADROOM of
black and white (a camera's black level and highlight knee) and the grain is
added with ImageChops.add_modulo, 15 times faster and equal to the clipped sum
on such levels.

Randomness comes from SHAKE-256 of the frame size, the seed and the layer's name:
a fixed, standard function whose output no Python or library release may change
(unlike ``random.randbytes`` or numpy's distributions), and which no unseeded
source (Pillow's ``effect_noise``) ever feeds.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from statistics import NormalDist

from PIL import Image, ImageChops, ImageDraw

ASPHALT = (74, 76, 78)
# standard deviations, in 8-bit levels, tuned so that JPEG sizes at the default
# quality land in the middle of the ranges real cameras send (tests/test_images.py)
LUMA_GRAIN = 5.5  # sensor noise, the same in the three channels
CHROMA_GRAIN = 2.5  # colour noise, per channel
# plate crops: a camera sharpens them for the OCR, which raises the noise; tuned so
# that a 1080p camera's plate crop (about 156 x 46 pixels) weighs 4-20 KB
PLATE_LUMA_GRAIN = 20.0
PLATE_CHROMA_GRAIN = 7.0
STAINS = 7.0  # patches of the asphalt, about 12 px across
LIGHT = 9.0  # uneven light, about 200 px across


def random_bytes(n: int, *key: object) -> bytes:
    """n bytes fixed by key forever (SHAKE-256 is a standard, not an implementation)."""
    return hashlib.shake_256("/".join(map(str, ("ffsim-texture", *key))).encode()).digest(n)


def gaussian_table(sigma: float, channels: int = 1) -> list[int]:
    """A point() table turning uniform bytes into levels around 128 spread by sigma.

    Each byte u stands for the quantile (u + 0.5) / 256 of a normal distribution;
    the table is rounded to integers, so floating-point differences between
    platforms could only matter at an exact .5, which tests/test_images.py checks
    no entry comes near."""
    nd = NormalDist(0.0, sigma)
    table = [min(255, max(0, 128 + round(nd.inv_cdf((u + 0.5) / 256)))) for u in range(256)]
    return table * channels


def _deviation(sigma: float) -> int:
    table = gaussian_table(sigma)
    return max(abs(t - 128) for t in table)


# the grain moves a level by at most this much: drawn levels stay in [HEADROOM, 255 - HEADROOM]
HEADROOM = _deviation(LUMA_GRAIN) + _deviation(CHROMA_GRAIN)
_CLAMP = [min(255 - HEADROOM, max(HEADROOM, u)) for u in range(256)] * 3


def tone(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """A drawing colour brought within the levels the grain can be added to without clipping."""
    lo, hi = HEADROOM, 255 - HEADROOM
    r, g, b = rgb
    return (min(hi, max(lo, r)), min(hi, max(lo, g)), min(hi, max(lo, b)))


def noise(size: tuple[int, int], mode: str, sigma: float, *key: object) -> Image.Image:
    """Seeded noise around 128, one independent value per pixel and channel."""
    bands = len(mode)
    raw = Image.frombytes(mode, size, random_bytes(size[0] * size[1] * bands, *key))
    return raw.point(gaussian_table(sigma, bands))


def smooth_noise(size: tuple[int, int], cell: int, sigma: float, *key: object) -> Image.Image:
    """Noise varying over about `cell` pixels: coarse seeded noise scaled up smoothly."""
    w, h = size
    small = noise((max(2, -(-w // cell) + 1), max(2, -(-h // cell) + 1)), "L", sigma, *key)
    return small.resize(size, Image.Resampling.BICUBIC)


class Background:
    """The road of one frame size and seed: ``clean`` (drawing, stains, light) and ``grain``.

    ``grain`` holds each pixel's deviation modulo 256, so the picture is
    ``add_modulo(clean, grain)``; every part of a rendered image is computed that
    way from crops of both."""

    def __init__(self, w: int, h: int, seed: int):
        self.size = (w, h)
        key = (w, h, seed)
        clean = Image.new("RGB", self.size, ASPHALT)
        draw = ImageDraw.Draw(clean)  # levels are clamped after the light and stains are added
        # shoulders and lane markings, in proportion to the frame (a camera above a road)
        for x0, x1 in ((0, w * 0.04), (w * 0.96, w)):
            draw.rectangle((x0, 0, x1, h), fill=(96, 104, 82))
        dash, gap = max(8, h // 12), max(6, h // 16)
        half = max(1, w // 600)
        for lane in range(1, 4):
            lx = w * lane / 4
            for y0 in range(-(lane * 37 % (dash + gap)), h, dash + gap):
                draw.rectangle((lx - half, y0, lx + half, y0 + dash), fill=(206, 206, 196))
        # light and stains, the same in the three channels (asphalt is grey)
        shade = ImageChops.add(smooth_noise(self.size, max(16, w // 10), LIGHT, *key, "light"),
                               smooth_noise(self.size, max(4, w // 160), STAINS, *key, "stains"), 1, -128)
        self.clean = ImageChops.add(clean, Image.merge("RGB", (shade, shade, shade)), 1, -128).point(_CLAMP)
        luma = noise(self.size, "L", LUMA_GRAIN, *key, "luma")
        grain = ImageChops.add(Image.merge("RGB", (luma, luma, luma)),
                               noise(self.size, "RGB", CHROMA_GRAIN, *key, "chroma"), 1, -128)
        # 128 + d -> d mod 256 (a wrapping subtraction of 128)
        self.grain = ImageChops.add_modulo(grain, Image.new("RGB", self.size, (128, 128, 128)))

    def picture(self, clean: Image.Image | None = None, box: tuple[int, int, int, int] | None = None) -> Image.Image:
        """The grain added to clean (the whole road by default), clean lying at box of the frame.

        clean's levels must lie in [HEADROOM, 255 - HEADROOM] (draw with tone())."""
        if clean is None:
            return ImageChops.add_modulo(self.clean, self.grain)
        assert box is not None
        return ImageChops.add_modulo(clean, self.grain.crop(box))


def plate_grain(seed: int, w: int, h: int) -> Image.Image:
    """Grain around 128 for plate crops: a seeded tile of at least w x h (added with clipping)."""
    tw, th = -(-max(512, w) // 256) * 256, -(-max(256, h) // 256) * 256
    return _plate_tile(seed, tw, th)


@lru_cache(maxsize=4)
def _plate_tile(seed: int, w: int, h: int) -> Image.Image:
    key = (w, h, seed)
    luma = noise((w, h), "L", PLATE_LUMA_GRAIN, *key, "plate-luma")
    return ImageChops.add(Image.merge("RGB", (luma, luma, luma)),
                          noise((w, h), "RGB", PLATE_CHROMA_GRAIN, *key, "plate-chroma"), 1, -128)
