"""The camera's heartbeat (keepalive) payload, FF-EVENTS.md section 7."""

from __future__ import annotations

import json
import time

from ..scenario.model import Heartbeat, Scenario


def mac_with_colons(mac: str) -> str:
    digits = "".join(ch for ch in mac if ch.isalnum()).upper()
    if len(digits) != 12:
        return mac
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


def iso_ms(epoch_us: int) -> str:
    seconds, micro = divmod(epoch_us, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + ".%03dZ" % (micro // 1000)


def heartbeat_payload(scenario: Scenario, hb: Heartbeat, epoch_us: int, frames: int, reads: int) -> dict:
    """The keepalive at epoch_us, after `frames` frames and `reads` plate reads (passages) since t=0."""
    cam = scenario.camera
    full = {
        "system": {"timestamp": iso_ms(epoch_us)},
        "identify": {"platform": cam.model, "version": hb.firmware, "ipAddress": cam.ip,
                     "macAddress": mac_with_colons(cam.mac), "osVersion": hb.firmware,
                     "anprVersion": hb.anpr_version},
        "ALPV": {"device_ID": cam.device_id, "version": hb.anpr_version, "numFrames": str(frames),
                 "numFramesAvg": str(round(float(cam.fps))), "numberOfReads": str(reads)},
    }
    if not hb.fields:
        return full
    chosen = set(hb.fields)
    out: dict = {}
    for group, values in full.items():
        kept = {k: v for k, v in values.items() if f"{group}.{k}" in chosen}
        if kept:
            out[group] = kept
    return out


def heartbeat_json(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")
