"""The built-in receiver: real HTTP (aiohttp) and TCP (asyncio) servers that validate
and store FF-Events, from ffsim or from a real camera.

Use it from Python in a ``with`` block (it runs its own event loop in a thread):

    with Receiver(out="captured") as rx:
        ... send to rx.http_url or rx.tcp_address ...
    rx.records, rx.violations, rx.notices, rx.summary()

Malformed input of any kind gets an error answer or a closed connection and a
violation, never a crash; what was already stored stays stored.

Memory stays bounded however long it runs: the last ``max_records`` records are
kept (``--out`` stores every one), the first ``MAX_KEPT`` violation and notice
lines (the counts go on), and the validator bounds what it remembers per sender.
"""

from __future__ import annotations

import asyncio
import base64
import codecs
import errno
import io
import json
import os
import random
import re
import ssl
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from werkzeug.formparser import parse_form_data

from ..vocabulary import STATES
from .validate import INFER, NOTICE, Validator

MAX_BODY = 16 * 1024 * 1024
MAX_RECORDS = 20_000  # records kept in memory (a payload is a few KB)
MAX_LISTED = 100  # open passages listed in the summary
MAX_KEPT = 10_000  # violation / notice lines kept in memory; counting goes on
MAX_CAMERAS = 1024  # cameras counted by name; more (hostile device ids) are counted as one
KNOWN_STATES = frozenset(STATES) | {"heartbeat", "invalid"}
READ_TIMEOUT_S = 30.0
MAX_RECORD_BYTES = 64 * 1024 * 1024  # payload bytes of the records kept in memory (--out keeps them all)
# header values never stored in clear (the custom auth header's name is added per receiver)
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-auth-key", "cookie"})
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_name(name: str | None, fallback: str) -> str:
    """A file name that can only land in its folder: the last path part, plain characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _SAFE.sub("_", base).lstrip(".")[:120]
    return base or fallback


def _append(path: Path, text: str) -> None:
    """Append to an owner-only file (created so, whatever the umask)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as f:
        f.write(text)


def json_problem(exc: BaseException) -> str:
    """What is wrong with a document the JSON decoder refused, in words for the record."""
    if isinstance(exc, RecursionError):
        return "nested too deeply to decode"
    if isinstance(exc, ValueError) and "integer string conversion" in str(exc):
        return "a number with more than 4300 digits"
    return f"not valid JSON ({exc})"


def counted_camera(name: object, seen) -> str:
    """A camera's name as counted: at most 80 characters; once MAX_CAMERAS names are known,
    any other is counted as one (hostile device ids must not grow the counts)."""
    text = (name if isinstance(name, str) else json.dumps(name)[:40])[:80]
    return text if text in seen or len(seen) < MAX_CAMERAS else "(other cameras)"


def counted_state(state: object) -> str:
    """carState as counted: a known state, or "other" (a bounded set whatever senders write)."""
    return state if isinstance(state, str) and state in KNOWN_STATES else "other"


@dataclass
class Record:
    """One received packet (or one thing that failed to be a packet)."""

    arrival: float  # epoch seconds
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

    def as_json(self, secret_headers: frozenset[str] = SECRET_HEADERS) -> str:
        """One line of packets.jsonl: UTF-8 text as received; credentials in headers masked."""
        entry = {"arrival": self.arrival, "peer": self.peer, "protocol": self.protocol, "path": self.path,
                 "headers": [[k, "***" if k.lower() in secret_headers else v] for k, v in self.headers],
                 "payload": self.payload, "violations": self.violations, "notices": self.notices,
                 "images": self.images, "status": self.status}
        text = json.dumps(entry, ensure_ascii=False)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (\ud800) in the payload: keep it as an escape
            text = json.dumps(entry)
        return text


def holds_capture(folder: Path) -> bool:
    """Whether folder holds a receiver's capture (whose files a new one would add to or overwrite)."""
    images = folder / "images"
    return ((folder / "packets.jsonl").exists() or (folder / "capture.jsonl").exists()
            or (images.is_dir() and any(images.iterdir())))


class StorageError(OSError):
    """The --out folder cannot be made or written (its message names it)."""


