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
"""

from __future__ import annotations

import select
import socket
import time

from ..scenario.model import Profile
from . import Message, Outcome, TargetError
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
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "timeout"
            sock.settimeout(remaining)
            if not sock.recv(65536):
                # a reset that followed the receiver's FIN (bytes that arrived after its
                # close) does not show in recv, which reports the FIN first
                return "reset" if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) else "closed"
    except (socket.timeout, TimeoutError):
        return "timeout"
    except OSError:
        return "reset"


def _peer_state(sock: socket.socket) -> str:
    """A kept connection, without waiting: "open", "closed" (EOF) or "reset"."""
    poller = select.poll()  # not select.select, which fails on descriptors >= 1024
    poller.register(sock, select.POLLIN)
    try:
        while poller.poll(0):
            if not sock.recv(65536):  # readable, so this does not block
                return "reset" if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) else "closed"
    except OSError:
        return "reset"
    return "open"


def _unconfirmed(count: int) -> str:
    return (f"the receiver reset the previous connection with unread data: up to {count} event(s) "
            "written on it may not have been read")


class TcpTransport:
    def __init__(self, profile: Profile, target: str):
        self.profile = profile
        self.address = parse_address(target)
        self.timeout_s = profile.timeout_us / 1e6
        self.sock: socket.socket | None = None  # the kept connection
        self.written = 0  # events written on it

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=self.profile.connect_timeout_us / 1e6)
        sock.settimeout(self.timeout_s)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def send(self, message: Message) -> Outcome:
        if self.profile.framing == "per-connection":
            return self._send_one(message.json)
        return self._send_kept(message.json if self.profile.framing == "newline" else message.json.rstrip(b"\n"))

    def _send_one(self, data: bytes) -> Outcome:
        try:
            sock = self._connect()
        except ConnectionRefusedError:
            return Outcome(False, "refused")
        except (socket.timeout, TimeoutError):
            return Outcome(False, "connect timeout")
        except OSError as exc:
            return Outcome(False, f"cannot connect ({exc.strerror or exc})")
        deadline = time.monotonic() + self.timeout_s
        with sock:
            try:
                sock.sendall(data)
                sock.shutdown(socket.SHUT_WR)
            except (socket.timeout, TimeoutError):
                return Outcome(False, "timeout: the receiver did not take the event")
            except OSError:
                return Outcome(False, "reset: the receiver closed before reading the whole event")
            state = _await_close(sock, deadline)
        if state == "closed":
            return Outcome(True, "sent")
        if state == "reset":
            return Outcome(False, "reset: the receiver closed before reading the whole event")
        return Outcome(False, f"timeout: the receiver kept the connection open {self.timeout_s:g} s after the event")

    def _forget(self) -> int:
        """Close the kept connection; how many events were written on it."""
        written, self.written = self.written, 0
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        return written

    def _send_kept(self, data: bytes) -> Outcome:
        lost = 0
        if self.sock is not None:
            state = _peer_state(self.sock)
            if state != "open":
                written = self._forget()
                lost = written if state == "reset" else 0
        try:
            if self.sock is None:
                self.sock = self._connect()
            self.sock.sendall(data)
        except ConnectionRefusedError:
            return Outcome(False, "refused", unconfirmed=lost)
        except (socket.timeout, TimeoutError):
            # the receiver stopped reading; part of this event may be on the wire
            lost += self._forget()
            return Outcome(False, "timeout" + (f"; {_unconfirmed(lost)}" if lost else ""), unconfirmed=lost)
        except OSError as exc:
            lost += self._forget()
            return Outcome(False, f"reset ({exc.strerror or exc})" + (f"; {_unconfirmed(lost)}" if lost else ""),
                           unconfirmed=lost)
        self.written += 1
        return Outcome(True, "sent" + (f" ({_unconfirmed(lost)})" if lost else ""), unconfirmed=lost)

    def close(self) -> Outcome | None:
        """End the kept connection: FIN, then wait for the receiver's close, which confirms
        (or, reset, unconfirms) the events written on it."""
        if self.sock is None:
            return None
        sock, written = self.sock, self.written
        try:
            sock.shutdown(socket.SHUT_WR)
            state = _await_close(sock, time.monotonic() + min(self.timeout_s, CLOSE_WAIT_S))
        except OSError:
            state = "reset"
        self._forget()
        if state == "reset" and written:
            return Outcome(False, _unconfirmed(written), unconfirmed=written)
        return None
