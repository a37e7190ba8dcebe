"""The built-in receiver: real HTTP (aiohttp) and TCP (asyncio) servers that validate
and store FF-Events, from ffsim or from a real camera.

Use it from Python in a ``with`` block (it runs its own event loop in a thread), as a
test uses pytest-httpserver's server:

    with Receiver(http="127.0.0.1:0", tcp="127.0.0.1:0") as rx:
        ... send to rx.url or rx.tcp_address ...
        assert rx.wait(count=3)          # blocks until 3 packets are stored (no polling)
        rx.check()                       # AssertionError listing the violations, if any
        rx.clear()                       # the next test starts clean; it goes on listening
    rx.records, rx.violations, rx.notices, rx.summary()

Malformed input of any kind gets an error answer or a closed connection and a
violation, never a crash; what was already stored stays stored.

Memory stays bounded however long it runs: the last ``max_records`` records are
kept (``--out`` stores every one), the first ``MAX_KEPT`` violation and notice
lines (the counts go on), and the validator bounds what it remembers per sender.

Nothing that arrives is lost: every packet is stored with its violations whatever it
holds (a failure of the checks is one more violation), and one that cannot be stored
is answered so that the camera sends it again (HTTP 500, a TCP reset). The event loop
only moves bytes; parsing, checking and storing run in worker threads. At most
``max_connections`` TCP connections are open and as many HTTP bodies are being read;
over that, newcomers wait (TCP connections in the kernel's queue), and take the place
of an idle connection or of a sender slower than ``MIN_BODY_RATE``. Each body and each
TCP document has a deadline set when it begins, which trickling cannot extend.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import logging
import math
import random
import re
import socket
import ssl
import struct
import threading
import time
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NamedTuple

from aiohttp import web
from aiohttp.http_exceptions import PayloadEncodingError

from ..vocabulary import STATES
from . import multipart
from .framing import DOCUMENT, JsonFramer
from .storage import Storage, StorageError, holds_capture  # noqa: F401 (holds_capture: part of this module's surface)
from .processes import merge, shard_of
from .validate import HEARTBEAT_GROUPS, INFER, NOTICE, Validator, check_heartbeat, decode

MAX_BODY = 16 * 1024 * 1024
MAX_RECORDS = 5_000  # records kept in memory (about 7 KB each: a payload as Python objects)
MAX_LISTED = 100  # open passages listed in the summary
MAX_KEPT = 10_000  # violation / notice lines kept in memory; counting goes on
MAX_CAMERAS = 1024  # cameras counted by name; more (hostile device ids) are counted as one
KNOWN_STATES = frozenset(STATES) | {"heartbeat", "invalid"}
STORE_THREADS = 8  # packets with images being stored at once (see Receiver._store_later)
MAX_PARTS = 32  # multipart parts per request: an event and a few images
READ_TIMEOUT_S = 30.0  # the most any body may take
BODY_GRACE_S = 5.0  # a body's deadline: this, plus its announced length at MIN_BODY_RATE
MIN_BODY_RATE = 32 * 1024  # bytes/s; slower senders may be cut when others wait for room
SLOT_WAIT_S = 10.0  # an HTTP request waits this long for room, then gets 503
IDLE_TIMEOUT_S = 300.0  # a TCP connection with no document under way
HEADER_DEADLINE_S = 10.0  # an HTTP connection's first request must be complete (headers) by then
KEEPALIVE_S = 60.0  # an HTTP connection with no request under way: closed after this
SHUTDOWN_S = 2.0  # at stop, HTTP requests under way get this long to finish
READ_AT_STOP_S = 5.0  # at stop, a TCP read being checked and stored gets this long (a hung worker process)
DOCUMENT_DEADLINE_S = 30.0  # a TCP document, from its first byte
MAX_KEPT_TEXT = 1024 * 1024  # of a body that is not a packet (junk, wrong type), kept as text
MAX_RECORD_BYTES = 16 * 1024 * 1024  # payload bytes of the records kept in memory (--out keeps them all)
# header values never stored in clear (the custom auth header's name is added per receiver)
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-auth-key", "cookie"})
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_name(name: str | None, fallback: str) -> str:
    """A file name that can only land in its folder: the last path part, plain characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _SAFE.sub("_", base).lstrip(".")[:120]
    return base or fallback


def counted_camera(name: object, seen) -> str:
    """A camera's name as counted: at most 80 characters; once MAX_CAMERAS names are known,
    any other is counted as one (hostile device ids must not grow the counts)."""
    text = (name if isinstance(name, str) else json.dumps(name)[:40])[:80]
    return text if text in seen or len(seen) < MAX_CAMERAS else "(other cameras)"


def counted_state(state: object) -> str:
    """carState as counted: a known state, or "other" (a bounded set whatever senders write)."""
    return state if isinstance(state, str) and state in KNOWN_STATES else "other"


class Arrival(NamedTuple):
    """When something arrived, read by the I/O side (the event loop) as it arrives, so that the
    time a packet waited for the worker never counts (the validator reads no clock)."""

    wall: float  # epoch seconds: Record.arrival
    clock: float  # time.monotonic(): the validator's arrival_s (never steps)
    number: int | None = None  # the packet's number, when given before it reaches its worker (processes > 1)

    @staticmethod
    def now() -> Arrival:
        return Arrival(time.time(), time.monotonic())


@dataclass
class Record:
    """One received packet (or one thing that failed to be a packet)."""

    arrival: float  # epoch seconds, read as it arrived (an HTTP request's head, a TCP read)
    peer: str
    protocol: str  # http | tcp
    path: str
    headers: list
    payload: object | None
    violations: list[str]
    images: list[str] = field(default_factory=list)  # stored file names
    status: int | None = None  # the HTTP answer; a refused packet is not validated (it will come again)
    notices: list[str] = field(default_factory=list)  # legal but worth knowing
    size: int = 0  # bytes of the payload's text, for the memory bound
    text: str | None = None  # the body as text when it is no JSON (invalid bytes as \x escapes)
    number: int | None = None  # its number since the last clear() (check() and wait() name packets by it)
    duplicate_of: int | None = None  # a re-send of the same bytes: the number of the packet it repeats

    def as_json(self, secret_headers: frozenset[str] = SECRET_HEADERS) -> str:
        """One line of packets.jsonl (strict JSON: NaN and Infinity as strings): UTF-8 text as
        received; credentials in headers masked."""
        entry = {"arrival": self.arrival, "peer": self.peer, "protocol": self.protocol, "path": self.path,
                 "headers": [[k, "***" if k.lower() in secret_headers else v] for k, v in self.headers],
                 "payload": self.payload, "violations": self.violations, "notices": self.notices,
                 "images": self.images, "status": self.status}
        if self.text is not None:
            entry["text"] = self.text
        if self.duplicate_of is not None:
            entry["duplicate_of"] = self.duplicate_of
        try:
            text = json.dumps(entry, ensure_ascii=False, allow_nan=False)
        except ValueError:  # NaN or Infinity in the payload (a violation): written as strings
            entry["payload"] = _finite(self.payload)
            text = json.dumps(entry, ensure_ascii=False, allow_nan=False)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (\ud800) in the payload: keep it as an escape
            text = json.dumps(entry, allow_nan=False)
        return text


