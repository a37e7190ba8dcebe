"""Images: what is attached agrees with imageType, plateImageType, plateImageSize and the boxes."""

import base64
import dataclasses
import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from ffsim.engine.plates import plate_size
from ffsim.engine.vehicle import Trajectory, Vehicle
from ffsim.protocol import Camera
from ffsim.protocol.crops import crop_box, plate_box
from ffsim.render import DEFAULT_QUALITY, ImageRenderer, encode, paint_vehicle, texture
from ffsim.render.splice import interval_for, jpeg
from ffsim.scenario import load_scenario
from ffsim.scenario.model import Profile

# the documented shape: plateImageSize is the image's size, plateCoordinatesRelative the box in it
BASE = """\
version: 1
start: 2026-11-24T08:00:00Z
camera: {firmware: documented}
zones: [{id: 1, polygon: [[0, 300], [1920, 300], [1920, 1080], [0, 1080]], direction: 180}]
vehicles:
  - {plate: 5SX 2207, country: CZE, color: RED, at: 0s, path: [[960, 400], [960, 1000]], duration: 3s}
  - {plate: AB12 CDE, country: GBR, color: BLUE, view: rear, at: 1s, path: [[400, 1000], [400, 400]], duration: 3s}
profiles:
  - {id: 1, %s}
"""


def packets(tmp_path, profile):
    path = tmp_path / "s.yaml"
    path.write_text(BASE % profile)
    scenario = load_scenario(path)
    return list(Camera(scenario, scenario.start_us).packets())


@pytest.mark.parametrize("kind, image_type", [("vehicle", "vehicle"), ("plate", "plate"), ("frame", "frame"),
                                              ("frame_downsized", "frame")])
@pytest.mark.parametrize("fmt, pil", [("jpeg", "JPEG"), ("png", "PNG"), ("bmp", "BMP")])
def test_attached_image_agrees_with_the_payload(tmp_path, kind, image_type, fmt, pil):
    for packet in packets(tmp_path, f"image: {kind}, image_format: {fmt}"):
        p = packet.payload.as_dict()
        (image,) = packet.payload.attachments
        assert (p["imageType"], p["plateImageType"], p["plateImageSize"]) == (image_type, fmt, str(len(image.data)))
        assert image.content_type == f"image/{fmt}" and image.field == "image"
        img = Image.open(io.BytesIO(image.data))
        img.load()
        assert img.format == pil
        left, top, w, h = p["plateCoordinatesRelative"]
        assert 0 <= left and left + w <= img.width and 0 <= top and top + h <= img.height
        if kind == "frame":
            assert img.size == (1920, 1080) and p["plateCoordinatesRelative"] == p["plateCoordinates"]
        if kind == "frame_downsized":
            assert img.size == (640, 360)
        # the plate is drawn where the box says: a light plate with dark lettering inside it
        plate = img.convert("L").crop((left, top, left + w, top + h))
        lo, hi = plate.getextrema()
        assert hi > 150 and lo < 80  # white or yellow plate, black letters


def test_second_image_is_the_plate_crop(tmp_path):
    for packet in packets(tmp_path, "image: vehicle, second_image: true"):
        first, second = packet.payload.attachments
        assert (first.field, second.field) == ("image", "image2")
        assert second.filename == packet.payload["imageFile2"].rpartition("/")[2]
        assert first.filename == packet.payload["imageFile"].rpartition("/")[2]
        assert Image.open(io.BytesIO(second.data)).width < Image.open(io.BytesIO(first.data)).width


