"""JSON over TCP, as the camera sends: it connects to the receiver and writes each event.

Framing is not documented, so it is a setting (FF-EVENTS.md section 6):

``per-connection`` (default): one connection per event, the field evidence (a receiver
    written for a real AXIS P1465-LE accepts, reads the event, goes back to accept).
    ffsim connects, writes the event, shuts its side down (FIN) and waits, up to the
    profile's ``timeout``, for the receiver to close. The close is the receipt: a clean
    close (EOF) means the receiver read every byte, because a kernel that closes a
    socket with unread bytes sends a reset (RST) instead. A reset, a refused or timed
    out connection, or a receiver still holding the connection open at the timeout is
    a failed attempt (a ``connection`` failure for ``retry_on``). The last one may
    duplicate the event on retry: ffsim cannot tell whether it was read, and an event
    reported sent must have been read.
``newline`` / ``none``: one kept connection, the camera's JSON text with its final
    newline, or the documents back to back. TCP gives no receipt on an open connection:
    an event counts sent once written. Before each write (and at the end of the run,
    after a FIN of ffsim's) the connection is checked: a receiver that closed cleanly had
    read everything; one that reset it closed with unread bytes, and every event written
    on that connection is reported *unconfirmed* (an upper bound of what was lost; ffsim
    does not resend them, which would duplicate the ones read and could loop forever on
    a receiver that reads one event per connection).

Faults on purpose (ffsim.faults): a message may carry ``coalesced`` documents, written after its
own, each framed, in the same sendall (one connection with per-connection framing): one item,
one attempt, many events. A ``tcp_split`` wire fault writes the attempt's bytes in
``pieces`` slices at seeded offsets (the packet's counter: the same cut every run), with
TCP_NODELAY and ``pause`` between them, which a stop ends.

A stop (``abort()`` from another thread) shuts the socket in use down, which wakes a
blocked write or read at once; a connect is made in slices of ``STOP_SLICE_S`` for the
same reason. The event in progress is then reported cancelled (still buffered).
"""

from __future__ import annotations

import errno
import random
import select
import socket
import threading

from ..scenario.model import Profile
from . import Message, Outcome, TargetError
from .pacer import STOP_SLICE_S, wall
from .targets import target_problem, tcp_address

CLOSE_WAIT_S = 5.0  # at the end of a run, how long a kept connection may take to close


def parse_address(target: str) -> tuple[str, int]:
    address = tcp_address(target)
    if address is None:
        raise TargetError(target_problem("tcp", target) or target)
    return address


def check_tcp_target(target: str) -> tuple[str, int]:
    host, port = parse_address(target)
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise TargetError(f"host name {host!r} in {target!r} does not resolve") from None
    return host, port


def _await_close(sock: socket.socket, deadline: float) -> str:
    """After ffsim's FIN: "closed" (EOF), "reset" or "timeout". What the receiver says is discarded."""
    try:
        while True:
            remaining = deadline - wall()
            if remaining <= 0:
                return "timeout"
            sock.settimeout(remaining)
            if not sock.recv(65536):
                return eof_state(sock)
    except (socket.timeout, TimeoutError):
        return "timeout"
    except OSError:
        return "reset"


def eof_state(sock: socket.socket) -> str:
    """After recv() gave EOF: "reset" or "closed". A reset that followed the receiver's FIN
    (bytes that arrived after its close) does not show in recv, which reports the FIN first."""
    return "reset" if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) else "closed"


def _peer_state(sock: socket.socket) -> str:
    """A kept connection, without waiting: "open", "closed" (EOF) or "reset"."""
    poller = select.poll()  # not select.select, which fails on descriptors >= 1024
    poller.register(sock, select.POLLIN)
    try:
        while poller.poll(0):
            if not sock.recv(65536):  # readable, so this does not block
                return eof_state(sock)
    except OSError:
        return "reset"
    return "open"


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # not connected (yet, or any more)


def _unconfirmed(count: int) -> str:
    return (f"the receiver reset the previous connection with unread data: up to {count} event(s) "
            "written on it may not have been read")


def framed(framing: str, message: Message) -> bytes:
    """The bytes written for one event: the camera's JSON text, which ``none`` writes without
    its final newline."""
    return frame(framing, message.json)


