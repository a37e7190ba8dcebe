"""HTTP wire faults: libcurl's own bytes, put on the wire the fault's way (faults-design.md 2.5).

A wire fault (``Message.wire``) changes how a request travels, never what it says. So the
request is first written by libcurl itself: ``capture`` runs a second easy handle, set up
exactly as the transport's (``HttpTransport.configure`` and ``prepare_on``), against a
one-shot recorder on loopback (``CURLOPT_CONNECT_TO``: the URL, the request line and
``Host`` stay the receiver's), which answers ``100 Continue`` when asked and ``200`` once the
body is complete. ``RawHttpTransport`` then writes those bytes to the receiver:

``reset_mid_body``
    the head and the body up to the cut, then a reset (``SO_LINGER`` 1, 0): a camera that
    lost its link or its power in the middle of a request.
``truncated_multipart``
    the head and the body up to the cut (default: the middle of the first image part), then
    ffsim's FIN; the receiver's answer (if any) is read up to the profile's ``timeout``.
``trickle``
    ``chunk`` bytes every ``every`` (wall time), the head at once or trickled too, then the
    answer: a slow link. A stop ends it within ``pacer.STOP_SLICE_S``.

A cut request is a failed attempt at the connection level, whatever the receiver answers
(the camera never sent the whole request): ``retry_on: connection`` sends the packet again,
intact, through libcurl (the fault hits the first attempt only: ``Item.message_for_attempt``).
A trickled request that arrives whole gets the receiver's answer as libcurl's would.

The answers are read with h11. HTTPS and Digest authentication are not supported here
(a TLS recorder, and Digest's second round trip, would be needed): ``wire_problem`` says so
in one line, which the loader and ``runner.make_transport`` show before anything is sent.
"""

from __future__ import annotations

import re
import select
import socket
import struct
import threading
from urllib.parse import urlsplit

import h11
import pycurl

from ..vocabulary import HTTP_WIRE_FAULTS
from . import Message, Outcome, TargetError
from .pacer import STOP_SLICE_S, wall
from .tcp import Aborted, connect

# test-only: libcurl's bytes as they are, written by the raw path (tests/test_rawhttp.py)
NO_FAULT = "none"
EXPECT_WAIT_S = 1.0  # libcurl's wait for 100 Continue (HttpTransport: EXPECT_100_TIMEOUT_MS)
CAPTURE_TIMEOUT_S = 60.0  # the loopback capture of one request (a 64 MB body included)
DRAIN_LIMIT = 1 << 20  # bytes of an answer's body read before the connection is closed anyway

CANCELLED = Outcome(False, "stopped", cancelled=True)
_BOUNDARY = re.compile(rb'boundary="?([^";\r\n]+)"?', re.IGNORECASE)


def wire_problem(url: str, profile) -> str | None:
    """Why the raw path cannot send for this target, in one line; None when it can."""
    if urlsplit(url).scheme.lower() == "https":
        return (f"profile {profile.id}: HTTP wire faults are sent over plain http only, not https "
                f"({url.split('?')[0]}): give an http:// URL for this profile")
    if profile.auth is not None and profile.auth.type == "digest":
        return (f"profile {profile.id}: HTTP wire faults cannot use auth type digest (it needs a second "
                "round trip): use basic, an auth header, or no auth for this profile")
    return None


class CaptureError(Exception):
    """libcurl could not write the request to the loopback recorder."""