def _finite(value: object) -> object:
    """value with NaN and the infinities as the strings JSON texts write them as."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


class Receiver:
    """The built-in receiver (see the module's text). From a test: ``url``, ``tcp_address``,
    ``records``, ``violations``, ``notices``, ``wait()``, ``check()``, ``clear()``."""

    def __init__(self, http: str | None = "127.0.0.1:0", tcp: str | None = None, out: str | Path | None = None,
                 respond: int = 200, delay_s: float = 0.0, fail_rate: float = 0.0, seed: int = 0,
                 max_body: int = MAX_BODY, basic: tuple[str, str] | None = None,
                 auth_header: tuple[str, str] | None = None, ssl_context: ssl.SSLContext | None = None,
                 lost_timeout_s: float = 5.0, speed: float | None | str = INFER, on_record=None,
                 max_connections: int = 256, max_records: int | None = MAX_RECORDS,
                 capture_secrets: bool = False, max_parts: int = MAX_PARTS, processes: int = 1):
        """speed: how much faster than real time the senders run, when known (ffsim run knows);
        None: as fast as they can; "infer" (default): inferred per sender from the traffic.
        max_connections: TCP connections open at once, and HTTP bodies being read at once.
        capture_secrets: store credentials
        in clear in capture.jsonl (a byte-exact capture); by default their values are ***.
        processes: worker processes that parse, check and store (sharded by camera; see
        ffsim.receiver.processes); 1 (default): all of it in this process's worker thread."""
        if not isinstance(processes, int) or processes < 1:
            raise ValueError(f"processes must be a whole number from 1, got {processes!r}")
        self.processes = processes
        self._shards = None  # the worker processes (processes > 1), once started
        self._final: list[dict] | None = None  # their validators' last state, after stop()
        self.http_bind, self.tcp_bind = http, tcp
        self.out = Path(out) if out is not None else None
        self.respond, self.delay_s, self.fail_rate = respond, delay_s, fail_rate
        self.random = random.Random(seed)
        self.max_body = max_body
        self.max_connections = max_connections
        self.max_parts = max_parts
        self.capture_secrets = capture_secrets
        self.basic, self.auth_header, self.ssl_context = basic, auth_header, ssl_context
        self.secret_headers = SECRET_HEADERS | ({auth_header[0].lower()} if auth_header else set())
        self.validator = Validator(lost_timeout_s, speed)
        self.on_record = on_record
        self._records: deque[Record] = deque()
        self.max_records = max_records
        self._record_bytes = 0  # payload bytes of the records kept
        self.forgotten_records = 0
        self._violations: list[str] = []  # the first MAX_KEPT; violation_count counts them all
        self._notices: list[str] = []
        self.violation_count = 0
        self.notice_count = 0
        self.storage_failures = 0
        self.rules: dict[str, Counter] = {"violation": Counter(), "notice": Counter()}
        self.counts: Counter = Counter()
        self._cameras: set[str] = set()
        self.packets = 0
        self._numbered = 0  # packet numbers given since the last clear() (see _number)
        self._numbering = True  # False in a worker process: the parent numbers what it did not number
        self.http_url: str | None = None
        self.tcp_address: str | None = None
        self._storage: Storage | None = None
        self._lock = threading.Lock()
        self._stored = threading.Condition(self._lock)  # notified when a record is stored, at clear() and at stop
        self._changes = 0  # records stored plus clear() calls: what wait() watches
        self._closed = False  # stopped: nothing more will come
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._t0 = time.monotonic()
        self._seq = 0
        self._seq_step, self._seq_first = 1, 1  # image numbers: first, first + step, ... (apart per worker process)
        self._epoch = 0  # clear() calls: a worker process's records of an older one are forgotten
        # parsing, checking and storing run here, off the event loop, so a heavy body never stalls
        # the reading of the others; one thread, so packets are checked in the order they arrived
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ffsim-receiver-work",
                                        initializer=self._note_worker)
        self._worker: threading.Thread | None = None
        # a packet's images are written here, and then it is recorded, while the worker goes on
        self._store_pool = ThreadPoolExecutor(max_workers=STORE_THREADS, thread_name_prefix="ffsim-receiver-store")
        self._storing: set[Future] = set()  # packets handed to the storing threads, not yet stored
        self._storing_thread = threading.local()  # .active: this thread is a storing thread
        self._calling_back = threading.Lock()  # on_record is called by one thread at a time
        self._http_slots: dict[asyncio.Task, _Slot] = {}
        self._tcp_slots: dict[asyncio.Task, _Slot] = {}
        self._accept_trouble = 0
        self.slow_connections_closed = 0  # HTTP connections closed for want of a complete request
        self._http_room: asyncio.Event | None = None  # set when a slot frees
        self._tcp_room: asyncio.Event | None = None

    # -- life ------------------------------------------------------------------------------
    def start(self) -> Receiver:
        if self.out is not None:
            self._storage = Storage(self.out).open()
        if self.processes > 1:
            from .processes import Shards
            try:
                if self._storage is not None:
                    self._storage.create_logs()  # one packets.jsonl and one capture.jsonl, appended to by all
                self._shards = Shards(self, self.processes,
                                      self._storage.descriptors() if self._storage is not None else None)
            except BaseException:
                self._close_storage()
                raise
        self._thread = threading.Thread(target=self._serve, name="ffsim-receiver", daemon=True)
        self._thread.start()
        self._started.wait(10)
        if self._error is not None:
            self._stop_shards()
            self._close_storage()
            raise self._error
        return self

    def stop(self) -> None:
        """Stop listening, finish what was read (store it, or reset its connection), then close
        the files. Safe to call twice; returns within a few seconds (SHUTDOWN_S for HTTP
        requests under way, then what the worker has left)."""
        if self._thread is not None:
            self._started.wait(10)  # stopped while starting (Ctrl-C at once): once it listens
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and self._error is None and self._thread is not None \
                and self._thread.is_alive():
            try:
                loop.call_soon_threadsafe(stopping.set)
            except RuntimeError:  # the loop has closed already
                pass
        if self._thread is not None:
            self._thread.join()  # the loop ends once every connection is finished
        self._pool.shutdown(wait=True)
        self._store_pool.shutdown(wait=True)  # what the worker handed on is stored before the files close
        self._stop_shards()
        self._close_storage()
        with self._lock:  # whoever waits for more packets: none will come
            self._closed = True
            self._stored.notify_all()

    def _stop_shards(self) -> None:
        """The worker processes finish what they hold and end (their last state kept for summary())."""
        if self._shards is not None and self._final is None:
            self._final = self._shards.stop()

    def _close_storage(self) -> None:
        if self._storage is not None:
            with self._lock:
                self._storage.close()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(self._loop_trouble)
        self._stopping: asyncio.Event | None = None
        try:
            self._loop.run_until_complete(self._main())
        except BaseException as exc:  # reported to start(), never a crash of the caller
            self._error = exc
            self._started.set()
        finally:
            left = asyncio.all_tasks(self._loop)  # handlers of clients still connected
            for task in left:
                task.cancel()
            if left:
                self._loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
            self._loop.close()

    def _loop_trouble(self, loop: asyncio.AbstractEventLoop, context: dict) -> None:
        """What the event loop would print with a traceback: a record (the kind only), never a crash."""
        error = context.get("exception")
        what = type(error).__name__ if error is not None else "error"
        try:
            self._record(Record(time.time(), "?", "-", "", [], None,
                                [f"receiver: {str(context.get('message', ''))[:80]} ({what})"]))
        except Exception:
            pass

    async def _main(self) -> None:
        self._stopping = asyncio.Event()
        self._http_room, self._tcp_room = asyncio.Event(), asyncio.Event()
        runner = None
        listener = None
        accepting = None
        if self.http_bind:
            host, port = parse_bind(self.http_bind)
            app = web.Application(client_max_size=self.max_body)
            app.router.add_route("*", "/{tail:.*}", self._http)
            # aiohttp answers malformed requests (400) itself and logs them with their raw bytes,
            # credentials included: its log becomes a record here instead, without the bytes
            runner = web.AppRunner(app, access_log=None, logger=_RecordingLog(self),
                                   keepalive_timeout=KEEPALIVE_S, shutdown_timeout=SHUTDOWN_S)
            await runner.setup()
            site = web.TCPSite(runner, host, port, ssl_context=self.ssl_context)
            await site.start()
            bound = runner.addresses[0]  # the port chosen when 0 was asked
            scheme = "https" if self.ssl_context else "http"
            self.http_url = f"{scheme}://{bound[0]}:{bound[1]}/"
        if self.tcp_bind:
            host, port = parse_bind(self.tcp_bind)
            listener = _listen(host, port)
            bound = listener.getsockname()
            self.tcp_address = f"{bound[0]}:{bound[1]}"
            accepting = asyncio.ensure_future(self._accept(listener))
        self._started.set()
        watchdog = asyncio.ensure_future(self._watch_http(runner)) if runner is not None else None
        await self._stopping.wait()
        if watchdog is not None:
            watchdog.cancel()
            await asyncio.gather(watchdog, return_exceptions=True)
        if accepting is not None:
            accepting.cancel()
            await asyncio.gather(accepting, return_exceptions=True)
            listener.close()
            # finish every open TCP connection before the loop ends; a cancel that Python 3.11's
            # wait_for swallows (it lands as a read completes) is asked again
            while self._tcp_slots:
                for task, slot in list(self._tcp_slots.items()):
                    if not slot.finishing:  # one finishing stores what it has read: left alone
                        task.cancel()
                await asyncio.wait(list(self._tcp_slots), timeout=0.5)
        if runner is not None:
            await runner.cleanup()

    async def _work(self, function, *args):
        """Run function(*args) in the worker threads and wait for it."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, function, *args)

    # -- recording -------------------------------------------------------------------------
    def _record(self, record: Record, failure: StorageError | None = None) -> None:
        """Keep record (bounded), count it, store it; StorageError when --out cannot take it
        (then it is kept and counted all the same, with the failure among its violations).
        failure: storing this arrival failed already (counted once, and raised)."""
        with self._lock:
            if failure is not None:
                self.storage_failures += 1
                record.violations.append(f"storage: {failure}; the sender will send it again")
            if self._storage is not None:
                try:
                    self._storage.append("packets.jsonl", record.as_json(self.secret_headers))
                except StorageError as exc:
                    if failure is None:
                        failure = exc
                        self.storage_failures += 1
                        record.violations.append(f"storage: {exc}; the sender will send it again")
            self._count(record)
        self._call_back(record)
        if failure is not None:
            raise failure

    def _keep(self, record: Record, epoch: int) -> None:
        """A record a worker process made (and stored): kept, counted, called back as _record does;
        forgotten when a clear() came after it."""
        with self._lock:
            if epoch != self._epoch:
                return
            if any(line.startswith("storage: ") for line in record.violations):
                self.storage_failures += 1  # counted in the worker process, which stored it
            self._count(record)
        self._call_back(record)

    def _call_back(self, record: Record) -> None:
        """on_record, one call at a time (records may come from several threads)."""
        if self.on_record is not None:
            try:
                with self._calling_back:
                    self.on_record(record)
            except Exception:  # a view that fails must not cost the packet (it is stored)
                pass

    def _count(self, record: Record) -> None:
        """Keep record (bounded) and count it; held: self._lock."""
        self._records.append(record)
        self._record_bytes += record.size
        while len(self._records) > 1 and (self._record_bytes > MAX_RECORD_BYTES or (
                self.max_records is not None and len(self._records) > self.max_records)):
            self._record_bytes -= self._records.popleft().size
            self.forgotten_records += 1
        self.packets += 1
        if record.number is None and self._numbering:
            self._numbered += 1
            record.number = self._numbered
        self._changes += 1
        for severity, lines, kept in (("violation", record.violations, self._violations),
                                      ("notice", record.notices, self._notices)):
            kept.extend(lines[:max(0, MAX_KEPT - len(kept))])
            for line in lines:
                self.rules[severity][line.split(":", 1)[0][:40]] += 1
        self.violation_count += len(record.violations)
        self.notice_count += len(record.notices)
        payload = record.payload if isinstance(record.payload, dict) else {}
        state = payload.get("carState", "heartbeat" if "ALPV" in payload or "identify" in payload else "invalid")
        alpv = payload.get("ALPV")
        camera = counted_camera(
            payload.get("sensorProviderID", alpv.get("device_ID", "?") if isinstance(alpv, dict) else "?"),
            self._cameras)
        self._cameras.add(camera)
        self.counts[(camera, counted_state(state))] += 1
        self._stored.notify_all()

    def _capture(self, arrival: Arrival, protocol: str, peer: str, data: bytes, redacted: list[str] | None = None,
                 path: str = "", headers: list | None = None) -> None:
        """Add the bytes of one arrival to capture.jsonl. When that fails, the arrival is recorded
        with the failure (and not checked) and StorageError raised: it is answered so that the
        sender sends it again, as nothing is answered as received that was not all stored."""
        if self._storage is None:
            return
        entry = {"t": round(time.monotonic() - self._t0, 6), "protocol": protocol, "peer": peer,
                 "data": base64.b64encode(data).decode("ascii")}
        if redacted:
            entry["redacted"] = redacted
        try:
            with self._lock:
                self._storage.append("capture.jsonl", json.dumps(entry))
        except StorageError as exc:
            self._record(Record(arrival.wall, peer, protocol, path, headers or [], None, [], size=len(data)), exc)

    def _number(self, count: int = 1) -> int:
        """The first of count packet numbers, given as packets are handed to be checked (in the order
        they arrived), so that a re-send's notice can name its original before either is stored; a
        record that was no packet is numbered as it is recorded. Numbers count from 1 after clear()."""
        with self._lock:
            first = self._numbered + 1
            self._numbered += count
            return first

    def _image_name(self, name: str | None) -> str:
        with self._lock:
            self._seq += 1
            number = (self._seq - 1) * self._seq_step + self._seq_first
            return f"{number:06d}_{safe_name(name, 'image')}"

    def _packet(self, arrival: Arrival, text: bytes, sender: str, protocol: str, peer: str, path: str,
                headers: list, images: list[tuple[str | None, str, bytes]] | None, status: int | None = None,
                extra: list[str] | None = None, deferred: list | None = None) -> bool:
        """Check and record one packet; False when its text is no JSON at all. Whatever it holds,
        it is recorded: a failure of the checks is one more violation, never a lost packet.
        StorageError when it could not be stored (kept and counted all the same). arrival: read
        when it arrived (not now: it may have waited for this worker), for the timing rules.
        deferred: a list to put the storing of its images and its record in (a function), when it
        has images to store: the caller has it run by the storing threads (see _store_later)."""
        violations: list[str] = list(extra or [])
        notices: list[str] = []
        payload = None
        number = arrival.number if arrival.number is not None else self._number()
        duplicate_of = None
        try:
            payload, found = decode(text)
            _sort(found, violations, notices)
            if isinstance(payload, dict) and "carState" not in payload and payload.keys() & HEARTBEAT_GROUPS:
                _sort(check_heartbeat(payload), violations, notices)  # a heartbeat (keepalive), not an event
            elif payload is not None and (status is None or status < 300):
                if isinstance(payload, dict):  # a camera is its address and its device id
                    device = payload.get("sensorProviderID", "?")
                    sender = f"{sender}|{device[:80] if isinstance(device, str) else _short(device)}"
                    if "profileID" not in payload:
                        # 2019 and 2021 payloads name no profile: a camera's profiles differ by how they arrive
                        sender += f"|{protocol}{path[:80]}"
                with self._lock:  # summary() reads the validator's tables from other threads
                    found = self.validator.check(payload, sender, text,
                                                 [(ct, data) for _, ct, data in images] if images is not None
                                                 else None, arrival.clock, number)
                _sort(found, violations, notices)
                duplicate_of = next((f.original for f in found if f.original is not None), None)
        except Exception as exc:  # a defect of the checks, recorded as such; the packet is kept
            violations.append(f"receiver: the checks failed on this packet ({type(exc).__name__}: "
                              f"{str(exc)[:200]}); please report it")
        if payload is None and status is not None:
            status = 400  # the answer to a body that is no JSON
        record = Record(arrival.wall, peer, protocol, path, headers, payload, violations, [], status,
                        notices, len(text), number=number, duplicate_of=duplicate_of)
        if payload is None:  # kept as text up to MAX_KEPT_TEXT (capture.jsonl holds every byte)
            record.text = text[:MAX_KEPT_TEXT].decode("utf-8", "backslashreplace")
            record.size = len(record.text)
        # the images' names are given here, in the order the packets arrived
        files = [(self._image_name(name), data) for name, _, data in images or []]
        if deferred is not None and files and self._storage is not None:
            deferred.append(lambda: self._store(record, files))
        else:
            self._store(record, files)
        return payload is not None

    def _store(self, record: Record, files: list[tuple[str, bytes]]) -> None:
        """Store a packet's images, then record it (with the failure, if one could not be stored)."""
        failure = None
        try:
            for file, data in files:
                if self._storage is not None:
                    self._storage.image(file, data)
                record.images.append(file)
        except StorageError as exc:  # recorded and counted with the packet, then answered
            failure = exc
        self._record(record, failure)

    def _store_later(self, store, answer: tuple[int, str] | None) -> Future:
        """Run store in the storing threads: a Future of answer, or of the StorageError. Images are
        written there, several at once (creating a file may wait for the disk), while the worker
        checks the next packets; the request is answered once its packet is stored."""

        def run():
            self._storing_thread.active = True
            store()
            return answer

        future = self._store_pool.submit(run)
        with self._lock:
            self._storing.add(future)
        future.add_done_callback(self._done_storing)
        return future

    def _done_storing(self, future: Future) -> None:
        with self._lock:
            self._storing.discard(future)

    # -- HTTP ------------------------------------------------------------------------------
    def _authorised(self, request: web.Request) -> bool:
        if self.basic is not None:
            header = request.headers.get("Authorization", "")
            expected = "Basic " + base64.b64encode(f"{self.basic[0]}:{self.basic[1]}".encode()).decode()
            if not hmac.compare_digest(_raw(header), _raw(expected)):
                return False
        if self.auth_header is not None and not hmac.compare_digest(
                _raw(request.headers.get(self.auth_header[0], "")), _raw(self.auth_header[1])):
            return False
        return True

    async def _refuse(self, request: web.Request, arrival: Arrival, headers: list, status: int, violation: str,
                      answer_headers: dict | None = None) -> web.Response:
        await self._work(self._record, Record(arrival.wall, f"{request.remote}", "http", request.path, headers,
                                              None, [violation], status=status))
        return web.Response(status=status, headers=answer_headers)

    async def _http(self, request: web.Request) -> web.StreamResponse:
        """Read the body within its deadline, then check and store it in a worker thread;
        answer 500 when it could not be stored, so that the camera sends it again."""
        arrival = Arrival.now()  # its head is in; the body may take a while, and the worker too
        headers = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in request.raw_headers]
        try:
            if not self._authorised(request):
                return await self._refuse(request, arrival, headers, 401, "auth: missing or wrong",
                                          {"WWW-Authenticate": 'Basic realm="ffsim"'})
            slot = await self._slot(self._http_slots, self._http_room, SLOT_WAIT_S)
            if slot is None:
                return await self._refuse(request, arrival, headers, 503, f"limit: {self.max_connections} requests "
                                          f"were being read for {SLOT_WAIT_S:g} s; answered 503")
            try:
                return await self._http_body(request, headers, slot, arrival)
            finally:
                self._release(self._http_slots, self._http_room)
        except StorageError:
            return web.Response(status=500, text="cannot store the event; send it again")
        except Exception as exc:  # a defect of the receiver: recorded, answered so that the camera retries
            try:
                await self._refuse(request, arrival, headers, 500, f"receiver: failed on this request "
                                   f"({type(exc).__name__}: {str(exc)[:200]}); please report it")
            except Exception:
                pass
            return web.Response(status=500, text="the receiver failed; send it again")

    async def _http_body(self, request: web.Request, headers: list, slot: _Slot,
                         arrival: Arrival) -> web.StreamResponse:
        deadline = body_deadline(request.content_length)
        try:  # the deadline is set once, from the announced length: trickling cannot extend it
            slot.reading = True
            body = await asyncio.wait_for(self._read_body(request, slot), deadline)
        except _TooLarge:
            return await self._refuse(request, arrival, headers, 413, f"limit: body over {self.max_body} bytes")
        except asyncio.TimeoutError:
            return await self._refuse(request, arrival, headers, 408,
                                      f"http: body not received (not all there after {deadline:g} s)")
        except (ConnectionError, PayloadEncodingError) as exc:
            # the sender closed (FIN: aiohttp's "Connection lost") or reset (RST: an errno) before
            # the whole body came: one line, the part that came kept as text, nothing checked (the
            # camera sends the packet again, whole)
            how = "reset the connection" if getattr(exc, "errno", None) else "closed the connection"
            try:  # what came before the close, read by aiohttp but not yet by us (readany raises first)
                slot.body += b"".join(request.content._buffer)
            except Exception:  # noqa: BLE001 - aiohttp's insides: the count is then of what we read
                pass
            length = request.content_length
            of = f" of {length} bytes (Content-Length)" if length is not None else " bytes of a chunked body"
            await self._work(self._http_cut, arrival, self._http_head(request, headers), bytes(slot.body),
                             f"{request.remote}", request.path, headers,
                             f"http: body cut short: {len(slot.body)}{of}, the sender {how}")
            return web.Response(status=400)
        except asyncio.CancelledError:
            if not slot.evicted:
                raise
            asyncio.current_task().uncancel()  # made room for another sender: answered, not cancelled
            return await self._refuse(request, arrival, headers, 408, f"limit: body cut after {slot.received} bytes in "
                                      f"{slot.age():.1f} s, to make room for another sender (under "
                                      f"{MIN_BODY_RATE // 1024} KiB/s while the receiver was full)")
        finally:
            slot.reading = False
        status = self.respond
        if self.fail_rate and self.random.random() < self.fail_rate:
            status = 503
        content_type = request.headers.get("Content-Type", "")
        if self._shards is not None:  # to the worker process of its camera (numbered here, in arrival order)
            arrival = arrival._replace(number=self._number())
            answer = await self._handed(self._shards.submit(
                shard_of(body, request.remote or "?", self.processes),
                ("http", arrival, content_type, self._http_head(request, headers), body, request.remote or "?",
                 f"{request.remote}", request.path, headers, status)))
        else:
            answer = await self._work(self._http_packet, arrival, content_type,
                                      self._http_head(request, headers), body, request.remote or "?",
                                      f"{request.remote}", request.path, headers, status)
        if isinstance(answer, Future):  # being stored: answered once stored (shielded: a stop does not undo it)
            answer = await asyncio.shield(asyncio.wrap_future(answer))
        if answer is not None:
            return web.Response(status=answer[0], text=answer[1])
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return web.Response(status=status, text="ok" if status < 300 else "failing on purpose")

    @staticmethod
    async def _handed(future: Future):
        """The answer of work handed to a worker process (shielded: a stop does not undo it);
        StorageError when it was not stored, RuntimeError for a defect."""
        kind, value = await asyncio.shield(asyncio.wrap_future(future))
        if kind == "error":
            raise StorageError(value)
        if kind == "defect":
            raise RuntimeError(value)
        return value

    async def _read_body(self, request: web.Request, slot: _Slot) -> bytes:
        if request.content_length is not None and request.content_length > self.max_body:
            raise _TooLarge
        body = slot.body = bytearray()
        while chunk := await request.content.readany():
            body += chunk
            slot.received = len(body)
            if len(body) > self.max_body:
                raise _TooLarge
        return bytes(body)

    # -- room: at most max_connections HTTP bodies being read, and TCP connections open ----------
    async def _slot(self, slots: dict, room: asyncio.Event, patience_s: float) -> _Slot | None:
        """A place among slots for the current task, waiting at most patience_s; when full, a
        newcomer takes the place of an idle TCP connection or of the slowest sender."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + patience_s
        while len(slots) >= self.max_connections:
            self._make_room(slots)
            left = give_up - loop.time()
            if left <= 0:
                return None
            room.clear()
            try:
                await asyncio.wait_for(room.wait(), min(left, 1.0))
            except asyncio.TimeoutError:
                pass
        slot = slots[asyncio.current_task()] = _Slot(asyncio.current_task(), loop.time())
        return slot

    def _release(self, slots: dict, room: asyncio.Event) -> None:
        slots.pop(asyncio.current_task(), None)
        room.set()

    @staticmethod
    def _make_room(slots: dict) -> None:
        """Cut one connection that costs nothing to cut: idle between documents (the longest),
        else the slowest sender under MIN_BODY_RATE; one at a time."""
        if any(slot.evicted for slot in slots.values()):
            return
        idle = [slot for slot in slots.values() if slot.reading and slot.idle_since is not None]
        if idle:
            victim = min(idle, key=lambda slot: slot.idle_since)
        else:
            slow = [slot for slot in slots.values() if slot.reading and slot.slow()]
            if not slow:
                return
            victim = min(slow, key=lambda slot: slot.rate())
        victim.evicted = True
        victim.task.cancel()

    def _http_head(self, request: web.Request, headers: list) -> tuple[bytes, list[str]]:
        """The request's head as received; credentials as *** unless capture_secrets."""
        redacted = []
        lines = [f"{request.method} {request.path_qs} HTTP/{request.version.major}.{request.version.minor}\r\n"]
        for name, value in headers:
            if not self.capture_secrets and name.lower() in self.secret_headers:
                redacted.append(name.lower())
                value = "***"
            lines.append(f"{name}: {value}\r\n")
        return ("".join(lines) + "\r\n").encode("latin-1"), sorted(set(redacted))

    def _http_packet(self, arrival: Arrival, content_type: str, head: tuple[bytes, list[str]],
                     body: bytes, sender: str, peer: str, path: str, headers: list,
                     status: int) -> tuple[int, str] | None:
        """In a worker thread: capture, parse, check and store one request; the answer when it is
        not the configured one."""
        self._capture(arrival, "http", peer, head[0] + body, head[1], path, headers)
        # as aiohttp's Request.content_type reads it (none: application/octet-stream)
        mimetype = multipart.mimetype(content_type) if content_type else "application/octet-stream"
        if mimetype == "multipart/form-data":
            deferred: list = []
            answer = None
            if not self._multipart(arrival, content_type, body, sender, peer, path, headers, status, deferred):
                answer = 400, "not a multipart body with a JSON event part"
            return self._store_later(deferred[0], answer) if deferred else answer
        elif mimetype == "application/json":
            if not self._packet(arrival, body, sender, "http", peer, path, headers, None, status):
                return 400, "not JSON"
        else:
            record = Record(arrival.wall, peer, "http", path, headers, None,
                            [f"http: Content-Type {mimetype!r} is neither multipart/form-data nor "
                             "application/json"], status=415, number=arrival.number)
            record.text = body[:MAX_KEPT_TEXT].decode("utf-8", "backslashreplace")
            self._record(record)
            return 415, "expected multipart/form-data or application/json"
        return None

    def _http_cut(self, arrival: Arrival, head: tuple[bytes, list[str]], part: bytes, peer: str, path: str,
                  headers: list, violation: str) -> None:
        """In a worker thread: capture and record a body cut short, what came of it kept as text."""
        self._capture(arrival, "http", peer, head[0] + part, head[1], path, headers)
        record = Record(arrival.wall, peer, "http", path, headers, None, [violation], status=400, size=len(part))
        record.text = part[:MAX_KEPT_TEXT].decode("utf-8", "backslashreplace")
        self._record(record)

    def _multipart(self, arrival: Arrival, content_type: str, body: bytes, sender: str, peer: str, path: str,
                   headers: list, status: int, deferred: list | None = None) -> bool:
        """Record the packet a multipart body carries; False when it carries none or no JSON (answered 400)."""

        def unreadable(violation: str) -> bool:
            record = Record(arrival.wall, peer, "http", path, headers, None, [violation], status=400,
                            size=len(body), number=arrival.number)
            record.text = body[:MAX_KEPT_TEXT].decode("utf-8", "backslashreplace")
            self._record(record)
            return False

        try:
            parts = multipart.parse(content_type, body, self.max_parts)
        except multipart.TooManyParts:
            return unreadable(f"multipart: more than {self.max_parts} parts (a camera sends an event and "
                              "a few images)")
        except multipart.MultipartError as exc:  # whatever is wrong with the body's framing
            return unreadable(f"multipart: cannot parse ({exc})")
        events = [part for part in parts if part.name == "event"]
        if not events:
            return unreadable("multipart: no part named event")
        # the event sent as a file comes first, as it did (a field named event only when there is none)
        event = next((part for part in events if part.filename is not None), events[0])
        extra = [f"multipart: {len(events)} parts named event (a camera sends one); only the first is checked "
                 "(capture.jsonl holds them all)"] if len(events) > 1 else []
        images = [(part.filename, part.content_type, part.data) for part in parts
                  if part.filename is not None and part.name != "event"]
        return self._packet(arrival, event.data, sender, "http", peer, path, headers, images, status, extra,
                            deferred)

    async def _watch_http(self, runner: web.AppRunner) -> None:
        """Close HTTP connections that hold a descriptor without a request: no complete request
        HEADER_DEADLINE_S after connecting (headers trickled, or nothing sent), or none
        KEEPALIVE_S after the last. Closing one loses nothing: no request was accepted on it."""
        loop = asyncio.get_running_loop()
        seen: dict[int, tuple[object, int, float]] = {}
        while True:
            await asyncio.sleep(1.0)
            now = loop.time()
            alive = {}
            for handler in runner.server.connections:
                count = getattr(handler, "_request_count", 0)
                if getattr(handler, "_request_in_progress", False):
                    alive[id(handler)] = (handler, count, now)
                    continue
                _, before, since = seen.get(id(handler), (handler, count, now))
                if count != before:
                    since = now
                alive[id(handler)] = (handler, count, since)
                if now - since > (HEADER_DEADLINE_S if count == 0 else KEEPALIVE_S):
                    transport = getattr(handler, "transport", None)
                    if transport is not None:
                        transport.close()
                    del alive[id(handler)]
                    if count == 0:
                        self.slow_connections_closed += 1
            seen = alive

    # -- TCP -------------------------------------------------------------------------------
    async def _accept(self, listener: socket.socket) -> None:
        """Accept a connection only when there is room: over the limit, the newcomers wait in
        the kernel's queue (the sender waits, or times out and sends again), so nothing is
        accepted that will not be read; an idle or very slow connection may make room."""
        loop = asyncio.get_running_loop()
        while True:
            while len(self._tcp_slots) >= self.max_connections:
                self._tcp_room.clear()
                if await _waiting(loop, listener, 1.0):
                    self._make_room(self._tcp_slots)
                    if len(self._tcp_slots) >= self.max_connections:
                        try:
                            await asyncio.wait_for(self._tcp_room.wait(), 1.0)
                        except asyncio.TimeoutError:
                            pass
            try:
                connection, address = await loop.sock_accept(listener)
            except OSError as exc:  # out of file descriptors (EMFILE, ENFILE, ENOBUFS): wait, then go on
                if self._accept_trouble == 0:
                    await self._work(self._record, Record(
                        time.time(), "?", "tcp", "", [], None,
                        [f"limit: cannot accept connections ({exc.strerror or exc}); waiting for room"]))
                self._accept_trouble += 1
                await asyncio.sleep(0.1)
                continue
            task = asyncio.ensure_future(self._tcp(connection, address))
            self._tcp_slots[task] = _Slot(task, loop.time())

    async def _tcp(self, connection: socket.socket, address: tuple) -> None:
        slot = self._tcp_slots[asyncio.current_task()]
        try:
            # reads of 64 KiB: the framer, not the stream, holds a document that is under way
            reader, writer = await asyncio.open_connection(sock=connection, limit=65536)
        except Exception:  # the connection could not even be set up; nothing was read
            connection.close()
            self._release(self._tcp_slots, self._tcp_room)
            return
        try:
            await self._tcp_connection(reader, writer, slot, address)
        finally:
            self._release(self._tcp_slots, self._tcp_room)

    async def _tcp_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                              slot: _Slot, address: tuple) -> None:
        """Read, check and store documents until the sender closes. The connection is closed
        normally (which the sender takes as a receipt) only when everything read was stored;
        otherwise it is reset, so that the sender sends again."""
        peer = f"{address[0]}:{address[1]}"
        framer = JsonFramer(self.max_body)
        loop = asyncio.get_running_loop()
        reset = False
        cut = False  # what the framer holds has been recorded as cut short

        async def record_cut(why: str) -> None:
            nonlocal cut
            if framer.rest().strip() and not cut:
                cut = True
                await self._tcp_work(slot, self._tcp_cut, Arrival.now(), peer, framer.rest(), why)

        try:
            while True:
                # between documents: idle (IDLE_TIMEOUT_S, or until room is needed); inside one:
                # it must end within DOCUMENT_DEADLINE_S of its first byte, however it trickles
                begun = framer.pending > 0
                timeout = slot.began + DOCUMENT_DEADLINE_S - loop.time() if begun else IDLE_TIMEOUT_S
                slot.idle_since = None if begun else loop.time()
                slot.reading = True
                try:
                    chunk = await asyncio.wait_for(reader.read(65536), max(timeout, 0))
                except asyncio.TimeoutError:
                    if begun:
                        reset = True
                        await record_cut(f"a JSON document not finished within {DOCUMENT_DEADLINE_S:g} s of "
                                         "its first byte; connection reset")
                    break
                finally:
                    slot.reading = False
                arrival = Arrival.now()  # of what this read completes (read as it came, not when checked)
                # the read finished: a cut asked in the same instant did not happen (Python 3.11's
                # wait_for drops such a cancel), and must not stop later cuts
                slot.evicted = False
                if not chunk:
                    await record_cut("the connection closed inside a JSON document")
                    break
                before = framer.documents
                await self._tcp_work(slot, self._tcp_chunk, arrival, framer, chunk, address[0], peer)
                if framer.overflow:
                    cut = reset = True
                    await self._tcp_work(slot, self._record, Record(
                        arrival.wall, peer, "tcp", "", [], None,
                        [f"tcp: limit: more than {self.max_body} bytes without the end of a JSON document; "
                         "connection reset"], size=len(framer.rest())))
                    break
                if framer.pending and (not begun or framer.documents != before):
                    slot.began = loop.time()  # a document began in this read: its own deadline
                slot.received = framer.pending
        except StorageError:
            reset = True  # not stored: a reset, not a close (which the sender takes as a receipt)
        except ConnectionError:  # reset by the sender: what it had begun is recorded, not dropped
            try:
                await record_cut("the sender reset the connection inside a JSON document")
            except StorageError:
                pass
        except asyncio.CancelledError:  # the receiver stops, or the connection made room for another
            slot.finishing = True
            try:
                if slot.work is not None:
                    if not slot.work.done():
                        # the read under way is checked and stored first; bounded: a worker process
                        # that hangs is killed by then, and its pending work answered
                        await asyncio.wait({slot.work}, timeout=READ_AT_STOP_S)
                    if not slot.work.done():
                        reset = True  # a worker that hangs: not known to be stored
                    elif not slot.work.cancelled() and slot.work.exception() is not None:
                        reset = True  # it could not be stored (the exception is taken here, not lost)
                waiting = bytes(reader._buffer)  # read from the socket, not yet handled: handled now
                if waiting and not slot.evicted:
                    await self._tcp_work(slot, self._tcp_chunk, Arrival.now(), framer, waiting, address[0], peer)
                elif waiting:
                    reset = True  # made room for another: the sender sends these again
                if framer.rest().strip():
                    reset = True
                    await record_cut(f"a JSON document cut after {slot.age():.1f} s to make room for another "
                                     "sender; connection reset" if slot.evicted
                                     else "the receiver stopped inside a JSON document")
            except StorageError:
                reset = True
        finally:
            if reset:
                _reset(writer)
            writer.close()

    async def _tcp_work(self, slot: _Slot, function, *args):
        """_work for a TCP connection: when the connection is cancelled (the receiver stops), the
        work goes on and the connection can wait for it before it records what is left."""
        if self._shards is not None and function == self._tcp_chunk:
            slot.work = asyncio.ensure_future(self._tcp_chunk_handed(*args))
        else:
            slot.work = asyncio.get_running_loop().run_in_executor(self._pool, function, *args)
        return await asyncio.shield(slot.work)

    async def _tcp_chunk_handed(self, arrival: Arrival, framer: JsonFramer, chunk: bytes, sender: str,
                                peer: str) -> None:
        """_tcp_chunk with worker processes: the read is captured here (in the worker thread), each
        document it completes is checked and stored by the worker process of its camera; when
        one was not stored, StorageError once all are done."""
        await self._work(self._capture, arrival, "tcp", peer, chunk)
        waiting = []
        # one hand-off per shard and read, however many documents: (number, document)
        by_shard: dict[int, list[tuple[int, bytes]]] = {}
        for kind, data in framer.feed(chunk):
            if kind == DOCUMENT:  # numbered here, in the order they arrived
                by_shard.setdefault(shard_of(data, sender, self.processes), []).append((self._number(), data))
            else:
                record = Record(arrival.wall, peer, "tcp", "", [], None,
                                [f"tcp: {len(data)} byte(s) between documents that start none; skipped"],
                                size=len(data), number=self._number())
                record.text = data[:MAX_KEPT_TEXT].decode("utf-8", "backslashreplace")
                waiting.append(self._work(self._record, record))
        for shard, documents in by_shard.items():
            waiting.append(self._handed(self._shards.submit(shard, ("tcp", arrival, documents, sender, peer))))
        failures = [r for r in await asyncio.gather(*waiting, return_exceptions=True) if isinstance(r, Exception)]
        storage = [r for r in failures if isinstance(r, StorageError)]
        if storage:
            raise storage[0]
        if failures:
            raise failures[0]

    def _tcp_chunk(self, arrival: Arrival, framer: JsonFramer, chunk: bytes, sender: str, peer: str) -> None:
        """In a worker thread: capture a read, then check and store each document it completes;
        when storing fails, every document is still recorded and counted, then StorageError.
        arrival: when the read came (each document it completes arrived then)."""
        self._capture(arrival, "tcp", peer, chunk)
        failure = None
        for kind, data in framer.feed(chunk):
            try:
                if kind == DOCUMENT:
                    self._packet(arrival, data, sender, "tcp", peer, "", [], None)
                else:
                    record = Record(arrival.wall, peer, "tcp", "", [], None,
                                    [f"tcp: {len(data)} byte(s) between documents that start none; skipped"],
                                    size=len(data))
                    record.text = data[:MAX_KEPT_TEXT].decode("utf-8", "backslashreplace")
                    self._record(record)
            except StorageError as exc:
                failure = failure or exc
        if failure is not None:
            raise failure

    def _tcp_cut(self, arrival: Arrival, peer: str, rest: bytes, why: str) -> None:
        record = Record(arrival.wall, peer, "tcp", "", [], None,
                        [f"tcp: {why} ({len(rest)} bytes)"], size=len(rest))
        record.text = rest[:MAX_KEPT_TEXT].decode("utf-8", "backslashreplace")
        self._record(record)

    def _note_worker(self) -> None:
        self._worker = threading.current_thread()

    # -- for tests: what came, waiting for it, judging it, starting again -------------------------
    @property
    def url(self) -> str | None:
        """The HTTP base URL, e.g. ``http://127.0.0.1:PORT/`` (any path is taken); None without
        HTTP. The same as ``http_url``."""
        return self.http_url

    @property
    def records(self) -> list[Record]:
        """What was received since the last clear(), oldest first: a snapshot (a new list; the
        Record objects are shared, not copies). Memory is bounded: past ``max_records`` records
        (MAX_RECORDS, 5000, by default; None: no limit) or MAX_RECORD_BYTES of payload text, the
        oldest are forgotten: the list holds the latest ones, ``forgotten_records`` counts the
        others, and ``packets`` and wait(count) count them all (``out`` stores every one)."""
        with self._lock:
            return list(self._records)

    @property
    def violations(self) -> list[str]:
        """Every violation line since the last clear(), in order of arrival (a snapshot; the first
        MAX_KEPT, ``violation_count`` counts them all). check() says which packet each came with."""
        with self._lock:
            return list(self._violations)

    @property
    def notices(self) -> list[str]:
        """Every notice line since the last clear() (legal but worth knowing; a snapshot; the first
        MAX_KEPT, ``notice_count`` counts them all)."""
        with self._lock:
            return list(self._notices)

    def clear(self) -> None:
        """Forget what was received: records, violations, notices, the counts of summary(), and
        what the validator remembers per camera (counters, passages, clock), so that the next
        test starts clean. The receiver goes on listening; ``out`` files keep everything.

        It runs in the worker thread, in turn with the packets: whatever was received before
        (its request or read handed to the worker) is forgotten, whatever comes after counts.
        A packet still on its way (a body being read) when clear() is called counts after it."""
        if self._shards is not None:
            self._clear_shards()
            return
        if threading.current_thread() is self._worker or getattr(self._storing_thread, "active", False):
            self._forget(wait=False)  # from on_record, in the worker or a storing thread
            return
        try:
            self._pool.submit(self._forget).result()
        except RuntimeError:  # after stop(): the worker is gone, and nothing comes any more
            self._forget()

    def _clear_shards(self) -> None:
        """clear() with worker processes: in one turn (in the worker thread, after what it was handed),
        a marker to each worker process (which forgets its cameras when its turn comes), and this
        process's counts forgotten; the records the workers made before their marker are not counted.
        Waits for the workers' turn, unless called back from a record (no deadlock)."""
        shards = self._shards

        def turn() -> list[Future]:
            with shards.lock:
                markers = shards.clear()
                self._forget(wait=False, epoch=shards.epoch)
            return markers

        if threading.current_thread() in (self._worker, *shards.threads()):
            turn()
            return
        try:
            markers = self._pool.submit(turn).result()
        except RuntimeError:  # after stop(): nothing comes any more
            markers = turn()
        from .processes import QUERY_TIMEOUT_S
        futures_wait(markers, QUERY_TIMEOUT_S)

    def _forget(self, wait: bool = True, epoch: int | None = None) -> None:
        if wait:  # what the worker handed on before is stored (and forgotten) first
            with self._lock:
                storing = list(self._storing)
            futures_wait(storing)
        with self._lock:
            if epoch is not None:
                self._epoch = epoch
            self._records.clear()
            self._record_bytes = 0
            self.forgotten_records = 0
            self._violations.clear()
            self._notices.clear()
            self.violation_count = self.notice_count = 0
            self.storage_failures = self.slow_connections_closed = 0
            self.rules = {"violation": Counter(), "notice": Counter()}
            self.counts.clear()
            self._cameras.clear()
            self.packets = 0
            self._numbered = 0
            self.validator.reset()
            self._changes += 1
            self._stored.notify_all()

    def wait(self, count: int | None = None, until: Callable[[list[Record]], object] | None = None,
             timeout: float = 5.0, raise_on_timeout: bool = False) -> bool:
        """Block until at least ``count`` packets were received since the last clear() (every
        arrival recorded counts, a refused or broken one too: see ``packets``), and ``until``
        (called with ``records``) returns true; when both are given both must hold, when neither
        is given: one packet. True once that holds (at once if it holds already), False when
        ``timeout`` seconds pass first or the receiver stops; with ``raise_on_timeout=True``,
        AssertionError (saying what came) instead of False.

        No polling: the worker notifies each stored record. ``until`` runs in the calling thread,
        not holding the receiver's lock, each time something was stored; it may read the
        receiver (records, violations, summary()) and should be quick."""
        if count is None and until is None:
            count = 1
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                packets, changes = self.packets, self._changes
                records = list(self._records) if until is not None else None
            if (count is None or packets >= count) and (until is None or until(records)):
                return True
            with self._lock:
                while self._changes == changes and not self._closed:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._stored.wait(left)
                if self._changes == changes:  # timed out, or stopped with nothing new
                    break
        if not raise_on_timeout:
            return False
        wanted = " and ".join(x for x in (count is not None and f"{count} packet(s)",
                                         until is not None and f"until={getattr(until, '__name__', 'the predicate')}")
                              if x)
        why = "the receiver stopped" if self._closed else f"{timeout:g} s passed"
        with self._lock:
            packets, last = self.packets, list(self._records)[-5:]
        shown = "".join(f"\n  {_which(n, r)}" for n, r in enumerate(last, packets - len(last) + 1))
        raise AssertionError(f"waited for {wanted}: {why} with {packets} packet(s) received since the last "
                             f"clear(){'; the last:' if last else ''}{shown}")

    def check(self) -> None:
        """AssertionError listing the violations received since the last clear(), one line each,
        with the packet it came with (its number since the last clear(), protocol, path, peer,
        carState, carID, packetCounter); passages whose Lost is plainly missing count as well (see
        summary()'s open_passages). None when there is none. Notices are not violations."""
        opened, _, _ = self._validators()
        with self._lock:
            records = list(self._records)
            first = self.packets - len(records) + 1
            total = self.violation_count
            missing = [text for _, severity, text in opened if severity != NOTICE]
        lines = [f"{_which(n, r)}: {v}" for n, r in enumerate(records, first) for v in r.violations]
        if total > len(lines):
            lines.append(f"... and {total - len(lines)} in {first - 1} older packet(s) no longer kept (max_records)")
        lines += [f"at the end: {m}" for m in missing]
        if lines:
            shown = lines[:MAX_LISTED] + ([f"... and {len(lines) - MAX_LISTED} more lines"]
                                          if len(lines) > MAX_LISTED else [])
            raise AssertionError(f"{total + len(missing)} violation(s) received:\n" + "\n".join(shown))

    # -- results ---------------------------------------------------------------------------
    def summary(self) -> dict:
        """Counts, then the findings apart by severity, then what each sender looks like.

        packets, states, cameras: as received. violations / notices: how many (the open
        passages at the end included). open_passages: a line per passage whose Lost is missing
        (a violation: see Validator.open_passages; the first MAX_LISTED); open_passage_notices:
        how many more are open whose Lost may be yet to come (notices). rules: counts by rule
        and severity. senders: per camera (address|sensorProviderID), the generation it looks
        like, its UTC offset and clock rate, whether the Lost timing rule was checked or
        skipped (and why). forgotten: what was dropped to keep memory bounded.
        storage_failures: arrivals (a request, a TCP read) --out could not take, answered so that
        they come again. slow_connections_closed: HTTP connections closed for sending no
        complete request within HEADER_DEADLINE_S of connecting (KEEPALIVE_S after the last)."""
        open_passages, senders, forgotten = self._validators()
        with self._lock:
            states = Counter()
            cameras = Counter()
            for (camera, state), n in self.counts.items():
                states[state] += n
                cameras[camera] += n
            rules = {k: Counter(v) for k, v in self.rules.items()}
            for rule, severity, _ in open_passages:
                rules[severity][rule] += 1
            open_violations = sum(1 for _, severity, _ in open_passages if severity != NOTICE)
            return {"packets": self.packets, "states": dict(states), "cameras": dict(cameras),
                    "violations": self.violation_count + open_violations,
                    "notices": self.notice_count + len(open_passages) - open_violations,
                    "open_passages": [text for _, severity, text in open_passages if severity != NOTICE][:MAX_LISTED],
                    "open_passage_notices": len(open_passages) - open_violations,
                    "rules": {"violations": dict(rules["violation"]), "notices": dict(rules["notice"])},
                    "senders": senders,
                    "lost_timeout_s": self.validator.lost_timeout_s,
                    "storage_failures": self.storage_failures,
                    "slow_connections_closed": self.slow_connections_closed,
                    "forgotten": {**forgotten, "records": self.forgotten_records}}

    def _validators(self) -> tuple[list[tuple[str, str, str]], dict, Counter]:
        """The validator's open passages (rule, severity, text), senders and forgotten counts: this
        process's, or merged from the worker processes' (asked in turn with their packets; after
        stop(), as they ended)."""
        if self._shards is None:
            with self._lock:
                return ([(f.rule, f.severity, str(f)) for f in self.validator.open_passages()],
                        self.validator.sender_summary(), Counter(self.validator.forgotten))
        return merge(self._final if self._final is not None else self._shards.snapshots())


