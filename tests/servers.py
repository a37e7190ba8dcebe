"""Real receivers on loopback for the transport tests: no mocks.

* WerkzeugReceiver: an HTTP server with Werkzeug's multipart parser, recording
  each request's headers, form files and body; the answer is a setting.
* RawRecorder: a socket server that records the exact request bytes.
* TcpListener: records what each TCP connection carries.
* OneReadTcpReceiver: the field's TCP receiver (written for a real AXIS P1465-LE): accept,
  one recv(), close; it can read only a few bytes, or hold connections open, for a while.
"""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def refusing_socket():
    """A loopback socket of this test's, bound and not listening: its port refuses every
    connection, for "the receiver is down". Unlike a fixed port (9) or one bound and closed
    (free_port), nothing else can listen on it meanwhile. WerkzeugReceiver(sock=...) brings a
    receiver up on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock


@contextmanager
def refusing_port():
    """refusing_socket()'s port."""
    with refusing_socket() as sock:
        yield sock.getsockname()[1]


def wait_for_port(port: int, host: str = "127.0.0.1", seconds: float = 5.0) -> None:
    """Wait until something listens on host:port (a server started in another process)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex((host, port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port}")


def wait_for(condition, seconds: float = 20.0, what: str = "condition not met") -> None:
    """Poll condition() until it holds; fail after seconds (a wait on a condition, not a sleep)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.01)


@dataclass
class Received:
    headers: list[tuple[str, str]]
    content_type: str
    body: bytes
    files: dict  # field -> (filename, content type, bytes)
    form: dict
    authorization: object
    path: str


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-"):  # a line per request; errors are still logged
        pass


class WerkzeugReceiver:
    def __init__(self, status=200, ssl_context=None, check=None, port=0, sock: socket.socket | None = None):
        """sock: a bound socket to listen on, such as refusing_socket()'s: a receiver that comes up
        on the port that refused until then, which nothing else could take meanwhile (the socket
        listens from then on, until it is closed)."""
        self.requests: list[Received] = []
        self.status = status  # an int, or a callable() -> int
        self.check = check  # optional callable(request) -> Response | None
        self.lock = threading.Lock()
        fd = None
        if sock is not None:
            sock.listen(64)
            fd, port = sock.fileno(), sock.getsockname()[1]
        self.server = make_server("127.0.0.1", port, self._app, threaded=True, ssl_context=ssl_context,
                                  request_handler=_QuietHandler, fd=fd)
        self.port = self.server.server_address[1]
        scheme = "https" if ssl_context else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}/listener.php"
        # shutdown() waits for serve_forever's next poll: 0.5 s by default, at every receiver's end
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)

    def _app(self, environ, start_response):
        request = Request(environ)
        if self.check is not None:
            answer = self.check(request)
            if answer is not None:
                return answer(environ, start_response)
        body = request.get_data(cache=True)
        files = {name: (f.filename, f.content_type, f.read()) for name, f in request.files.items()}
        status = self.status() if callable(self.status) else self.status
        if 200 <= status < 300:
            with self.lock:
                self.requests.append(Received(list(request.headers.items()), request.mimetype, body, files,
                                              dict(request.form), request.authorization, request.path))
        return Response("ok" if status < 300 else "no", status=status)(environ, start_response)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class LoopbackServer:
    """A listening socket on a free loopback port and a thread that accepts; handle(conn) says
    what each connection gets. A `with` block runs it."""

    backlog = 8

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(self.backlog)
        self.port = self.sock.getsockname()[1]
        self.target = f"127.0.0.1:{self.port}"
        self.url = f"http://127.0.0.1:{self.port}/listener.php"
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:  # closed by __exit__
                return
            self.handle(conn)

    def handle(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() under way (close alone does not)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(10)


class RawRecorder(LoopbackServer):
    """Reads each request whole (headers, then Content-Length bytes) and answers 200."""

    def __init__(self, send_continue: bool = True):
        super().__init__()
        self.send_continue = send_continue
        self.requests: list[dict] = []

    def handle(self, conn):
        threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket):
        buf = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                head, _, rest = buf.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = [tuple(line.split(": ", 1)) for line in lines[1:]]
                length = int(dict((k.lower(), v) for k, v in headers).get("content-length", "0"))
                expect = any(k.lower() == "expect" for k, _ in headers)
                started = time.monotonic()
                if expect and self.send_continue:
                    conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                while len(rest) < length:
                    chunk = conn.recv(1 << 20)
                    if not chunk:
                        return
                    rest += chunk
                buf = rest[length:]
                if not self.answer(conn, {"request_line": lines[0], "headers": headers, "head": head,
                                          "body": rest[:length], "body_after_s": time.monotonic() - started}):
                    return

    def answer(self, conn: socket.socket, request: dict) -> bool:
        """Record the request and answer 200; False closes the connection."""
        self.requests.append(request)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        return True