class _Recorder:
    """A one-shot HTTP server on loopback: accepts one connection and records what the client
    writes; ``100 Continue`` when the head asks for it, ``200`` (empty) after the whole body."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.data = bytearray()
        self.complete = False
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._serve, name="ffsim-capture", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            self.listener.settimeout(CAPTURE_TIMEOUT_S)
            conn, _ = self.listener.accept()
        except OSError as exc:  # nothing came, or close() gave up waiting
            self.error = exc
            return
        with conn:
            conn.settimeout(CAPTURE_TIMEOUT_S)
            server = h11.Connection(h11.SERVER, max_incomplete_event_size=1 << 20)
            try:
                while True:
                    event = server.next_event()
                    if event is h11.NEED_DATA:
                        chunk = conn.recv(1 << 16)
                        self.data += chunk
                        server.receive_data(chunk)
                    elif isinstance(event, h11.Request):
                        if server.they_are_waiting_for_100_continue:
                            conn.sendall(server.send(h11.InformationalResponse(status_code=100, headers=[])))
                    elif isinstance(event, h11.EndOfMessage):
                        self.complete = True
                        conn.sendall(server.send(h11.Response(status_code=200, headers=[("Content-Length", "0")])))
                        conn.sendall(server.send(h11.EndOfMessage()))
                        return
                    elif isinstance(event, h11.ConnectionClosed):
                        return
            except (OSError, h11.ProtocolError) as exc:
                self.error = exc

    def close(self) -> None:
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes an accept() still waiting (close alone does not)
        except OSError:
            pass  # not listening any more: accepted already
        self.listener.close()
        self.thread.join(CAPTURE_TIMEOUT_S)


def capture(transport, message: Message) -> bytes | None:
    """The bytes libcurl writes for message on transport (an HttpTransport): head and body, as
    the receiver would read them. None when a stop came first; CaptureError when libcurl
    failed (it cannot, on loopback, unless something is badly wrong)."""
    recorder = _Recorder()
    c = pycurl.Curl()
    try:
        transport.configure(c)
        if transport.prepare_on(c, message) is not None:
            return None
        c.setopt(pycurl.CONNECT_TO, [f"::127.0.0.1:{recorder.port}"])  # any host and port: the recorder
        c.setopt(pycurl.PROXY, "")  # straight to the recorder, whatever the environment says
        c.setopt(pycurl.FORBID_REUSE, 1)
        c.setopt(pycurl.TIMEOUT_MS, int(CAPTURE_TIMEOUT_S * 1000))
        try:
            c.perform()
        except pycurl.error as exc:
            raise CaptureError(f"libcurl could not write the request for the wire fault: {exc.args[-1]}") from None
    finally:
        c.close()
        recorder.close()
    if not recorder.complete:
        raise CaptureError(f"libcurl's request for the wire fault was not recorded whole ({recorder.error!r})")
    return bytes(recorder.data)


def split_request(data: bytes) -> tuple[bytes, bytes]:
    """(head with its blank line, body)."""
    end = data.index(b"\r\n\r\n") + 4
    return data[:end], data[end:]


def image_middle(head: bytes, body: bytes) -> int | None:
    """The offset of the middle of the first image part of a multipart body (the second part:
    the first is the event's JSON); None when there is none."""
    found = _BOUNDARY.search(head)
    if found is None:
        return None
    delimiter = b"--" + found.group(1)
    first = body.find(delimiter)
    second = body.find(delimiter, first + len(delimiter)) if first >= 0 else -1
    if second < 0:
        return None
    start = body.find(b"\r\n\r\n", second)
    if start < 0:
        return None
    start += 4
    end = body.find(b"\r\n" + delimiter, start)
    if end <= start:
        return None
    return start + (end - start) // 2


def cut_offset(wire, head: bytes, body: bytes) -> int:
    """How many bytes of the body the fault sends: cut_after bytes, a fraction cut, the middle
    of the first image part (truncated_multipart's default), else half."""
    if wire.cut_after is not None:
        return max(0, min(len(body), wire.cut_after))
    if wire.cut is not None:
        return max(0, min(len(body), int(len(body) * wire.cut)))
    if wire.cut_image or wire.kind == "truncated_multipart":
        middle = image_middle(head, body)
        if middle is not None:
            return middle
    return len(body) // 2


class _Aborted(Exception):
    pass


class RawHttpTransport:
    """One HttpTransport's wire faults: a new connection per faulted attempt, closed after it."""

    def __init__(self, transport) -> None:
        self.transport = transport
        self.profile = transport.profile
        self.url = transport.url
        parts = urlsplit(self.url)
        self.address = (parts.hostname or "", parts.port or 80)
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.host = parts.netloc.rpartition("@")[2]
        self.timeout_s = self.profile.timeout_us / 1e6
        self._deadline = 0.0  # of the attempt under way (wall clock)
        self.aborted: threading.Event = transport.aborted
        self._lock = threading.Lock()
        self._busy: socket.socket | None = None

    # -- stop ------------------------------------------------------------------------------------
    def abort(self) -> None:
        """From any thread: the send in progress ends at once (its socket is shut down)."""
        self.aborted.set()
        with self._lock:
            if self._busy is not None:
                try:
                    self._busy.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _use(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._busy = sock
        if sock is not None and self.aborted.is_set():
            raise _Aborted

    def close(self) -> None:
        pass  # nothing kept between attempts

    # -- the attempt -------------------------------------------------------------------------------
    def send(self, message: Message) -> Outcome:
        problem = wire_problem(self.url, self.profile)
        if problem:
            return Outcome(False, str(TargetError(problem)), fatal=True)
        if self.aborted.is_set():
            return CANCELLED
        try:
            data = capture(self.transport, message)
        except CaptureError as exc:
            return Outcome(False, f"internal error: {exc}", fatal=True)
        if data is None or self.aborted.is_set():
            return CANCELLED
        head, body = split_request(data)
        try:
            sock = connect(self.address, self.profile.connect_timeout_us / 1e6, self.aborted)
        except Aborted:
            return CANCELLED
        except ConnectionRefusedError:
            return Outcome(False, "refused")
        except (socket.timeout, TimeoutError):
            return Outcome(False, "timeout")
        except OSError as exc:
            return Outcome(False, f"cannot connect ({exc.strerror or exc})")
        try:
            with sock:
                self._use(sock)
                sock.settimeout(self.timeout_s)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                outcome = self._attempt(sock, message.wire, head, body)
        except _Aborted:
            return CANCELLED
        finally:
            with self._lock:
                self._busy = None
        return CANCELLED if self.aborted.is_set() else outcome

    def _attempt(self, sock: socket.socket, wire, head: bytes, body: bytes) -> Outcome:
        kind = wire.kind
        if kind not in HTTP_WIRE_FAULTS and kind != NO_FAULT:
            return Outcome(False, f"internal error: {kind!r} is not an HTTP wire fault", fatal=True)
        answer = _Answer(sock, self.target, self.host, self.aborted)
        trickle = kind == "trickle"
        # the profile's timeout bounds the whole attempt, as libcurl's TIMEOUT_MS does the transfer
        self._deadline = wall() + self.timeout_s
        try:
            self._write(sock, head, wire if trickle and wire.head == "trickle" else None, answer, first=True)
            if answer.status is None and b"\r\nexpect: 100-continue\r\n" in head.lower():
                answer.read(wall() + EXPECT_WAIT_S, interim=True)  # libcurl waits (at most 1 s) for it
            if answer.status is not None or answer.ended:  # answered (or gone) before the body
                return answer.outcome()
            if kind in ("reset_mid_body", "truncated_multipart"):
                cut = cut_offset(wire, head, body)
                sock.sendall(body[:cut])
                how = f"{cut} of {len(body)} bytes of the body sent"
                if kind == "reset_mid_body":
                    self._sent_out(sock)  # the receiver's kernel has every byte before the reset
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return Outcome(False, f"reset (fault: {how}, then RST)")
                sock.shutdown(socket.SHUT_WR)
                said = answer.read(self._deadline)
                return Outcome(False, f"cut (fault: {how}, then FIN); {said}")
            self._write(sock, body, wire if trickle else None, answer)
        except (socket.timeout, TimeoutError):
            return Outcome(False, "timeout")
        except OSError:
            if self.aborted.is_set():
                raise _Aborted from None
            if answer.status is None:
                answer.read(wall(), interim=False)  # an answer that came before the reset
            return answer.outcome() if answer.status is not None else Outcome(False, "reset")
        if answer.status is None:
            answer.read(self._deadline)
        return answer.outcome()

    def _write(self, sock: socket.socket, data: bytes, wire, answer: _Answer, first: bool = False) -> None:
        """data at once (wire None), or trickled: wire.chunk bytes every wire.every_us (the first
        write of the request at once), until an answer comes (a receiver that gave up: its 408)
        or a stop."""
        if wire is None:
            sock.sendall(data)
            return
        every_s = wire.every_us / 1e6
        chunk = max(1, wire.chunk)
        for at in range(0, len(data), chunk):
            if at or not first:
                left = self._deadline - wall()
                if self.aborted.wait(max(0.0, min(every_s, left))):
                    raise _Aborted
                if left < every_s:  # the profile's timeout came first: the camera gives up, as libcurl would
                    raise TimeoutError
            if answer.ready():
                answer.read(wall(), interim=False)
                if answer.status is not None or answer.ended:
                    return
            sock.sendall(data[at:at + chunk])

    def _sent_out(self, sock: socket.socket) -> None:
        """Wait (up to the timeout, a stop ends it) until the kernel has no byte of sock unsent or
        unacknowledged (Linux's SIOCOUTQ; elsewhere: at once)."""
        try:
            import fcntl
            import termios

            request = termios.TIOCOUTQ  # == SIOCOUTQ on Linux
        except (ImportError, AttributeError):
            return
        deadline = wall() + self.timeout_s
        buf = bytearray(4)
        while wall() < deadline:
            fcntl.ioctl(sock.fileno(), request, buf)
            if not struct.unpack("i", buf)[0]:
                return
            if self.aborted.wait(0.001):
                raise _Aborted


class _Answer:
    """The receiver's answer on a raw connection, read with h11."""

    def __init__(self, sock: socket.socket, target: str, host: str, aborted: threading.Event) -> None:
        self.sock = sock
        self.aborted = aborted
        self.client = h11.Connection(h11.CLIENT, max_incomplete_event_size=1 << 20)
        # h11 follows the request it sent: the real one is written raw, this one sets its state
        self.client.send(h11.Request(method="POST", target=target or "/", headers=[("Host", host or "localhost"),
                                                                                   ("Transfer-Encoding", "chunked")]))
        self.status: int | None = None
        self.reason = ""
        self.ended = False  # the connection ended (closed, reset or not HTTP) before a final answer
        self.how = ""  # why it ended

    def ready(self) -> bool:
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        return bool(poller.poll(0))

    def read(self, deadline: float, interim: bool = False) -> str:
        """Read until a final answer (and its body, up to DRAIN_LIMIT), the end of the
        connection or the deadline; interim: return at a 100 Continue too. What happened, in words."""
        drained = 0
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        while not self.ended:
            try:
                event = self.client.next_event()
            except h11.RemoteProtocolError as exc:
                return self._end(f"not an HTTP answer ({exc})")
            if event is h11.NEED_DATA:
                if self.status is not None and drained > DRAIN_LIMIT:
                    break
                remaining = deadline - wall()
                if not poller.poll(max(0.0, min(remaining, STOP_SLICE_S)) * 1000):
                    if self.aborted.is_set():
                        raise _Aborted
                    if remaining <= 0:
                        break
                    continue
                try:
                    chunk = self.sock.recv(1 << 16)
                except OSError:
                    return self._end("the receiver reset the connection")
                if not chunk and self.status is None:
                    return self._end("the receiver closed the connection without an answer")
                drained += len(chunk)
                self.client.receive_data(chunk)
            elif isinstance(event, h11.InformationalResponse):
                if interim and event.status_code == 100:
                    return "100 Continue"
            elif isinstance(event, h11.Response):
                self.status, self.reason = event.status_code, event.reason.decode("latin-1")
            elif event is h11.PAUSED:
                break
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                if self.status is None:
                    return self._end("the receiver closed the connection without an answer")
                break
        if self.status is not None:
            return f"the receiver answered {self.status}"
        if self.ended:
            return self.how
        return "no answer"

    def _end(self, how: str) -> str:
        self.ended, self.how = True, how
        return how

    def outcome(self) -> Outcome:
        if self.status is not None:
            return Outcome(200 <= self.status < 300, str(self.status), status=self.status)
        if self.ended:
            return Outcome(False, "empty reply" if "closed" in self.how else
                           "reset" if "reset" in self.how else self.how)
        return Outcome(False, "timeout")