def test_json_format_carries_images_in_image_array(tmp_path):
    got = packets(tmp_path, "format: json, image: plate, image_format: png, second_image: true")
    for packet in got:
        d = json.loads(packet.payload.camera_json())
        keys = list(d)
        assert keys[keys.index("imagesURI") + 1] == "ImageArray"
        entries = d["ImageArray"]
        assert [e["ImageFormat"] for e in entries] == ["png", "png"]
        assert [set(e) for e in entries] == [{"ImageType", "ImageFormat", "BinaryImage"}] * 2
        assert base64.b64decode(entries[0]["BinaryImage"]) == packet.payload.attachments[0].data
        assert d["plateImageSize"] == str(len(packet.payload.attachments[0].data))
        assert packet.payload.compact() == json.dumps(packet.payload.as_dict(), ensure_ascii=False)


def test_no_image_means_no_image_fields(tmp_path):
    for profile in ("image: none", "protocol: tcp", "protocol: tcp, format: json"):
        for packet in packets(tmp_path, profile):
            d = packet.payload.as_dict()
            assert packet.payload.attachments == ()
            assert d["plateImageSize"] == "0" and "ImageArray" not in d


def test_tcp_with_images_uses_image_array(tmp_path):
    packet = packets(tmp_path, "protocol: tcp, image: plate")[0]
    assert len(packet.payload.as_dict()["ImageArray"]) == 1


def test_crops_are_drawn_once_per_passage_and_shared(tmp_path):
    got = [p for p in packets(tmp_path, "image: vehicle") if p.payload["plateUTF8"] == "5SX2207"]
    first = got[0].payload.attachments[0].data
    assert all(p.payload.attachments[0].data is first for p in got)  # the same bytes object: drawn once
    assert len({tuple(p.payload["plateCoordinatesRelative"]) for p in got}) == 1


