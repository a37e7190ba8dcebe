"""JSON over TCP, as the camera sends: it connects to the receiver and writes each event.

Framing (undocumented, so a setting): ``newline`` (default) writes the camera's JSON
text, which ends with a newline; ``none`` writes the documents back to back; and
``per-connection`` opens a connection per event and closes it after. Otherwise
the connection stays open, and is opened again when it has dropped.
"""

from __future__ import annotations

import select
import socket

from ..scenario.model import Profile
from . import Message, Outcome, TargetError
from .targets import target_problem, tcp_address


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


class TcpTransport:
    def __init__(self, profile: Profile, target: str):
        self.profile = profile
        self.address = parse_address(target)
        self.sock: socket.socket | None = None

    def _peer_closed(self, sock: socket.socket) -> bool:
        """Whether the receiver has closed (or reset) the connection since the last event."""
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        try:
            return sock.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=self.profile.connect_timeout_us / 1e6)
        sock.settimeout(self.profile.timeout_us / 1e6)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def send(self, message: Message) -> Outcome:
        data = message.json if self.profile.framing != "none" else message.json.rstrip(b"\n")
        try:
            if self.sock is not None and self._peer_closed(self.sock):
                self.close()
            if self.sock is None:
                self.sock = self._connect()
            self.sock.sendall(data)
            if self.profile.framing == "per-connection":
                self.sock.shutdown(socket.SHUT_WR)
                self.close()
            return Outcome(True, "sent")
        except ConnectionRefusedError:
            self.close()
            return Outcome(False, "refused")
        except (socket.timeout, TimeoutError):
            self.close()
            return Outcome(False, "timeout")
        except OSError as exc:
            self.close()
            return Outcome(False, f"reset ({exc.strerror or exc})")

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None