class Receiver:
    def __init__(self, http: str | None = "127.0.0.1:0", tcp: str | None = None, out: str | Path | None = None,
                 respond: int = 200, delay_s: float = 0.0, fail_rate: float = 0.0, seed: int = 0,
                 max_body: int = MAX_BODY, basic: tuple[str, str] | None = None,
                 auth_header: tuple[str, str] | None = None, ssl_context: ssl.SSLContext | None = None,
                 lost_timeout_s: float = 5.0, speed: float | None | str = INFER, on_record=None,
                 max_connections: int = 256, max_records: int | None = MAX_RECORDS):
        """speed: how much faster than real time the senders run, when known (ffsim run knows);
        None: as fast as they can; "infer" (default): inferred per sender from the traffic."""
        self.http_bind, self.tcp_bind = http, tcp
        self.out = Path(out) if out is not None else None
        self.respond, self.delay_s, self.fail_rate = respond, delay_s, fail_rate
        self.random = random.Random(seed)
        self.max_body = max_body
        self.max_connections = max_connections  # open TCP connections; HTTP requests in flight
        self._in_flight = 0
        self.basic, self.auth_header, self.ssl_context = basic, auth_header, ssl_context
        self.secret_headers = SECRET_HEADERS | ({auth_header[0].lower()} if auth_header else set())
        self.validator = Validator(lost_timeout_s, speed)
        self.on_record = on_record
        self.records: deque[Record] = deque()
        self.max_records = max_records
        self._record_bytes = 0  # payload bytes of the records kept
        self.forgotten_records = 0
        self.violations: list[str] = []  # the first MAX_KEPT; violation_count counts them all
        self.notices: list[str] = []
        self.violation_count = 0
        self.notice_count = 0
        self.rules: dict[str, Counter] = {"violation": Counter(), "notice": Counter()}
        self.counts: Counter = Counter()
        self._cameras: set[str] = set()
        self.packets = 0
        self.http_url: str | None = None
        self.tcp_address: str | None = None
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._t0 = time.monotonic()
        self._seq = 0
        self._connections: set = set()

    # -- life ------------------------------------------------------------------------------
    def start(self) -> Receiver:
        if self.out is not None:
            if holds_capture(self.out):
                raise FileExistsError(f"{self.out} already holds a capture; choose another folder")
            try:
                # owner-only: what cameras send (plates, pictures, the raw requests) is personal data
                self.out.mkdir(mode=0o700, parents=True, exist_ok=True)
                (self.out / "images").mkdir(mode=0o700, exist_ok=True)
                for folder in (self.out, self.out / "images"):
                    if not os.access(folder, os.W_OK | os.X_OK):
                        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(folder))
            except OSError as exc:
                raise StorageError(f"cannot store in {self.out}: {exc.strerror or exc}") from exc
        self._thread = threading.Thread(target=self._serve, name="ffsim-receiver", daemon=True)
        self._thread.start()
        self._started.wait(10)
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._started.wait(10)  # stopped while starting (Ctrl-C at once): once it listens
        if self._loop is not None and self._stopping is not None and self._error is None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._stopping: asyncio.Event | None = None
        try:
            self._loop.run_until_complete(self._main())
        except BaseException as exc:  # reported to start(), never a crash of the caller
            self._error = exc
            self._started.set()
        finally:
            self._loop.close()

    async def _main(self) -> None:
        self._stopping = asyncio.Event()
        runner = None
        tcp_server = None
        if self.http_bind:
            host, port = parse_bind(self.http_bind)
            app = web.Application(client_max_size=self.max_body)
            app.router.add_route("*", "/{tail:.*}", self._http)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, host, port, ssl_context=self.ssl_context)
            await site.start()
            bound = runner.addresses[0]  # the port chosen when 0 was asked
            scheme = "https" if self.ssl_context else "http"
            self.http_url = f"{scheme}://{bound[0]}:{bound[1]}/"
        if self.tcp_bind:
            host, port = parse_bind(self.tcp_bind)
            tcp_server = await asyncio.start_server(self._tcp, host, port, limit=self.max_body)
            bound = tcp_server.sockets[0].getsockname()
            self.tcp_address = f"{bound[0]}:{bound[1]}"
        self._started.set()
        await self._stopping.wait()
        if tcp_server is not None:
            tcp_server.close()
            for task in list(self._connections):  # finish every open TCP connection before the loop ends
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
        if runner is not None:
            await runner.cleanup()

    # -- recording -------------------------------------------------------------------------
    def _record(self, record: Record, raw: bytes | None = None) -> None:
        with self._lock:
            self.records.append(record)
            self._record_bytes += record.size
            while len(self.records) > 1 and (self._record_bytes > MAX_RECORD_BYTES or (
                    self.max_records is not None and len(self.records) > self.max_records)):
                self._record_bytes -= self.records.popleft().size
                self.forgotten_records += 1
            self.packets += 1
            for severity, lines, kept in (("violation", record.violations, self.violations),
                                          ("notice", record.notices, self.notices)):
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
            if self.out is not None:
                _append(self.out / "packets.jsonl", record.as_json(self.secret_headers) + "\n")
        if self.on_record is not None:
            self.on_record(record)

    def _capture(self, protocol: str, peer: str, data: bytes, extra: dict | None = None) -> None:
        if self.out is None:
            return
        entry = {"t": round(time.monotonic() - self._t0, 6), "protocol": protocol, "peer": peer,
                 "data": base64.b64encode(data).decode("ascii"), **(extra or {})}
        with self._lock:
            _append(self.out / "capture.jsonl", json.dumps(entry) + "\n")

    def _store_image(self, name: str | None, data: bytes) -> str:
        with self._lock:
            self._seq += 1
            file = f"{self._seq:06d}_{safe_name(name, 'image')}"
        if self.out is not None:
            folder = (self.out / "images").resolve()
            target = (folder / file).resolve()
            if target.parent != folder:  # cannot happen with safe_name; checked all the same
                raise ValueError(f"refusing to write outside {folder}")
            descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as f:
                f.write(data)
        return file

    def _packet(self, text: bytes, sender: str, protocol: str, peer: str, path: str, headers: list,
                images: list[tuple[str | None, str, bytes]] | None, status: int | None = None) -> bool:
        """Validate and record one packet; False when its text is no JSON at all."""
        arrival_s = time.monotonic()  # the validator's clock for timing rules (never steps)
        violations: list[str] = []
        notices: list[str] = []
        try:
            payload = json.loads(text)
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            payload = None
            violations.append(f"json: {json_problem(exc)}")
        stored = []
        if isinstance(payload, dict) and "carState" not in payload and {"system", "identify", "ALPV"} & payload.keys():
            # a heartbeat (keepalive), not an event
            if not {"system", "identify", "ALPV"} >= payload.keys():
                violations.append(f"heartbeat: unknown groups {sorted(payload.keys() - {'system', 'identify', 'ALPV'})}")
            self._record(Record(time.time(), peer, protocol, path, headers, payload, violations, stored, status,
                                size=len(text)))
            return True
        if payload is not None and (status is None or status < 300):
            if isinstance(payload, dict):  # a camera is its address and its device id
                device = payload.get("sensorProviderID", "?")
                sender = f"{sender}|{device[:80] if isinstance(device, str) else json.dumps(device)[:40]}"
                if "profileID" not in payload:
                    # 2019 and 2021 payloads name no profile: a camera's profiles differ by how they arrive
                    sender += f"|{protocol}{path[:80]}"
            with self._lock:  # summary() reads the validator's tables from other threads
                found = self.validator.check(payload, sender, text,
                                             [(ct, data) for _, ct, data in images] if images is not None else None,
                                             arrival_s)
            violations += [str(v) for v in found if v.severity != NOTICE]
            notices += [str(v) for v in found if v.severity == NOTICE]
        for name, _, data in images or []:
            stored.append(self._store_image(name, data))
        self._record(Record(time.time(), peer, protocol, path, headers, payload, violations, stored, status,
                            notices, len(text)))
        return payload is not None

    # -- HTTP ------------------------------------------------------------------------------
    def _authorised(self, request: web.Request) -> bool:
        if self.basic is not None:
            header = request.headers.get("Authorization", "")
            expected = "Basic " + base64.b64encode(f"{self.basic[0]}:{self.basic[1]}".encode()).decode()
            if header != expected:
                return False
        if self.auth_header is not None and request.headers.get(self.auth_header[0]) != self.auth_header[1]:
            return False
        return True

    async def _http(self, request: web.Request) -> web.StreamResponse:
        if self._in_flight >= self.max_connections:
            self._record(Record(time.time(), f"{request.remote}", "http", request.path, [], None,
                                [f"limit: more than {self.max_connections} requests at once; answered 503"]))
            return web.Response(status=503)
        self._in_flight += 1
        try:
            return await self._http_request(request)
        finally:
            self._in_flight -= 1

    async def _http_request(self, request: web.Request) -> web.StreamResponse:
        peer = f"{request.remote}"
        headers = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in request.raw_headers]
        if not self._authorised(request):
            self._record(Record(time.time(), peer, "http", request.path, headers, None, ["auth: missing or wrong"]))
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="ffsim"'})
        try:
            body = await asyncio.wait_for(request.read(), READ_TIMEOUT_S)
        except web.HTTPRequestEntityTooLarge:
            self._record(Record(time.time(), peer, "http", request.path, headers, None,
                                [f"limit: body over {self.max_body} bytes"]))
            return web.Response(status=413)
        except (asyncio.TimeoutError, ConnectionError) as exc:
            self._record(Record(time.time(), peer, "http", request.path, headers, None,
                                [f"http: body not received ({type(exc).__name__})"]))
            return web.Response(status=408)
        head = f"{request.method} {request.path_qs} HTTP/{request.version.major}.{request.version.minor}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
        self._capture("http", peer, head.encode("latin-1") + body)
        sender = request.remote or "?"
        status = self.respond
        if self.fail_rate and self.random.random() < self.fail_rate:
            status = 503
        mimetype = request.content_type
        if mimetype == "multipart/form-data":
            if not self._multipart(request, body, sender, peer, headers, status):
                return web.Response(status=400, text="not a multipart body with a JSON event part")
        elif mimetype == "application/json":
            if not self._packet(body, sender, "http", peer, request.path, headers, None, status):
                return web.Response(status=400, text="not JSON")
        else:
            self._record(Record(time.time(), peer, "http", request.path, headers, None,
                                [f"http: Content-Type {mimetype!r} is neither multipart/form-data nor "
                                 "application/json"], status=415))
            return web.Response(status=415)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return web.Response(status=status, text="ok" if status < 300 else "failing on purpose")

    def _multipart(self, request: web.Request, body: bytes, sender: str, peer: str, headers: list,
                   status: int) -> bool:
        """Record the packet a multipart body carries; False when it carries none or no JSON (answered 400)."""
        environ = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": request.headers.get("Content-Type", ""),
                   "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
        try:
            _, form, files = parse_form_data(environ, max_content_length=self.max_body, silent=False)
        except Exception as exc:  # whatever the parser says about a broken body
            self._record(Record(time.time(), peer, "http", request.path, headers, None,
                                [f"multipart: cannot parse ({exc})"]))
            return False
        event = files.get("event")
        if event is None:
            text = form.get("event")
            if text is None:
                self._record(Record(time.time(), peer, "http", request.path, headers, None,
                                    ["multipart: no part named event"]))
                return False
            data = text.encode("utf-8")
        else:
            data = event.read()
        images = [(f.filename, f.content_type or "", f.read()) for name, f in files.items(multi=True)
                  if name != "event"]
        return self._packet(data, sender, "http", peer, request.path, headers, images, status)

    # -- TCP -------------------------------------------------------------------------------
    async def _tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self._connections) >= self.max_connections:
            peername = writer.get_extra_info("peername")
            self._record(Record(time.time(), f"{peername[0]}:{peername[1]}" if peername else "?", "tcp", "", [], None,
                                [f"limit: more than {self.max_connections} connections; this one closed"]))
            writer.close()
            return
        task = asyncio.current_task()
        self._connections.add(task)
        try:
            await self._tcp_connection(reader, writer)
        finally:
            self._connections.discard(task)

    async def _tcp_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peername = writer.get_extra_info("peername")
        peer = f"{peername[0]}:{peername[1]}" if peername else "?"
        sender = peername[0] if peername else "?"
        decoder = json.JSONDecoder()
        text_decoder = codecs.getincrementaldecoder("utf-8")("strict")
        buffer = ""
        try:
            while True:
                try:
                    chunk = await asyncio.wait_for(reader.read(65536), READ_TIMEOUT_S * 10)
                except asyncio.TimeoutError:
                    break
                if not chunk:
                    break
                self._capture("tcp", peer, chunk)
                buffer += text_decoder.decode(chunk)
                if len(buffer) > self.max_body:
                    raise ValueError(f"limit: more than {self.max_body} bytes without a complete JSON document")
                buffer = self._documents(buffer, decoder, sender, peer)
            rest = buffer.strip()
            if rest:
                self._record(Record(time.time(), peer, "tcp", "", [], None,
                                    [f"tcp: the connection closed inside a JSON document ({len(rest)} characters)"]))
        except (UnicodeDecodeError, ValueError) as exc:
            self._record(Record(time.time(), peer, "tcp", "", [], None, [f"tcp: {exc}; connection closed"]))
        except ConnectionError:
            pass
        except asyncio.CancelledError:  # the receiver stops: what was under way is recorded, not raised
            rest = buffer.strip()
            if rest:
                self._record(Record(time.time(), peer, "tcp", "", [], None,
                                    [f"tcp: the receiver stopped inside a JSON document ({len(rest)} characters)"]))
        finally:
            writer.close()

    def _documents(self, buffer: str, decoder: json.JSONDecoder, sender: str, peer: str) -> str:
        """Take every complete JSON document off the front of buffer; return the rest."""
        index = 0
        while True:
            while index < len(buffer) and buffer[index] in " \t\r\n":
                index += 1
            if index == len(buffer):
                return ""
            try:
                _, end = decoder.raw_decode(buffer, index)
            except json.JSONDecodeError as exc:
                if _incomplete(buffer, exc):
                    return buffer[index:]  # wait for the rest
                raise ValueError(f"not JSON at character {exc.pos - index}: {exc.msg}") from None
            except (ValueError, RecursionError) as exc:
                raise ValueError(json_problem(exc)) from None
            text = buffer[index:end].encode("utf-8")
            self._packet(text, sender, "tcp", peer, "", [], None)
            index = end

    # -- results ---------------------------------------------------------------------------
    def summary(self) -> dict:
        """Counts, then the findings apart by severity, then what each sender looks like.

        packets, states, cameras: as received. violations / notices: how many (the open
        passages at the end included). open_passages: a line per passage whose Lost is missing
        (a violation: see Validator.open_passages; the first MAX_LISTED); open_passage_notices:
        how many more are open whose Lost may be yet to come (notices). rules: counts by rule
        and severity. senders: per camera (address|sensorProviderID), the generation it looks
        like, its UTC offset and clock rate, whether the Lost timing rule was checked or
        skipped (and why). forgotten: what was dropped to keep memory bounded."""
        with self._lock:
            states = Counter()
            cameras = Counter()
            for (camera, state), n in self.counts.items():
                states[state] += n
                cameras[camera] += n
            open_passages = self.validator.open_passages()
            rules = {k: Counter(v) for k, v in self.rules.items()}
            for finding in open_passages:
                rules[finding.severity][finding.rule] += 1
            open_violations = sum(1 for f in open_passages if f.severity != NOTICE)
            return {"packets": self.packets, "states": dict(states), "cameras": dict(cameras),
                    "violations": self.violation_count + open_violations,
                    "notices": self.notice_count + len(open_passages) - open_violations,
                    "open_passages": [str(v) for v in open_passages if v.severity != NOTICE][:MAX_LISTED],
                    "open_passage_notices": len(open_passages) - open_violations,
                    "rules": {"violations": dict(rules["violation"]), "notices": dict(rules["notice"])},
                    "senders": self.validator.sender_summary(),
                    "lost_timeout_s": self.validator.lost_timeout_s,
                    "forgotten": {**self.validator.forgotten, "records": self.forgotten_records}}


_PARTIAL_NUMBER = re.compile(r"-?\d*(\.\d*)?([eE][+-]?\d*)?")


def _incomplete(buffer: str, exc: json.JSONDecodeError) -> bool:
    """Whether the decoder stopped only because the document has not all arrived yet:
    it ran off the end, or stopped inside a string, an escape, a literal or a number
    that the end of the buffer cut."""
    tail = buffer[exc.pos:]
    return (not tail.strip() or exc.msg.startswith("Unterminated string")
            or tail == "\\"
            or (exc.msg.startswith("Invalid \\uXXXX escape") and len(tail) <= 5)
            or any(literal.startswith(tail) for literal in ("true", "false", "null"))
            or _PARTIAL_NUMBER.fullmatch(tail) is not None)


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
