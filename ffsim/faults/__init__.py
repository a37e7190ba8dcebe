"""Faults on purpose: what a camera in the field does on a bad day, on demand and deterministic.

A scenario's (or a fleet group's) ``faults:`` list names them; see ``CATALOGUE`` (and ``ffsim
faults``) for every type with a one-line description, a YAML snippet and what a robust receiver
does. Where each acts:

* the engine and the payload builder: ``restart`` (the camera goes dark; counters and carIDs
  start again), clock faults (``clock_jump``, ``clock_drift``, ``wrong_timezone``);
* ``plan.FaultPlan`` over the packet stream (sans-I/O): ``duplicate``, ``reorder``, ``burst``,
  ``tcp_coalesce`` and the payload faults (``faults.payload``);
* the transports, on a packet's first attempt: ``reset_mid_body``, ``truncated_multipart``,
  ``trickle`` (the bytes libcurl would write, then the misbehaviour) and ``tcp_split``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..vocabulary import FAULT_FAMILIES, FAULT_FAMILY_NAMES


@dataclass(frozen=True, slots=True)
class Entry:
    name: str  # the fault's type in a scenario
    family: str
    description: str
    yaml: str  # a faults: entry that works as it stands (profile 1 over HTTP, or profile 2 over TCP)
    robust: str  # what a robust receiver does about it

    @property
    def scenario(self) -> str:
        """The bundled scenario of the fault's family (scenarios/faults/FAMILY.yaml)."""
        return f"faults/{self.family}.yaml"


def _e(name: str, description: str, yaml: str, robust: str) -> Entry:
    return Entry(name, FAULT_FAMILIES[name], description, yaml, robust)


CATALOGUE: tuple[Entry, ...] = (
    _e("duplicate", "an event delivered twice, as when the camera timed out after the receiver stored it",
       "{type: duplicate, at: 10s, events: [lost]}",
       "stores the event once: keys events by camera, profile and packetCounter, or ignores an identical re-send"),
    _e("reorder", "events of a profile arrive out of order (a later one overtakes)",
       "{type: reorder, at: 10s, window: 3}",
       "orders by packetCounter or capture time; an Update after its Lost does not reopen the passage"),
    _e("burst", "the buffer flushes after an outage: the held events back to back",
       "{type: burst, during: [10s, 40s]}",
       "takes many requests at once without timeouts or lost writes (a queue, a pool, a database that waits)"),
    _e("restart", "the camera goes dark and comes back: counters and carIDs start again, open passages get no Lost",
       "{type: restart, at: 20s, down: 10s}",
       "treats packetCounter and carID back at their start as a new epoch, closes the passages left open, "
       "and never merges a new carID with an old one"),
    _e("clock_jump", "the camera's clock steps (NTP after a restart): its timestamps jump forward or back",
       "{type: clock_jump, at: 30s, by: -1h}",
       "keeps its own arrival time beside the camera's; does not expire or reorder passages by the camera's clock alone"),
    _e("clock_drift", "the camera's clock runs fast or slow",
       "{type: clock_drift, ppm: 500}",
       "tolerates a camera clock that drifts away from its own"),
    _e("wrong_timezone", "the camera's time zone is set wrong: datetime and image names in another zone",
       "{type: wrong_timezone, timezone: America/New_York}",
       "uses the epoch timestamps (capture_timestamp), not the local datetime text"),
    _e("reset_mid_body", "the connection is reset in the middle of a request body",
       "{type: reset_mid_body, at: 10s, profiles: [1]}",
       "drops the partial request without storing anything; the camera's retry is stored once"),
    _e("truncated_multipart", "a multipart body cut short and the connection closed, as a camera losing power sends",
       "{type: truncated_multipart, at: 10s, profiles: [1]}",
       "refuses the cut body (no half event, no half image stored) and stays up for the next one"),
    _e("trickle", "a request body sent a few bytes at a time, slowly",
       "{type: trickle, at: 10s, profiles: [1], chunk: 256, every: 20ms}",
       "reads it without blocking other cameras, and times out a sender that stalls"),
    _e("tcp_split", "one TCP JSON document written in many small pieces",
       "{type: tcp_split, at: 10s, profiles: [2], pieces: 8}",
       "buffers until the document is complete; never parses a single read as a whole document"),
    _e("tcp_coalesce", "several TCP JSON documents in one write (one read for the receiver)",
       "{type: tcp_coalesce, at: 10s, profiles: [2], documents: 3}",
       "splits a read into every document it holds (a streaming JSON decoder, or newline framing)"),
    _e("missing_image", "no image part although imageType names one",
       "{type: missing_image, at: 10s, profiles: [1]}",
       "stores the event without an image instead of failing on the missing part"),
    _e("empty_image", "an image part of zero bytes",
       "{type: empty_image, at: 10s, profiles: [1]}",
       "stores the event and records that the image is empty"),
    _e("undecodable_image", "an image part that is not a picture (garbage, or a JPEG cut in half)",
       "{type: undecodable_image, at: 10s, profiles: [1], how: truncated}",
       "stores the event; does not crash its thumbnailer or OCR on the image"),
    _e("oversized_image", "an image far larger than usual (a valid JPEG padded to the size)",
       "{type: oversized_image, at: 10s, profiles: [1], size: 8MB}",
       "accepts it up to its limit and answers 413 beyond it, without running out of memory"),
    _e("missing_field", "a field of the payload missing",
       "{type: missing_field, at: 10s, field: plateUTF8}",
       "answers the event (stores what it can, falls back to plateText) instead of 500 or a crash"),
    _e("wrong_type", "a field of the wrong JSON type (a number where text was, null...)",
       "{type: wrong_type, at: 10s, field: carID, as: number}",
       "validates types and answers 400 with a reason, or coerces; never a 500"),
    _e("invalid_utf8_plate", "bytes that are not UTF-8 in the plate text",
       "{type: invalid_utf8_plate, at: 10s, field: plateUTF8}",
       "answers 400 with a reason (or decodes with replacement); never a 500 or a crash"),
)
assert tuple(e.name for e in CATALOGUE) == tuple(FAULT_FAMILIES)

FAMILIES = FAULT_FAMILY_NAMES


def entry(name: str) -> Entry | None:
    return next((e for e in CATALOGUE if e.name == name), None)


def catalogue_json() -> list[dict]:
    return [{"name": e.name, "family": e.family, "description": e.description, "yaml": e.yaml,
             "robust_receiver": e.robust, "scenario": e.scenario} for e in CATALOGUE]


__all__ = ["CATALOGUE", "Entry", "FAMILIES", "catalogue_json", "entry"]
