"""Images: what is attached agrees with imageType, plateImageType, plateImageSize and the boxes."""

import base64
import io
import json

import pytest
from PIL import Image

from ffsim.protocol import Camera
from ffsim.scenario import load_scenario

BASE = """\
version: 1
start: 2026-11-24T08:00:00Z
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
    assert len({p.payload.attachments[0].data for p in got}) == 1
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