class TcpListener(LoopbackServer):
    """Records what each TCP connection carries, read to its end."""

    def __init__(self):
        super().__init__()
        self.connections: list[bytearray] = []

    def handle(self, conn):
        data = bytearray()
        self.connections.append(data)
        threading.Thread(target=self._read, args=(conn, data), daemon=True).start()

    @staticmethod
    def _read(conn, data):
        with conn:
            while chunk := conn.recv(65536):
                data.extend(chunk)

    @property
    def data(self) -> bytes:
        return b"".join(bytes(c) for c in self.connections)


class OneReadTcpReceiver(LoopbackServer):
    """accept, ONE recv(read), close: the receiver of FF-EVENTS.md section 6.

    The first ``short`` connections read only ``few`` bytes before closing (the kernel then
    resets them: unread bytes). The first ``hold`` connections are read whole, then left
    open until the receiver stops (a receiver that never closes). ``first_event_only`` reads,
    byte by byte, up to the end of the first document (the camera's JSON ends with a
    ``}`` alone on its line) and closes: on a kept connection the rest is lost.
    """

    def __init__(self, read: int = 65536, short: int = 0, few: int = 10, hold: int = 0,
                 first_event_only: bool = False):
        super().__init__()
        self.read, self.short, self.few, self.hold = read, short, few, hold
        self.first_event_only = first_event_only
        self.connections: list[bytes] = []  # what each connection's read got
        self.held: list[socket.socket] = []

    backlog = 64

    def handle(self, conn):
        n = len(self.connections)
        if n < self.hold:
            data = bytearray()
            while chunk := conn.recv(65536):  # until ffsim's FIN, then keep it open
                data.extend(chunk)
            self.connections.append(bytes(data))
            self.held.append(conn)
            return
        with conn:
            if self.first_event_only:
                data = bytearray()
                while not data.endswith(b"\n}\n") and (byte := conn.recv(1)):
                    data.extend(byte)
                self.connections.append(bytes(data))
            else:
                self.connections.append(conn.recv(self.few if n < self.short else self.read))

    def __exit__(self, *exc):
        super().__exit__(*exc)
        for conn in self.held:
            conn.close()


class NotHttpFirst(RawRecorder):
    """Answers the first ``garbage`` requests with ``answer`` (no status line: libcurl says
    "Received HTTP/0.9 when not allowed") and closes; then answers each request 200."""

    def __init__(self, garbage: int = 1, answer: bytes = b"hello\n"):
        super().__init__()
        self.garbage, self.garbage_answer = garbage, answer
        self.answered = 0  # requests answered with garbage

    @property
    def bodies(self) -> list[bytes]:
        """The bodies of the requests answered 200."""
        return [r["body"] for r in self.requests]

    def answer(self, conn: socket.socket, request: dict) -> bool:
        if self.answered < self.garbage:
            self.answered += 1
            conn.sendall(self.garbage_answer)
            return False
        return super().answer(conn, request)


