"""Delivered against stored, with a receiver in another process: `ffsim load --verify DIR`.

`ffsim receive --out DIR` appends one line per arrival to ``DIR/packets.jsonl`` (the payload,
its violations, the HTTP answer). At the start of a load, ``StoreCheck`` notes where that file
ends; at the end it reads what was appended since, keeps the packets of the fleet's cameras
that the receiver accepted (a 2xx answer, or TCP), and counts them as the built-in receiver's
check does: stored (distinct payloads), duplicates, lost (delivered but not stored) and the
receiver's violations of them. The receiver may still be writing: the check waits until as
many packets as were delivered are there, or until nothing new came for ``QUIET_S``, at most
``WAIT_S``.

Lines are read bounded (``MAX_LINE``); a torn last line (the receiver is mid-write) is read
again on the next pass; a line that is not JSON is counted in ``unreadable``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from ..replay import MAX_LINE

WAIT_S = 10.0  # at most this long for the receiver to store what was delivered
QUIET_S = 1.0  # ...or until nothing new was appended for this long
POLL_S = 0.05  # how often the file is looked at meanwhile (another process writes it: no signal to wait on)


def _device(payload: dict[str, Any]) -> object:
    """The camera a payload names: an event's sensorProviderID, a heartbeat's ALPV.device_ID."""
    if "sensorProviderID" in payload:
        return payload["sensorProviderID"]
    alpv = payload.get("ALPV")
    return alpv.get("device_ID") if isinstance(alpv, dict) else None


def payload_key(payload: object) -> int:
    """One stored packet's identity: its payload, whatever the order of its keys (a retried
    event is the same payload again; two events never are: counter and times differ)."""
    return hash(json.dumps(payload, sort_keys=True))


class StoreCheck:
    def __init__(self, folder: str | os.PathLike[str]) -> None:
        """folder: the --out of the `ffsim receive` that receives (its packets.jsonl appears with
        the first packet); ValueError when it is not a folder of one (no images/ in it)."""
        self.path = Path(folder) / "packets.jsonl"
        if not (Path(folder) / "images").is_dir():
            raise ValueError(f"--verify {os.fsdecode(folder)}: not the --out folder of an `ffsim receive` (no images/ "
                             "in it): give the folder of the receiver that receives the load")
        try:
            self.offset = self.path.stat().st_size
        except FileNotFoundError:
            self.offset = 0  # nothing stored yet
        except OSError as exc:
            raise ValueError(f"--verify: cannot read {self.path}: {exc.strerror or exc}") from None
        self._stored: set[int] = set()
        self._accepted = 0
        self._violations = 0
        self._unreadable = 0
        self._devices: set[str] | None = None

    def check(self, delivered: int, devices: set[str], planned: int = 0) -> dict[str, int]:
        """Wait (bounded) for the receiver, then: delivered, stored, duplicates, lost, violations.
        delivered counts documents (a coalesced TCP write holds several); planned of them are
        copies a `duplicate` fault sent on purpose: not counted as duplicates, nor as lost."""
        self._devices = devices
        deadline = time.monotonic() + WAIT_S
        quiet_since = time.monotonic()
        while True:
            if self._read():
                quiet_since = time.monotonic()
            now = time.monotonic()
            if self._accepted >= delivered or now >= deadline or now - quiet_since >= QUIET_S:
                break
            time.sleep(POLL_S)
        stored = len(self._stored)
        return {"delivered": delivered, "stored": stored, "duplicates": max(0, self._accepted - stored - planned),
                "planned_duplicates": planned, "lost": max(0, delivered - planned - stored),
                "violations": self._violations, "unreadable": self._unreadable}

    def _read(self) -> bool:
        """Read the whole lines appended since the last pass; True when there were any."""
        try:
            with open(self.path, "rb") as f:  # (not there yet: nothing stored so far)
                f.seek(self.offset)
                progressed = False
                while True:
                    line = f.readline(MAX_LINE + 1)
                    if not line.endswith(b"\n"):
                        return progressed  # torn (still being written) or the end: read it again next pass
                    self.offset += len(line)
                    progressed = True
                    self._take(line)
        except OSError:
            return False

    def _take(self, line: bytes) -> None:
        try:
            entry: Any = json.loads(line)
        except ValueError:
            self._unreadable += 1
            return
        if not isinstance(entry, dict) or not isinstance(entry.get("payload"), dict):
            return
        payload = entry["payload"]
        if self._devices is not None and _device(payload) not in self._devices:
            return  # another sender's
        status = entry.get("status")
        if isinstance(status, int) and not 200 <= status < 300:
            return  # refused: it comes again
        self._accepted += 1
        self._stored.add(payload_key(payload))
        violations = entry.get("violations")
        if isinstance(violations, list):
            self._violations += len(violations)