def test_users_photos_for_vehicle_and_frame_images(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    colours = [(200, 10, 10), (10, 200, 10)]
    for i, colour in enumerate(colours):
        Image.new("RGB", (800, 600), colour).save(photos / f"car{i}.jpg", quality=95)
    (photos / "notes.txt").write_text("not a photo")
    path = tmp_path / "s.yaml"
    path.write_text(BASE % "image: vehicle, second_image: true" + "images: {photos: photos}\n")
    scenario = load_scenario(path)
    seen = {}
    for packet in Camera(scenario, scenario.start_us).packets():
        image, plate = packet.payload.attachments
        img = Image.open(io.BytesIO(image.data)).convert("RGB")
        seen[packet.payload["plateUTF8"]] = img.getpixel((img.width // 2, img.height // 2))
        assert img.size == (588, 420)  # scaled to the vehicle crop
        assert Image.open(io.BytesIO(plate.data)).width < 200  # the plate crop is still drawn
    # one photo per vehicle, in arrival order
    first, second = seen["5SX2207"], seen["AB12CDE"]
    assert first[0] > 150 and first[1] < 60 and second[1] > 150 and second[0] < 60


def test_photos_folder_must_exist(tmp_path):
    from ffsim.scenario import ScenarioError

    path = tmp_path / "s.yaml"
    path.write_text(BASE % "image: vehicle" + "images: {photos: nowhere}\n")
    with pytest.raises(ScenarioError, match=r"s\.yaml:\d+:\d+: images\.photos: 'nowhere' is not a folder"):
        load_scenario(path)


# --- the renderer itself: sizes, splicing, determinism --------------------------------

KiB, MiB = 1024, 1024 * 1024
PLATES = [("CZE", "5SX 2207", "front"), ("GBR", "AB12 CDE", "rear"), ("USA", "7ABC123", "front")]


def vehicle(frame_w, country="CZE", plate="5SX 2207", view="front", color="RED", vtype="CAR", seq=0):
    w, h = plate_size(country, frame_w)
    # the renderer places the vehicle by the (x, y) it is given; its path is never read
    return Vehicle(seq=seq, trajectory=Trajectory(0, [(0.0, 0.0, 0)], None, None), hidden=[], reads=[], plate=plate, country=country, region="",
                   region_code="", iso3166_2="", brand="", model="", color=color, type=vtype, view=view,
                   confidence_mmr=0.0, confidence_color=0.0, plate_w=w, plate_h=h)


def along(frame_w, frame_h, n=6):
    """Plate centres down the frame, from near the top edge to near the bottom, left to right."""
    return [(frame_w * (0.1 + 0.8 * i / (n - 1)), frame_h * (0.05 + 0.9 * i / (n - 1))) for i in range(n)]


def test_renderer_default_quality_is_the_profiles():
    # the sizes below are tuned at the renderer's default: it must be what a profile sends
    default = {f.name: f.default for f in dataclasses.fields(Profile)}["image_quality"]
    assert DEFAULT_QUALITY == default


@pytest.mark.parametrize("country, text, view", PLATES)
def test_sizes_match_real_cameras_at_the_default_quality(country, text, view):
    """Deterministic sizes (not timings): plate 4-20 KB, vehicle 30-150 KB, 1080p frame
    150-600 KB, 4K frame over 1 MiB so that it goes through Expect: 100-continue and a
    receiver's 1 MiB body limit fails in CI as in the field."""
    hd = ImageRenderer(1920, 1080, seed=7)
    uhd = ImageRenderer(3840, 2160, seed=7)
    v, v4 = vehicle(1920, country, text, view), vehicle(3840, country, text, view)
    # where the crops lie whole inside the frame (a crop cut by the frame's edge is smaller)
    spots = [(1920 * (0.2 + 0.12 * i), 1080 * (0.4 + 0.1 * i)) for i in range(6)]
    for x, y in spots:
        assert 4 * KiB <= len(hd.image("plate", v, x, y, "jpeg")) <= 20 * KiB
        assert 4 * KiB <= len(uhd.image("plate", v4, 2 * x, 2 * y, "jpeg")) <= 20 * KiB
        vehicle_kib = len(hd.image("vehicle", v, x, y, "jpeg")) / KiB
        assert 30 <= vehicle_kib <= 150
        assert 150 * KiB <= len(hd.image("frame", v, x, y, "jpeg")) <= 600 * KiB
    # one 4K frame per plate: the road dominates its size, wherever the vehicle is
    assert len(uhd.image("frame", v4, 1920, 1300, "jpeg")) > MiB


def test_quality_setting_changes_the_jpeg():
    r, v = ImageRenderer(1920, 1080), vehicle(1920)
    sizes = [len(r.image(kind, v, 960, 600, "jpeg", q)) for kind in ("plate", "vehicle", "frame") for q in (50, 95)]
    assert sizes[0] < sizes[1] and sizes[2] < sizes[3] and sizes[4] < sizes[5]
    assert Image.open(io.BytesIO(r.image("frame", v, 960, 600, "jpeg", 50))).size == (1920, 1080)


@pytest.mark.parametrize("size", [(1920, 1080), (3840, 2160), (1000, 562), (640, 480)])
def test_spliced_frames_are_byte_identical_to_a_whole_encode(size):
    """A frame is the road's JPEG with the restart intervals under the vehicle re-encoded;
    it must be exactly the encode of the whole picture, also where the vehicle leaves the
    frame and where the frame's size is no multiple of the 16-pixel MCU (1000 x 562)."""
    w, h = size
    r = ImageRenderer(w, h, seed=3)
    v = vehicle(w, vtype="TRUCK", color="WHITE")
    spots = along(w, h) + [(2, 2), (w - 2, h - 2), (w / 2, h - 1)]
    for kind in ("frame", "frame_downsized"):
        for x, y in spots:
            img = r.render(kind, v, x, y)
            assert r.image(kind, v, x, y, "jpeg", 80) == jpeg(img, 80, interval_for(img.width))


def test_frames_show_the_vehicle_where_it_is():
    r, v = ImageRenderer(1920, 1080), vehicle(1920)
    assert r.image("frame", v, 500, 300, "jpeg") != r.image("frame", v, 500, 700, "jpeg")
    a, b = r.render("frame", v, 500, 300), r.render("frame", v, 500, 700)
    assert ImageChops.difference(a, b).getbbox() is not None


def test_a_crop_has_the_pixels_of_the_whole_frame():
    """Drawing only a crop (what makes crops cheap) must give the pixels the whole frame
    has there: the vehicle crop outright; the plate crop before its stronger grain,
    which checks the plain-rectangle shortcut for the body against the rounded one."""
    r = ImageRenderer(1920, 1080, seed=5)
    for vtype, (x, y) in zip(("CAR", "SUV", "VAN", "TRUCK", "BUS", "CAR"), along(1920, 1080)):
        v = vehicle(1920, vtype=vtype)
        frame = r.render("frame", v, x, y)
        plate = plate_box(x, y, v.plate_w, v.plate_h, 1920, 1080)
        left, top, cw, ch = crop_box("vehicle", plate, 1920, 1080)
        assert r.render("vehicle", v, x, y).tobytes() == frame.crop((left, top, left + cw, top + ch)).tobytes()
        left, top, cw, ch = crop_box("plate", plate, 1920, 1080)
        whole = Image.new("RGB", (1920, 1080), (90, 90, 90))
        paint_vehicle(whole, v, plate)
        part = whole.crop((left, top, left + cw, top + ch))
        part.paste((90, 90, 90), (0, 0) + part.size)
        paint_vehicle(part, v, plate, (left, top))
        assert part.tobytes() == whole.crop((left, top, left + cw, top + ch)).tobytes()


def test_grain_is_added_without_wrapping():
    """add_modulo stands for a clipped addition: the drawn levels must leave room for the grain."""
    r, v = ImageRenderer(1920, 1080, seed=1), vehicle(1920, color="WHITE", view="rear", country="GBR", plate="AB12 CDE")
    bg = texture.Background(1920, 1080, 1)
    centred = ImageChops.add_modulo(bg.grain, Image.new("RGB", bg.size, (128, 128, 128)))
    plate = plate_box(960, 600, v.plate_w, v.plate_h, 1920, 1080)
    box = (600, 300, 1400, 900)
    clean = bg.clean.crop(box)
    paint_vehicle(clean, v, plate, box[:2])
    lo, hi = min(e[0] for e in clean.getextrema()), max(e[1] for e in clean.getextrema())
    assert texture.HEADROOM <= lo and hi <= 255 - texture.HEADROOM
    clipped = ImageChops.add(clean, centred.crop(box), 1, -128)
    assert bg.picture(clean, box).tobytes() == clipped.tobytes()
    assert r.render("vehicle", v, 960, 600).getextrema() != ((0, 255),) * 3  # grain seen, nothing wrapped to 0/255


def test_noise_tables_do_not_depend_on_floating_point_details():
    """The tables round inverse normal quantiles: if none lies near a .5, a libm that differs
    in the last bits cannot change the noise."""
    from statistics import NormalDist

    for sigma in (texture.LUMA_GRAIN, texture.CHROMA_GRAIN, texture.STAINS, texture.LIGHT,
                  texture.PLATE_LUMA_GRAIN, texture.PLATE_CHROMA_GRAIN):
        nd = NormalDist(0.0, sigma)
        for u in range(256):
            value = nd.inv_cdf((u + 0.5) / 256)
            assert abs(value - round(value)) < 0.5 - 1e-6 or u in (127, 128) and abs(value) < 1e-6


def test_randomness_is_a_fixed_function_of_size_seed_and_layer():
    # SHAKE-256 of the key: pinned, so no library release can change the road
    assert texture.random_bytes(8, 1920, 1080, 0, "luma").hex() == hashlib.shake_256(
        b"ffsim-texture/1920/1080/0/luma").digest(8).hex()
    a, b = texture.Background(320, 240, 0), texture.Background(320, 240, 1)
    assert a.picture().tobytes() == texture.Background(320, 240, 0).picture().tobytes()
    assert a.picture().tobytes() != b.picture().tobytes()


RENDER_ALL = """
import hashlib, sys
from ffsim.engine.plates import plate_size
from ffsim.engine.vehicle import Trajectory, Vehicle
from ffsim.render import ImageRenderer
w, h = plate_size("GBR", 1280)
v = Vehicle(seq=0, trajectory=Trajectory(0, [(0.0, 0.0, 0)], None, None), hidden=[], reads=[], plate="AB12 CDE", country="GBR", region="", region_code="",
            iso3166_2="", brand="", model="", color="BLUE", type="SUV", view="rear", confidence_mmr=0.0,
            confidence_color=0.0, plate_w=w, plate_h=h)
r = ImageRenderer(1280, 720, seed=int(sys.argv[1]))
for kind in ("plate", "vehicle", "frame", "frame_downsized"):
    for fmt in ("jpeg", "png", "bmp"):
        print(kind, fmt, hashlib.sha256(r.image(kind, v, 640, 400, fmt, 80)).hexdigest())
"""


def render_all_digests(seed: int, python: str = sys.executable, cwd=None) -> str:
    return subprocess.run([python, "-c", RENDER_ALL, str(seed)], capture_output=True, text=True, check=True,
                          cwd=cwd).stdout


def test_same_seed_same_bytes_in_a_fresh_process():
    """No hidden state (caches, their order, unseeded noise) reaches the bytes."""
    first = render_all_digests(11)
    assert first.count("\n") == 12
    assert render_all_digests(11) == first
    # and the renderer in this process, whatever it rendered before, agrees; another seed does not
    w, h = plate_size("GBR", 1280)
    v = vehicle(1280, "GBR", "AB12 CDE", "rear", "BLUE", "SUV")
    assert (v.plate_w, v.plate_h) == (w, h)

    def mine(seed):
        r = ImageRenderer(1280, 720, seed=seed)
        return "".join(f"{k} {f} {hashlib.sha256(r.image(k, v, 640, 400, f, 80)).hexdigest()}\n"
                       for k in ("plate", "vehicle", "frame", "frame_downsized") for f in ("jpeg", "png", "bmp"))

    assert mine(11) == first
    assert mine(12) != first


def test_lossless_images_are_the_pictures():
    r, v = ImageRenderer(1920, 1080), vehicle(1920)
    for kind in ("plate", "vehicle", "frame", "frame_downsized"):
        img = r.render(kind, v, 900, 500)
        for fmt in ("png", "bmp"):
            got = Image.open(io.BytesIO(r.image(kind, v, 900, 500, fmt)))
            assert got.convert("RGB").tobytes() == img.tobytes()
    assert encode(img, "jpeg") == encode(img, "jpeg", DEFAULT_QUALITY)


def test_photos_are_resized_once_and_reused(tmp_path):
    path = tmp_path / "car.png"
    Image.new("RGB", (400, 300), (200, 10, 10)).save(path)
    r = ImageRenderer(1920, 1080, photos=(str(path),))
    v = vehicle(1920)
    first = r.image("vehicle", v, 960, 600, "jpeg", 80)
    assert r.image("vehicle", v, 960, 600, "jpeg", 80) is first  # the cached bytes
    img = Image.open(io.BytesIO(r.image("frame", v, 960, 600, "jpeg", 80)))
    assert img.size == (1920, 1080) and img.convert("RGB").getpixel((960, 540))[0] > 150
    assert Image.open(io.BytesIO(r.image("plate", v, 960, 600, "jpeg", 80))).width < 200  # still drawn


def test_font_ships_inside_the_package():
    import ffsim.render

    assets = Path(ffsim.render.__file__).parent / "assets"
    assert (assets / "DejaVuSansMono-Bold.ttf").is_file() and (assets / "DejaVu-LICENSE.txt").is_file()
