"""TCP sending on an asyncio loop (transport.aio_tcp), against real receivers on loopback: the
same bytes and outcomes as the threaded TcpTransport, many cameras on one loop, cancellation,
descriptors past 1024.

The scripted tests run one script through both drivers (the threaded send in a worker thread,
the coroutine on the loop) and compare what each attempt said."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import resource
import select
import socket
import threading
from typing import Any
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager

import pytest

from ffsim import bundled, events, scenario_of
from ffsim.scenario.model import Profile
from ffsim.transport import Message, Outcome, aio_tcp
from ffsim.transport.tcp import TcpTransport

from .servers import OneReadTcpReceiver, TcpListener, refusing_port, wait_for
from .test_stop import Holder

FRAMINGS = ["per-connection", "newline", "none"]
Send = Callable[[Message], Awaitable[Outcome]]
Close = Callable[[], Awaitable["Outcome | None"]]


def batch() -> list[Message]:
    packets = events(scenario_of(bundled("parking-gate")), tcp="127.0.0.1:9")
    return [Message(p.payload.camera_json(), (), "event.json", str(p.payload["packetCounter"])) for p in packets]


def transport(target: str, framing: str = "per-connection", timeout_ms: int = 5000,
              connect_timeout_ms: int = 5000) -> TcpTransport:
    profile = Profile(id=1, protocol="tcp", url=target, framing=framing, timeout_us=timeout_ms * 1000,
                      connect_timeout_us=connect_timeout_ms * 1000)
    return TcpTransport(profile, target)


def drivers(t: TcpTransport, looped: bool) -> tuple[Send, Close]:
    """send and close of t: the coroutines, or the threaded methods in a worker thread."""
    if looped:
        return (lambda m: aio_tcp.send(t, m)), (lambda: aio_tcp.close(t))
    return (lambda m: asyncio.to_thread(t.send, m)), (lambda: asyncio.to_thread(t.close))


def both(script: Callable[[bool], Coroutine[Any, Any, list]]) -> list:
    """The script's results through the threaded transport, checked equal to those through the loop."""
    threaded = asyncio.run(script(False))
    looped = asyncio.run(script(True))
    assert looped == threaded
    return looped


def shown(outcome: Outcome | None) -> tuple | None:
    """What an outcome says, but for the latency (none is measured here)."""
    return None if outcome is None else dataclasses.astuple(dataclasses.replace(outcome, latency_s=None))


def closed_by_peer(conn: socket.socket) -> bool:
    """Read conn to its end: True once ffsim's side is closed (EOF or reset)."""
    conn.settimeout(5)
    try:
        while conn.recv(1 << 20):
            pass
    except ConnectionResetError:
        pass
    return True