class _RecordingLog(logging.Logger):
    """aiohttp's server log: a malformed request it answered itself becomes a record with the
    error's kind (its text quotes the raw bytes, credentials included: never shown or stored)."""

    def __init__(self, receiver: Receiver):
        super().__init__("ffsim.receiver.aiohttp")
        self.receiver = receiver

    def handle(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        kind = type(error).__name__ if error is not None else "error"
        code = getattr(error, "code", None)
        peer = str(record.args[0]) if isinstance(record.args, tuple) and record.args else "?"
        violation = (f"http: a malformed request ({kind}) answered {code or 400} by the HTTP parser"
                     if error is not None and kind.startswith("Bad") or code == 400
                     else f"receiver: the HTTP server failed on a request ({kind}); please report it")
        try:
            self.receiver._record(Record(time.time(), peer, "http", "", [], None, [violation], status=code))
        except Exception:  # storage failing as well: counted there; nothing to print
            pass


@dataclass
class _Slot:
    """An HTTP body being read, or an open TCP connection."""

    task: asyncio.Task
    began: float  # loop time: when the body (or the TCP document under way) began
    received: int = 0  # bytes of it so far
    reading: bool = False  # waiting for bytes (only then may it be cut to make room)
    idle_since: float | None = None  # TCP: waiting for a document to begin, since
    evicted: bool = False
    work: asyncio.Future | None = None  # TCP: the chunk being checked and stored
    body: bytearray = field(default_factory=bytearray)  # HTTP: the body read so far
    finishing: bool = False  # TCP: cancelled, storing what was read before it closes

    def age(self) -> float:
        return asyncio.get_running_loop().time() - self.began

    def rate(self) -> float:
        return self.received / max(self.age(), 1e-3)

    def slow(self) -> bool:
        return self.age() >= 1.0 and self.rate() < MIN_BODY_RATE


class _TooLarge(Exception):
    pass


def _which(number: int, record: Record) -> str:
    """A packet as check() names it: its number since the last clear(), how it came, what it is."""
    number = record.number if record.number is not None else number
    words = [f"packet {number}", f"{record.protocol}{' ' + record.path if record.path else ''} from {record.peer}"]
    if isinstance(record.payload, dict):
        words += [f"{key} {_short(record.payload[key])}" for key in ("carState", "carID", "packetCounter")
                  if key in record.payload]
    if record.status is not None and record.status >= 300:
        words.append(f"answered {record.status}")
    return f"{words[0]} ({', '.join(words[1:])})"


def _sort(found, violations: list[str], notices: list[str]) -> None:
    for finding in found:
        (notices if finding.severity == NOTICE else violations).append(str(finding))


def _raw(text: str) -> bytes:
    """text as bytes for a comparison in constant time (any character, none refused)."""
    return text.encode("utf-8", "surrogatepass")


def _short(value: object) -> str:
    try:
        return json.dumps(value)[:40]
    except (ValueError, TypeError):
        return "?"


def body_deadline(length: int | None) -> float:
    """Seconds to receive a body of length bytes (unknown: the most): time to start, then a
    modest rate. Set once per request."""
    if length is None:
        return READ_TIMEOUT_S
    return min(READ_TIMEOUT_S, BODY_GRACE_S + length / MIN_BODY_RATE)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family, backlog=128)
    listener.setblocking(False)
    return listener


async def _waiting(loop: asyncio.AbstractEventLoop, listener: socket.socket, timeout_s: float) -> bool:
    """Whether a connection waits in listener's queue (within timeout_s)."""
    ready = loop.create_future()
    loop.add_reader(listener.fileno(), lambda: ready.done() or ready.set_result(None))
    try:
        await asyncio.wait_for(ready, timeout_s)
        return True
    except asyncio.TimeoutError:
        return False
    finally:
        loop.remove_reader(listener.fileno())


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a reset (RST), which a sender cannot take for a receipt."""
    try:
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except (OSError, AttributeError):
        pass
    writer.transport.abort()
def parse_bind(bind: str) -> tuple[str, int]:
    """HOST:PORT (HOST may be empty for 127.0.0.1, or an IPv6 address in brackets) as (host, port);
    ValueError in words for anything else."""
    host, colon, port = bind.rpartition(":")
    if not colon:
        raise ValueError(f"expected HOST:PORT, got {bind!r}")
    if not port.isascii() or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"the port must be a number from 0 to 65535, got {port!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host or "127.0.0.1", int(port)