def frame(framing: str, json: bytes) -> bytes:
    """One document as the framing writes it (framed's, for a document's JSON)."""
    return json if framing in ("per-connection", "newline") else json.rstrip(b"\n")


def framed_all(framing: str, message: Message) -> bytes:
    """What one attempt writes: the event's document and those coalesced with it (a tcp_coalesce
    or a coalescing burst), each framed, back to back: one sendall (per-connection: on one
    connection)."""
    if not message.coalesced:
        return framed(framing, message)
    return framed(framing, message) + b"".join(frame(framing, json) for json in message.coalesced)


def documents(message: Message) -> int:
    """How many events one attempt of message writes."""
    return 1 + len(message.coalesced)


def split_points(size: int, pieces: int, seed: object) -> list[int]:
    """tcp_split: the offsets where data of size bytes is cut into pieces (at most size) slices,
    drawn from seed (the packet's counter: the same packet is cut the same way every run)."""
    pieces = max(1, min(pieces, size))
    return sorted(random.Random(f"tcp_split/{seed}").sample(range(1, size), pieces - 1)) if pieces > 1 else []


# The outcomes, shared by TcpTransport and the asyncio driver (aio_tcp), whose attempts
# end the same ways.
_RESET_ONE = "reset: the receiver closed before reading the whole event"


def one_connect_failure(exc: OSError) -> Outcome:
    """per-connection: the connect failed."""
    if isinstance(exc, ConnectionRefusedError):
        return Outcome(False, "refused")
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return Outcome(False, "connect timeout")
    return Outcome(False, f"cannot connect ({exc.strerror or exc})")


def one_write_failure(exc: OSError) -> Outcome:
    """per-connection: writing the event (or the FIN) failed."""
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return Outcome(False, "timeout: the receiver did not take the event")
    return Outcome(False, _RESET_ONE)


def one_outcome(state: str, timeout_s: float) -> Outcome:
    """per-connection: the event and the FIN written, what _await_close said."""
    if state == "closed":
        return Outcome(True, "sent")
    if state == "reset":
        return Outcome(False, _RESET_ONE)
    return Outcome(False, f"timeout: the receiver kept the connection open {timeout_s:g} s after the event")


def kept_failure(exc: OSError, lost: int) -> Outcome:
    """newline / none: connecting or writing failed; lost: the events written on the
    connection(s) forgotten meanwhile."""
    if isinstance(exc, ConnectionRefusedError):
        return Outcome(False, "refused", unconfirmed=lost)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        # the receiver stopped reading; part of this event may be on the wire
        return Outcome(False, "timeout" + (f"; {_unconfirmed(lost)}" if lost else ""), unconfirmed=lost)
    return Outcome(False, f"reset ({exc.strerror or exc})" + (f"; {_unconfirmed(lost)}" if lost else ""),
                   unconfirmed=lost)


def kept_sent(lost: int) -> Outcome:
    return Outcome(True, "sent" + (f" ({_unconfirmed(lost)})" if lost else ""), unconfirmed=lost)


def close_outcome(state: str, written: int) -> Outcome | None:
    """The end of a kept connection on which written events went: what _await_close said."""
    if state == "reset" and written:
        return Outcome(False, _unconfirmed(written), unconfirmed=written)
    return None


def connect_error(code: int) -> OSError:
    """The error of a connect that ended with errno code (an OSError of the code's subclass)."""
    if code == errno.ECONNREFUSED:
        return ConnectionRefusedError(code, "refused")
    return OSError(code, errno.errorcode.get(code, str(code)))


CANCELLED = Outcome(False, "stopped", cancelled=True)


class Aborted(Exception):
    """abort() was called while connecting."""


def connect(address: tuple[str, int], timeout_s: float, aborted: threading.Event) -> socket.socket:
    """socket.create_connection, in slices that look at aborted (raises Aborted)."""
    host, port = address
    error: OSError | None = None
    deadline = wall() + timeout_s
    for family, kind, proto, _, where in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            code = sock.connect_ex(where)
            if code not in (0, errno.EINPROGRESS):
                raise OSError(code, errno.errorcode.get(code, str(code)))
            poller = select.poll()
            poller.register(sock, select.POLLOUT)
            while code != 0 and not poller.poll(STOP_SLICE_S * 1000):
                if aborted.is_set():
                    raise Aborted
                if wall() >= deadline:
                    raise TimeoutError("connect timeout")
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                raise connect_error(code)
            sock.setblocking(True)
            return sock
        except BaseException as exc:
            sock.close()
            if not isinstance(exc, OSError) or isinstance(exc, TimeoutError):
                raise
            error = exc
    raise error or OSError(f"no address for {host}")


