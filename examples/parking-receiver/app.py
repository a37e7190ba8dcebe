"""A car park's receiver of licence-plate camera events (AXIS / CAMMRA FF-Events).

The cameras POST one event per request to /events: multipart/form-data with the JSON in a
part named "event" and the images in other parts, or the JSON alone as the body
(application/json, images inline in ImageArray). We keep one row per passage (carID) per
camera: the plate as last read, when it was first and last seen, the direction, the last
state (new, update, lost) and how many images came with it.

    flask --app "app:create_app('parking.db')" run --port 8080
"""

from __future__ import annotations

import json
import sqlite3

from flask import Flask, abort, request

SCHEMA = """
CREATE TABLE IF NOT EXISTS passages (
    camera      TEXT NOT NULL,     -- the camera's Device ID (sensorProviderID)
    car_id      TEXT NOT NULL,     -- the camera's id of the passage
    plate       TEXT NOT NULL,     -- as last reported (the Lost carries the final read)
    first_seen  INTEGER NOT NULL,  -- capture time, epoch ms
    last_update INTEGER NOT NULL,
    direction   TEXT NOT NULL,     -- unknown, in, out
    state       TEXT NOT NULL,     -- new, update, lost: lost closes the passage
    images      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (camera, car_id)
)
"""

UPSERT = """
INSERT INTO passages (camera, car_id, plate, first_seen, last_update, direction, state, images)
VALUES (:camera, :car_id, :plate, :time, :time, :direction, :state, :images)
ON CONFLICT (camera, car_id) DO UPDATE SET
    plate = excluded.plate,
    last_update = MAX(last_update, excluded.last_update),
    direction = excluded.direction,
    state = excluded.state,
    images = images + excluded.images
"""


def connect(db_path: str) -> sqlite3.Connection:
    db = sqlite3.connect(db_path, timeout=10)
    db.row_factory = sqlite3.Row
    return db


def read_event() -> tuple[dict, int]:
    """The event's JSON and the number of images that came with it; 400 when unreadable."""
    if request.mimetype == "multipart/form-data":
        part = request.files.get("event")
        text = part.read() if part is not None else request.form.get("event")
        if not text:
            abort(400, "no 'event' part")
        images = len([name for name, _ in request.files.items(multi=True) if name != "event"])
    else:
        text = request.get_data()
        images = None
    try:
        event = json.loads(text)
    except ValueError:
        abort(400, "the event is not JSON")
    if not isinstance(event, dict):
        abort(400, "the event is not a JSON object")
    if images is None:
        images = len(event.get("ImageArray") or [])
    return event, images


def passage_of(event: dict, images: int) -> dict:
    """The columns we store, from the camera's payload (every value is a string there)."""
    try:
        return {
            "camera": event["sensorProviderID"],
            "car_id": event["carID"],
            "plate": event["plateUTF8"],
            "time": int(event["capture_timestamp"]),
            "direction": event["carMoveDirection"],
            "state": event["carState"],
            "images": images,
        }
    except (KeyError, ValueError, TypeError) as exc:
        abort(400, f"missing or bad field: {exc}")


def create_app(db_path: str) -> Flask:
    app = Flask(__name__)
    with connect(db_path) as db:
        db.execute(SCHEMA)
    db.close()

    @app.post("/events")
    def events():
        event, images = read_event()
        row = passage_of(event, images)
        db = connect(db_path)
        try:
            with db:  # one transaction: committed before the camera gets its answer
                db.execute(UPSERT, row)
        finally:
            db.close()
        return {"stored": row["car_id"]}, 200

    return app


def passages(db_path: str) -> list[dict]:
    """Every passage stored, oldest first (for reports, and for tests)."""
    db = connect(db_path)
    try:
        rows = db.execute("SELECT * FROM passages ORDER BY first_seen, camera, CAST(car_id AS INTEGER)").fetchall()
    finally:
        db.close()
    return [dict(row) for row in rows]
