"""TcpTransport's send and close as coroutines: many TCP cameras on one asyncio loop.

The TCP side of the fleet driver (issue 10), next to ``multi.AsyncCurl`` for HTTP: instead
of a thread blocked in each transport's socket, each send is a coroutine on the loop that
drives every camera. It works on the transport's own settings and state (framing, address,
timeouts, the kept connection and the count of events written on it), with the semantics,
outcomes and bytes of ``TcpTransport.send``/``close`` (tcp.py's docstring; the outcome texts
are tcp.py's, tested byte for byte against the threaded transport).

The waits are the loop's (epoll, not select(), so descriptors from 1024 on work), and the
deadlines ``asyncio.timeout``. A stop is the cancellation of the task awaiting send() or
close(): the socket in use is closed, the kept connection forgotten, and CancelledError goes
on to the caller. ``abort()`` from another thread works as for the threaded send (it shuts
the socket in use down, which wakes the loop's wait; the attempt is reported cancelled).
"""

from __future__ import annotations

import asyncio
import errno
import socket

from . import Message, Outcome
from .pacer import wall
from .tcp import (CANCELLED, CLOSE_WAIT_S, TcpTransport, _peer_state, close_outcome, connect_error, eof_state,
                  documents, framed_all, kept_failure, kept_sent, one_connect_failure, one_outcome, one_write_failure)


async def send(transport: TcpTransport, message: Message) -> Outcome:
    """One attempt of transport's, on the running loop: TcpTransport.send's outcome."""
    if transport.aborted.is_set():
        return CANCELLED
    try:
        data = framed_all(transport.profile.framing, message)  # with the documents coalesced with it
        if transport.profile.framing == "per-connection":
            outcome = await _send_one(transport, data)
        else:
            outcome = await _send_kept(transport, data, documents(message))
    except asyncio.CancelledError:
        transport._forget()  # a stop: the kept connection (if any) is closed and forgotten
        raise
    finally:
        transport._use(transport.sock)
    # after an abort the socket was shut down by us: what it said proves nothing
    return CANCELLED if transport.aborted.is_set() else outcome


async def close(transport: TcpTransport) -> Outcome | None:
    """End the kept connection: FIN, then wait (up to min(timeout, CLOSE_WAIT_S)) for the
    receiver's close, which confirms (or, reset, unconfirms) the events written on it."""
    if transport.sock is None:
        return None
    sock, written = transport.sock, transport.written
    transport._use(sock)
    try:
        try:
            sock.shutdown(socket.SHUT_WR)
            state = await _await_close(sock, wall() + min(transport.timeout_s, CLOSE_WAIT_S))
        except OSError:
            state = "reset"
    finally:  # cancelled too: the connection is closed and forgotten
        transport._use(None)
        transport._forget()
    if transport.aborted.is_set():
        return None  # a stop: the receipt was not awaited
    return close_outcome(state, written)


async def _send_one(transport: TcpTransport, data: bytes) -> Outcome:
    loop = asyncio.get_running_loop()
    try:
        sock = await _connect(transport)
    except OSError as exc:
        return one_connect_failure(exc)
    deadline = wall() + transport.timeout_s
    with sock:  # closed on every way out, a cancellation included
        try:
            async with asyncio.timeout(transport.timeout_s):
                await loop.sock_sendall(sock, data)
            sock.shutdown(socket.SHUT_WR)
        except OSError as exc:  # TimeoutError included
            return one_write_failure(exc)
        state = await _await_close(sock, deadline)
    return one_outcome(state, transport.timeout_s)


async def _send_kept(transport: TcpTransport, data: bytes, count: int = 1) -> Outcome:
    loop = asyncio.get_running_loop()
    lost = 0
    if transport.sock is not None:
        state = _peer_state(transport.sock)  # without waiting
        if state != "open":
            written = transport._forget()
            lost = written if state == "reset" else 0
    try:
        if transport.sock is None:
            transport.sock = await _connect(transport)
        async with asyncio.timeout(transport.timeout_s):
            await loop.sock_sendall(transport.sock, data)
    except OSError as exc:
        if not isinstance(exc, ConnectionRefusedError):
            lost += transport._forget()
        return kept_failure(exc, lost)
    transport.written += count
    return kept_sent(lost)


async def _await_close(sock: socket.socket, deadline: float) -> str:
    """tcp._await_close on the loop: after ffsim's FIN, "closed" (EOF), "reset" or "timeout"."""
    loop = asyncio.get_running_loop()
    try:
        while True:
            remaining = deadline - wall()
            if remaining <= 0:
                return "timeout"
            async with asyncio.timeout(remaining):
                if not await loop.sock_recv(sock, 65536):
                    return eof_state(sock)
    except TimeoutError:
        return "timeout"
    except OSError:
        return "reset"


async def _connect(transport: TcpTransport) -> socket.socket:
    """tcp.connect and TcpTransport._connect on the loop: a connected, non-blocking socket
    with TCP_NODELAY, which abort() can reach; the same errors (the connect timeout bounds
    the name's resolution too)."""
    host, port = transport.address
    error: OSError | None = None
    async with asyncio.timeout(transport.profile.connect_timeout_us / 1e6):
        for family, kind, proto, _, where in await _resolve(host, port):
            sock = socket.socket(family, kind, proto)
            try:
                sock.setblocking(False)
                code = sock.connect_ex(where)
                if code not in (0, errno.EINPROGRESS):
                    raise OSError(code, errno.errorcode.get(code, str(code)))
                if code != 0:
                    await _writable(sock)
                    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if code:
                        raise connect_error(code)
                break
            except BaseException as exc:
                sock.close()
                if not isinstance(exc, OSError) or isinstance(exc, TimeoutError):
                    raise
                error = exc
        else:
            raise error or OSError(f"no address for {host}")
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    transport._use(sock)
    return sock


async def _resolve(host: str, port: int) -> list:
    """getaddrinfo: at once for an address, in the loop's executor for a name."""
    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except socket.gaierror:
        return await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)


async def _writable(sock: socket.socket) -> None:
    """Until the loop sees sock writable (a connect's end); the watch is gone on every way out,
    before the caller can close the socket."""
    loop = asyncio.get_running_loop()
    fd = sock.fileno()
    ready = loop.create_future()
    loop.add_writer(fd, _wake, ready)
    try:
        await ready
    finally:
        loop.remove_writer(fd)


def _wake(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)