class TcpTransport:
    def __init__(self, profile: Profile, target: str):
        self.profile = profile
        self.address = parse_address(target)
        self.timeout_s = profile.timeout_us / 1e6
        self.sock: socket.socket | None = None  # the kept connection
        self.written = 0  # events written on it
        self.aborted = threading.Event()
        self._lock = threading.Lock()
        self._busy: socket.socket | None = None  # the socket a send or close is using

    def _connect(self) -> socket.socket:
        sock = connect(self.address, self.profile.connect_timeout_us / 1e6, self.aborted)
        sock.settimeout(self.timeout_s)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._use(sock)
        return sock

    def _use(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._busy = sock
        if sock is not None and self.aborted.is_set():
            _shut(sock)  # abort() came between the connect and now

    def abort(self) -> None:
        """From any thread: wake the send (or close) in progress, and refuse later ones."""
        self.aborted.set()
        with self._lock:
            if self._busy is not None:
                _shut(self._busy)

    def send(self, message: Message) -> Outcome:
        if self.aborted.is_set():
            return CANCELLED
        try:
            data = framed_all(self.profile.framing, message)
            if self.profile.framing == "per-connection":
                outcome = self._send_one(data, message)
            else:
                outcome = self._send_kept(data, message)
        except Aborted:
            return CANCELLED
        finally:
            self._use(self.sock)
        # after an abort the socket was shut down by us: what it said proves nothing
        return CANCELLED if self.aborted.is_set() else outcome

    def _write(self, sock: socket.socket, data: bytes, message: Message) -> None:
        """sendall, or (a tcp_split on this attempt) the data in wire.pieces slices at seeded
        offsets, TCP_NODELAY so that each goes in its own segment, wire.pause_us apart (a stop
        ends the pause: Aborted)."""
        wire = message.wire
        if wire is None or wire.kind != "tcp_split":
            sock.sendall(data)
            return
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        cuts = [0, *split_points(len(data), wire.pieces, message.counter or message.json), len(data)]
        for n, (start, end) in enumerate(zip(cuts, cuts[1:])):
            if n and self.aborted.wait(wire.pause_us / 1e6):
                raise Aborted
            sock.sendall(data[start:end])

    def _send_one(self, data: bytes, message: Message) -> Outcome:
        try:
            sock = self._connect()
        except OSError as exc:
            return one_connect_failure(exc)
        deadline = wall() + self.timeout_s
        with sock:
            try:
                self._write(sock, data, message)
                sock.shutdown(socket.SHUT_WR)
            except OSError as exc:
                return one_write_failure(exc)
            state = _await_close(sock, deadline)
        return one_outcome(state, self.timeout_s)

    def _forget(self) -> int:
        """Close the kept connection; how many events were written on it."""
        written, self.written = self.written, 0
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        return written

    def _send_kept(self, data: bytes, message: Message) -> Outcome:
        lost = 0
        if self.sock is not None:
            state = _peer_state(self.sock)
            if state != "open":
                written = self._forget()
                lost = written if state == "reset" else 0
        try:
            if self.sock is None:
                self.sock = self._connect()
            self._write(self.sock, data, message)
        except OSError as exc:
            if not isinstance(exc, ConnectionRefusedError):
                lost += self._forget()
            return kept_failure(exc, lost)
        self.written += documents(message)
        return kept_sent(lost)

    def close(self) -> Outcome | None:
        """End the kept connection: FIN, then wait for the receiver's close, which confirms
        (or, reset, unconfirms) the events written on it."""
        if self.sock is None:
            return None
        sock, written = self.sock, self.written
        self._use(sock)
        try:
            sock.shutdown(socket.SHUT_WR)
            state = _await_close(sock, wall() + min(self.timeout_s, CLOSE_WAIT_S))
        except OSError:
            state = "reset"
        self._use(None)
        self._forget()
        if self.aborted.is_set():
            return None  # a stop: the receipt was not awaited
        return close_outcome(state, written)
