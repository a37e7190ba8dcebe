"""The receiver's multipart reading (python-multipart) and the storing of packets with images
in the storing threads."""

from __future__ import annotations

import json
import threading
import urllib.request

import pytest

from ffsim.receiver import multipart
from ffsim.receiver.server import Receiver

EVENT = b'{"carState": "new"}'


def body(*parts: bytes, end: bytes = b"--B--\r\n") -> bytes:
    return b"".join(parts) + end


def part(name: str, data: bytes, filename: str | None = None, content_type: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
    head = f"--B\r\nContent-Disposition: {disposition}\r\n"
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    return head.encode() + b"\r\n" + data + b"\r\n"


def test_parts_in_order_with_their_bytes_as_sent():
    data = body(part("event", EVENT, "e.json", "application/json"),
                part("image", b"\xff\xd8\r\n--Bx\xff\xd9", "p.jpg", "image/jpeg"), part("note", b"\xff text"))
    parts = multipart.parse("multipart/form-data; boundary=B", data, 32)
    assert [(p.name, p.filename, p.content_type) for p in parts] == [
        ("event", "e.json", "application/json"), ("image", "p.jpg", "image/jpeg"), ("note", None, "")]
    assert parts[0].data == EVENT and parts[1].data == b"\xff\xd8\r\n--Bx\xff\xd9" and parts[2].data == b"\xff text"


@pytest.mark.parametrize("content_type, data, words", [
    ("multipart/form-data", body(part("event", EVENT)), "no boundary"),
    ("multipart/form-data; boundary=B", body(part("event", EVENT), end=b""), "ends before its closing boundary"),
    ("multipart/form-data; boundary=B", b"--B\r\nContent-Type: x\r\n\r\nabc\r\n--B--\r\n", "Content-Disposition"),
    ("multipart/form-data; boundary=B", b"--X\r\n\r\n", "boundary"),
])
def test_unreadable_bodies_say_why(content_type, data, words):
    with pytest.raises(multipart.MultipartError, match=words):
        multipart.parse(content_type, data, 32)


def test_too_many_parts_stop_the_reading_at_the_first_over_the_limit():
    data = body(*(part(f"p{i}", b"x") for i in range(1000)))
    with pytest.raises(multipart.TooManyParts, match="more than 3 parts"):
        multipart.parse("multipart/form-data; boundary=B", data, 3)
    assert len(multipart.parse("multipart/form-data; boundary=B", data, 1000)) == 1000


def test_mimetype():
    assert multipart.mimetype('Multipart/Form-Data; boundary="a;b"') == "multipart/form-data"
    assert multipart.mimetype("application/json") == "application/json"


def post(url: str, data: bytes) -> int:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "multipart/form-data; boundary=B"})
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_packets_with_images_sent_at_once_are_all_stored_before_their_answer(tmp_path):
    """Many senders at once: each answer comes once its packet and image are stored; nothing lost."""
    jpeg = b"\xff\xd8\xff\xd9"
    answers = []
    with Receiver(out=tmp_path) as rx:
        def camera(n: int) -> None:
            for k in range(10):
                event = json.dumps({"carState": "new", "sensorProviderID": f"CAM{n}", "packetCounter": k}).encode()
                data = body(part("event", event, "e.json", "application/json"),
                            part("image", jpeg, f"c{n}-{k}.jpg", "image/jpeg"))
                status = post(rx.url + "x", data)
                answers.append(status)
                assert any(p.name.endswith(f"c{n}-{k}.jpg") for p in (tmp_path / "images").iterdir())

        threads = [threading.Thread(target=camera, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert rx.packets == 80
        rx.clear()
        assert rx.packets == 0 and rx.records == []
    assert answers == [200] * 80
    lines = (tmp_path / "packets.jsonl").read_text().splitlines()
    assert len(lines) == 80 and len(list((tmp_path / "images").iterdir())) == 80
    assert all(len(json.loads(line)["images"]) == 1 for line in lines)
    for path in [tmp_path / "packets.jsonl", *(tmp_path / "images").iterdir()]:
        assert path.stat().st_mode & 0o077 == 0


def test_clear_from_on_record_in_a_storing_thread_does_not_hang(tmp_path):
    cleared = []

    def on_record(record):
        if not cleared:
            cleared.append(True)
            rx.clear()

    rx = Receiver(out=tmp_path, on_record=on_record)
    with rx:
        data = body(part("event", b'{"carState": "new"}', "e.json", "application/json"),
                    part("image", b"\xff\xd8\xff\xd9", "p.jpg", "image/jpeg"))
        assert post(rx.url + "x", data) == 200
        assert post(rx.url + "x", data) == 200
        assert rx.packets == 1


def test_a_part_named_by_filename_star_is_a_file_not_a_dropped_field():
    data = body(part("event", b"{}", "event.json", "application/json"),
                b'--B\r\nContent-Disposition: form-data; name="image"; filename*=UTF-8\'\'pl%C3%A4te.jpg\r\n'
                b"Content-Type: image/jpeg\r\n\r\n\xff\xd8\xff\xd9\r\n")
    parts = multipart.parse("multipart/form-data; boundary=B", data, 32)
    assert [(p.name, p.filename) for p in parts] == [("event", "event.json"), ("image", "pl\u00e4te.jpg")]
