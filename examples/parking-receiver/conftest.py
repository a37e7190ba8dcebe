"""The receiver under test, served for real on loopback: the cameras ffsim simulates talk HTTP
to it exactly as they would in the car park."""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app import create_app, passages

logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request


@dataclass
class Served:
    url: str  # where the cameras send: http://127.0.0.1:<port>/events
    db_path: Path

    def passages(self) -> list[dict]:
        return passages(str(self.db_path))

    def clear(self) -> None:
        db = sqlite3.connect(self.db_path)
        with db:
            db.execute("DELETE FROM passages")
        db.close()


@pytest.fixture
def parking(tmp_path):
    """A fresh database and the app serving it in a thread, on a free port."""
    db_path = tmp_path / "parking.db"
    server = make_server("127.0.0.1", 0, create_app(str(db_path)), threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="parking-receiver", daemon=True)
    thread.start()
    yield Served(f"http://127.0.0.1:{server.server_port}/events", db_path)
    server.shutdown()
    thread.join()
    server.server_close()
