"""Many HTTP transports on one asyncio loop: libcurl's multi interface driven by socket_action.

The driver for fleets (issue 10): instead of a thread blocked in each transport's own
transfer, one loop watches every libcurl socket (M_SOCKETFUNCTION -> add_reader/add_writer)
and libcurl's one timer (M_TIMERFUNCTION -> call_later), and each send is a coroutine that
awaits its transfer. The handles are the transports' own, set up by the same
``HttpTransport.prepare``, so the bytes on the wire are those of ``ffsim run`` (tested);
handles in one multi share its connection cache, as each transport's did.

socket_action rather than perform/select: select() cannot watch descriptors from 1024 on,
which a fleet passes (design/load-research.md: 200 and 1000 concurrent handles work, as
do descriptors past 1024).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pycurl

from . import Message, Outcome
from .http import ABORTED, HttpTransport

UPLOAD_BUFFER = 16 * 1024  # libcurl's minimum CURLOPT_UPLOAD_BUFFERSIZE


def socket_action(multi: pycurl.CurlMulti, fd: int, event: int, finish: Callable[[pycurl.Curl, Any], None]) -> None:
    """Let libcurl act on a descriptor that is ready (or on its timer: SOCKET_TIMEOUT, 0), then
    hand every finished transfer to finish(handle, None | (code, text)). One implementation for
    the drivers of every event loop (asyncio here, gevent in load.gevent_curl)."""
    while True:
        status, _ = multi.socket_action(fd, event)
        if status != pycurl.E_CALL_MULTI_PERFORM:
            break
    while True:
        queued, done, failed = multi.info_read()
        for handle in done:
            finish(handle, None)
        for handle, code, text in failed:
            finish(handle, (code, text or ""))
        if not queued:
            break


class AsyncCurl:
    """A libcurl multi handle on the running asyncio loop; create it inside that loop."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.multi = pycurl.CurlMulti()
        self.multi.setopt(pycurl.M_SOCKETFUNCTION, self._on_socket)
        self.multi.setopt(pycurl.M_TIMERFUNCTION, self._on_timer)
        self._timer: asyncio.TimerHandle | None = None  # the loop's timer for libcurl's, at _timer_at
        self._timer_at = 0.0
        self._deadline: float | None = None  # when libcurl wants to be called (loop time); None: never
        self._soon = False  # a call on the next loop iteration is pending (libcurl asked for 0 ms)
        self._watch: dict[int, int] = {}  # descriptor -> what libcurl waits for (POLL_IN | POLL_OUT)
        self._waiting: dict[pycurl.Curl, asyncio.Future] = {}
        self._sized: set[pycurl.Curl] = set()  # handles whose upload buffer is set
        self._closed = False

    # -- libcurl's callbacks: what to watch, and when to call it back -------------------------
    def _on_socket(self, what: int, fd: int, multi, data) -> None:
        before = self._watch.get(fd, 0)
        if what == pycurl.POLL_REMOVE:
            what = 0
            self._watch.pop(fd, None)
        else:
            self._watch[fd] = what
        wants_in, wants_out = bool(what & pycurl.POLL_IN), bool(what & pycurl.POLL_OUT)
        if wants_in != bool(before & pycurl.POLL_IN):
            if wants_in:
                self.loop.add_reader(fd, self._act, fd, pycurl.CSELECT_IN)
            else:
                self.loop.remove_reader(fd)
        if wants_out != bool(before & pycurl.POLL_OUT):
            if wants_out:
                self.loop.add_writer(fd, self._act, fd, pycurl.CSELECT_OUT)
            else:
                self.loop.remove_writer(fd)

    # libcurl asks for a timer at 0 ms per transfer added, and moves its timeout of seconds at
    # every transfer's end: a timer cancelled and re-created each time weighs on the loop's
    # heap. A 0 ms wish is one call on the next iteration (however many transfers asked), and
    # the one loop timer only ever moves earlier: when it fires before libcurl's deadline,
    # which has moved later since, it re-arms itself for that deadline.
    def _on_timer(self, ms: int) -> None:
        if ms < 0:
            self._deadline = None  # a timer armed finds no deadline and does nothing
            return
        now = self.loop.time()
        self._deadline = now + ms / 1000
        if ms == 0:
            if not self._soon:
                self._soon = True
                self.loop.call_soon(self._fire)
        elif self._timer is None or self._timer_at > self._deadline:
            self._arm(self._deadline)

    def _arm(self, at: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = at
        self._timer = self.loop.call_at(at, self._on_timer_handle)

    def _on_timer_handle(self) -> None:
        self._timer = None
        self._fire()

    def _fire(self) -> None:
        self._soon = False
        deadline = self._deadline
        if deadline is None or self._closed:
            return
        if deadline > self.loop.time():  # armed for an earlier deadline, which has moved later since
            if self._timer is None:
                self._arm(deadline)
            return
        self._deadline = None
        self._act(pycurl.SOCKET_TIMEOUT, 0)

    def _act(self, fd: int, event: int) -> None:
        if self._closed:
            return
        socket_action(self.multi, fd, event, self._finish)

    def _finish(self, handle: pycurl.Curl, failure) -> None:
        self.multi.remove_handle(handle)
        future = self._waiting.pop(handle, None)
        if future is not None and not future.done():
            future.set_result(failure)

    # -- sending ---------------------------------------------------------------------------
    async def send(self, transport: HttpTransport, message: Message) -> Outcome:
        """One transfer of transport's handle on this loop. Cancelling the task aborts the
        transfer (the handle is taken off the multi, its connection closed) and the
        cancellation goes on to the caller; close() instead ends it with a cancelled outcome."""
        cancelled = transport.prepare(message)
        if cancelled is not None:
            return cancelled
        handle = transport.curl
        if handle not in self._sized:
            # a fleet keeps a handle per camera: libcurl's upload buffer, allocated per handle at
            # its first upload (64 KB by default), at its minimum (16 KB) saves some 47 MB a
            # thousand cameras; the bytes on the wire are the same
            handle.setopt(pycurl.UPLOAD_BUFFERSIZE, UPLOAD_BUFFER)
            self._sized.add(handle)
        future = self.loop.create_future()
        self._waiting[handle] = future
        self.multi.add_handle(handle)  # libcurl asks for a timer at once: the transfer starts on the loop
        try:
            failure = await future
        except asyncio.CancelledError:
            if self._waiting.pop(handle, None) is not None:
                self.multi.remove_handle(handle)  # aborts the transfer, closes its connection
            raise
        return transport.outcome(failure)

    def close(self) -> None:
        """Abort what is in flight and release the multi handle (the transports close their own).
        Safe twice."""
        if self._closed:
            return
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        self._deadline = None
        for fd in list(self._watch):
            self.loop.remove_reader(fd)
            self.loop.remove_writer(fd)
        self._watch.clear()
        for handle, future in list(self._waiting.items()):
            self.multi.remove_handle(handle)
            if not future.done():
                future.set_result(ABORTED)
        self._waiting.clear()
        self._sized.clear()
        self.multi.close()