def signalled(sock: socket.socket) -> bool:
    """The peer has said something (data, FIN or reset) on sock; nothing is read."""
    poller = select.poll()
    poller.register(sock, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


class WideListener(TcpListener):
    backlog = 512  # 200 connections at once


class ReadsFirst(TcpListener):
    """Reads only the first ``first`` bytes of its first connection, then closes it (a reset
    if more came); later connections are read to their end."""

    def __init__(self, first: int) -> None:
        super().__init__()
        self.first = first
        self.cut = threading.Event()

    def handle(self, conn: socket.socket) -> None:
        if self.connections:
            return super().handle(conn)
        data = bytearray()
        self.connections.append(data)
        with conn:
            while len(data) < self.first:
                data.extend(conn.recv(self.first - len(data)))
            wait_for(lambda: signalled(conn), 5, "the second event did not come")  # unread, then
        self.cut.set()


# -- the same bytes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("framing", FRAMINGS)
def test_the_wire_is_the_threaded_transport_s_byte_for_byte(framing: str) -> None:
    messages = batch()
    received = []

    async def script(looped: bool) -> list:
        with TcpListener() as rx:
            t = transport(rx.target, framing)
            send, close = drivers(t, looped)
            said = [shown(await send(m)) for m in messages] + [shown(await close())]
            # per-connection: each close was the receipt; kept: close() awaited the receiver's close
            received.append([bytes(c) for c in rx.connections])
        return said

    said = both(script)
    assert said == [(True, "sent", False, None, 0, None, False)] * len(messages) + [None]
    threaded, looped = received
    assert looped == threaded
    if framing == "per-connection":
        assert looped == [m.json for m in messages]
    else:
        assert len(looped) == 1
        assert looped[0] == b"".join(m.json if framing == "newline" else m.json.rstrip(b"\n") for m in messages)


# -- failures -------------------------------------------------------------------------------------

@pytest.mark.parametrize("framing", FRAMINGS)
def test_refused(framing: str) -> None:
    message = batch()[0]

    async def script(looped: bool) -> list:
        with refusing_port() as port:
            t = transport(f"127.0.0.1:{port}", framing)
            send, close = drivers(t, looped)
            return [shown(await send(message)), shown(await close()), t.sock]

    assert both(script) == [(False, "refused", False, None, 0, None, False), None, None]


@contextmanager
def full_backlog() -> Iterator[str]:
    """A target whose listen queue is full: the kernel drops the SYNs, connects never complete."""
    with socket.create_server(("127.0.0.1", 0), backlog=0) as full:
        target = "127.0.0.1:%d" % full.getsockname()[1]
        fillers = [socket.socket() for _ in range(3)]
        try:
            for filler in fillers:
                filler.setblocking(False)
                filler.connect_ex(full.getsockname())
            yield target
        finally:
            for filler in fillers:
                filler.close()


@pytest.mark.parametrize("framing", ["per-connection", "newline"])
def test_a_connect_that_does_not_complete_times_out(framing: str) -> None:
    message = batch()[0]

    async def script(looped: bool) -> list:
        with full_backlog() as target:
            t = transport(target, framing, connect_timeout_ms=100)
            send, _ = drivers(t, looped)
            return [shown(await send(message)), t.sock]

    detail = "connect timeout" if framing == "per-connection" else "timeout"  # as the threaded send says
    assert both(script) == [(False, detail, False, None, 0, None, False), None]


def test_a_reset_per_connection_fails_the_attempt_then_the_next_is_sent() -> None:
    message = batch()[0]

    async def script(looped: bool) -> list:
        with OneReadTcpReceiver(short=1, few=10) as rx:
            send, _ = drivers(transport(rx.target), looped)
            said = [shown(await send(message)), shown(await send(message))]
            assert rx.connections == [message.json[:10], message.json]
        return said

    assert [s[:2] for s in both(script)] == [
        (False, "reset: the receiver closed before reading the whole event"), (True, "sent")]


@pytest.mark.parametrize("framing", ["newline", "none"])
@pytest.mark.parametrize("then", ["send", "close"])
def test_a_kept_connection_reset_with_unread_events_unconfirms_them(framing: str, then: str) -> None:
    """Two events written, the receiver reads the first and closes: both are unconfirmed, at
    the next send (which goes on a new connection) or at the close."""
    messages = batch()[:3]

    async def script(looped: bool) -> list:
        with ReadsFirst(len(messages[0].json) - (framing == "none")) as rx:
            t = transport(rx.target, framing)
            send, close = drivers(t, looped)
            said: list[Any] = [shown(await send(messages[0])), shown(await send(messages[1]))]
            await asyncio.to_thread(rx.cut.wait, 5)
            sock = t.sock
            assert sock is not None and t.written == 2
            wait_for(lambda: signalled(sock), 5, "no reset")
            if then == "send":
                said += [shown(await send(messages[2])), t.written]
            said.append(shown(await close()))
        return said

    said = both(script)
    assert said[:2] == [(True, "sent", False, None, 0, None, False)] * 2
    unconfirmed = ("the receiver reset the previous connection with unread data: up to 2 event(s) "
                   "written on it may not have been read")
    if then == "send":
        assert said[2:] == [(True, f"sent ({unconfirmed})", False, None, 2, None, False), 1, None]
    else:
        assert said[2:] == [(False, unconfirmed, False, None, 2, None, False)]


def test_a_receiver_that_never_closes_times_the_attempt_out() -> None:
    message = batch()[0]

    async def script(looped: bool) -> list:
        with OneReadTcpReceiver(hold=1) as rx:
            send, _ = drivers(transport(rx.target, timeout_ms=100), looped)
            return [shown(await send(message))]

    assert both(script) == [(False, "timeout: the receiver kept the connection open 0.1 s after the event",
                             False, None, 0, None, False)]


@pytest.mark.parametrize("framing", ["newline", "none"])
def test_a_receiver_that_never_reads_times_a_kept_connection_out(framing: str) -> None:
    small = batch()[0]
    big = Message(b"x" * (48 << 20), (), "big.json")  # more than loopback's buffers hold

    async def script(looped: bool) -> list:
        holder = Holder()  # accepts, never reads
        try:
            t = transport(holder.target, framing, timeout_ms=100)
            send, close = drivers(t, looped)
            return [shown(await send(small)), shown(await send(big)), t.sock, t.written, shown(await close())]
        finally:
            holder.close()

    unconfirmed = ("the receiver reset the previous connection with unread data: up to 1 event(s) "
                   "written on it may not have been read")
    assert both(script) == [(True, "sent", False, None, 0, None, False),
                            (False, f"timeout; {unconfirmed}", False, None, 1, None, False), None, 0, None]


# -- stops ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("framing", FRAMINGS)
def test_cancelling_a_send_closes_its_socket_and_raises(framing: str) -> None:
    # per-connection: waiting for the receiver's close; kept: in the middle of a big write
    message = batch()[0] if framing == "per-connection" else Message(b"x" * (48 << 20), (), "big.json")
    holder = Holder()
    try:
        t = transport(holder.target, framing)

        async def main() -> socket.socket:
            task = asyncio.ensure_future(aio_tcp.send(t, message))
            while t._busy is None or not holder.held:  # connected (and, kept, writing)
                await asyncio.sleep(0.01)
            sock = t._busy
            await asyncio.sleep(0)  # one turn of the loop: the send goes on waiting
            assert not task.done()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(task, 5)
            return sock

        sock = asyncio.run(main())
        assert sock.fileno() == -1  # closed
        assert t.sock is None and t.written == 0  # forgotten
        assert closed_by_peer(holder.held[0])
    finally:
        holder.close()


def test_cancelling_a_close_closes_the_kept_connection_and_raises() -> None:
    message = batch()[0]
    with OneReadTcpReceiver(hold=1) as rx:  # reads until ffsim's FIN, then never closes
        t = transport(rx.target, "newline")

        async def main() -> socket.socket:
            assert (await aio_tcp.send(t, message)).ok
            sock = t.sock
            assert sock is not None
            task = asyncio.ensure_future(aio_tcp.close(t))
            while not rx.held:  # the FIN came
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(task, 5)
            return sock

        sock = asyncio.run(main())
        assert sock.fileno() == -1 and t.sock is None and t.written == 0
        assert rx.connections == [message.json] and closed_by_peer(rx.held[0])


def test_abort_from_another_thread_cancels_the_send_in_progress() -> None:
    message = batch()[0]
    holder = Holder()
    try:
        t = transport(holder.target)

        async def main() -> Outcome:
            task = asyncio.ensure_future(aio_tcp.send(t, message))
            while not holder.held:
                await asyncio.sleep(0.01)
            await asyncio.to_thread(t.abort)
            return await asyncio.wait_for(task, 5)

        outcome = asyncio.run(main())
        assert outcome.cancelled and not outcome.ok
        assert asyncio.run(aio_tcp.send(t, message)).cancelled  # and every later one
    finally:
        holder.close()


# -- fleets ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("framing", ["per-connection", "newline"])
def test_200_cameras_at_once_on_one_loop(framing: str) -> None:
    message = batch()[0]
    with WideListener() as rx:
        transports = [transport(rx.target, framing) for _ in range(200)]

        async def camera(t: TcpTransport) -> tuple[Outcome, Outcome | None]:
            return await aio_tcp.send(t, message), await aio_tcp.close(t)

        async def main() -> list:
            return await asyncio.gather(*(camera(t) for t in transports))

        results = asyncio.run(main())
        connections = [bytes(c) for c in rx.connections]
    assert all(sent.ok and sent.detail == "sent" and closed is None for sent, closed in results)
    assert connections == [message.json] * 200


@contextmanager
def descriptors_past_1024() -> Iterator[None]:
    """1100 descriptors taken (the open files limit raised for it): new ones are past 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1300:
        pytest.skip(f"the open files limit is {hard}")
    wanted = max(soft, 1300) if hard == resource.RLIM_INFINITY else min(max(soft, 1300), hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    hog: list[int] = []
    try:
        hog.extend(os.open(os.devnull, os.O_RDONLY) for _ in range(1100))
        assert max(hog) >= 1024
        yield
    finally:
        for fd in hog:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_descriptors_past_1024_work() -> None:
    messages = batch()
    with descriptors_past_1024(), TcpListener() as rx, OneReadTcpReceiver(first_event_only=True) as cutter:
        async def main() -> list:
            said: list[Outcome | None] = []
            for framing in FRAMINGS:
                t = transport(rx.target, framing)
                said += [await aio_tcp.send(t, m) for m in messages[:3]]
                if t.sock is not None:
                    assert t.sock.fileno() >= 1024
                said.append(await aio_tcp.close(t))
            # a receiver's close seen on a kept connection past 1024 (the check before each write)
            t = transport(cutter.target, "newline")
            first = await aio_tcp.send(t, messages[0])
            sock = t.sock
            assert sock is not None and sock.fileno() >= 1024
            await asyncio.to_thread(wait_for, lambda: cutter.connections, 5)
            await asyncio.to_thread(wait_for, lambda: signalled(sock), 5)
            said += [first, await aio_tcp.send(t, messages[1])]
            await aio_tcp.close(t)
            return said

        said = asyncio.run(main())
        data = [bytes(c) for c in rx.connections]
    per_connection, newline, none = said[0:4], said[4:8], said[8:12]
    for group in (per_connection, newline, none):
        assert [o.detail for o in group[:3]] == ["sent"] * 3 and group[3] is None
    # the receiver read the one event it was sent and closed: the next goes on a new connection
    assert [shown(o) for o in said[12:]] == [(True, "sent", False, None, 0, None, False)] * 2
    assert cutter.connections == [messages[0].json, messages[1].json]
    assert data == [m.json for m in messages[:3]] + [b"".join(m.json for m in messages[:3]),
                                                    b"".join(m.json.rstrip(b"\n") for m in messages[:3])]