class ReadRecorder(LoopbackServer):
    """TCP: each connection's reads, one entry per recv() as the data came, to its end (for
    tcp_split: several reads for one document; tcp_coalesce: one read for several)."""

    def __init__(self):
        super().__init__()
        self.connections: list[list[bytes]] = []
        self.ended = 0  # connections read to their end

    def handle(self, conn):
        reads: list[bytes] = []
        self.connections.append(reads)
        threading.Thread(target=self._read, args=(conn, reads), daemon=True).start()

    def _read(self, conn, reads):
        with conn:
            try:
                while chunk := conn.recv(65536):
                    reads.append(chunk)
            except OSError:
                pass
        self.ended += 1


class HttpConnectionRecorder(LoopbackServer):
    """HTTP, per connection: every byte as read (and the reads), the requests that came whole
    (answered ``status``, 200 by default), and how the connection ended: "eof" (the sender's
    FIN: a request cut short gets a 400 on the half-closed connection) or "reset". With
    ``deadline_s``, a request not whole that long after its first byte is answered 408 and
    the connection closed (a receiver that gives up on a slow sender)."""

    def __init__(self, status: int = 200, deadline_s: float | None = None):
        super().__init__()
        self.status, self.deadline_s = status, deadline_s
        self.connections: list[dict] = []
        self.arrived: list[bytes] = []  # the whole requests of all connections, in the order they came

    @property
    def requests(self) -> list[bytes]:
        """The whole requests (head and body) of every connection, connection by connection."""
        return [r for c in self.connections for r in c["requests"]]

    @property
    def finished(self) -> list[dict]:
        """The connections that ended."""
        return [c for c in self.connections if c["end"] is not None]

    def handle(self, conn):
        entry = {"data": bytearray(), "reads": [], "requests": [], "answers": [], "end": None}
        self.connections.append(entry)
        threading.Thread(target=self._connection, args=(conn, entry), daemon=True).start()

    def _recv(self, conn, entry, started):
        if self.deadline_s is not None and started is not None:
            conn.settimeout(max(0.001, started + self.deadline_s - time.monotonic()))
        chunk = conn.recv(65536)
        entry["reads"].append(chunk)
        entry["data"].extend(chunk)
        return chunk

    def _answer(self, conn, entry, status: int, close: bool = False):
        entry["answers"].append(status)
        extra = "Connection: close\r\n" if close else ""
        conn.sendall(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\n{extra}\r\n".encode())

    def _connection(self, conn, entry):
        buf, started, end = b"", None, "eof"
        try:
            with conn:
                while True:
                    try:
                        while b"\r\n\r\n" not in buf:
                            chunk = self._recv(conn, entry, started)
                            if not chunk:
                                if buf:
                                    self._answer(conn, entry, 400, close=True)
                                return
                            started = started or time.monotonic()
                            buf += chunk
                        head, _, rest = buf.partition(b"\r\n\r\n")
                        lines = head.decode("latin-1").split("\r\n")
                        headers = {k.lower(): v for k, _, v in (line.partition(": ") for line in lines[1:])}
                        length = int(headers.get("content-length", "0"))
                        if headers.get("expect", "").lower() == "100-continue" and len(rest) < length:
                            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                        while len(rest) < length:
                            chunk = self._recv(conn, entry, started)
                            if not chunk:
                                self._answer(conn, entry, 400, close=True)
                                return
                            rest += chunk
                    except (socket.timeout, TimeoutError):
                        self._answer(conn, entry, 408, close=True)
                        return
                    entry["requests"].append(head + b"\r\n\r\n" + rest[:length])
                    self.arrived.append(entry["requests"][-1])
                    buf, started = rest[length:], None
                    self._answer(conn, entry, self.status)
        except ConnectionResetError:
            end = "reset"
        except OSError:
            end = "error"
        finally:
            entry["end"] = end
