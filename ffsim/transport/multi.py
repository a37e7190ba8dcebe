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

import pycurl

from . import Message, Outcome
from .http import ABORTED, HttpTransport


class AsyncCurl:
    """A libcurl multi handle on the running asyncio loop; create it inside that loop."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.multi = pycurl.CurlMulti()
        self.multi.setopt(pycurl.M_SOCKETFUNCTION, self._on_socket)
        self.multi.setopt(pycurl.M_TIMERFUNCTION, self._on_timer)
        self._timer: asyncio.TimerHandle | None = None
        self._watch: dict[int, int] = {}  # descriptor -> what libcurl waits for (POLL_IN | POLL_OUT)
        self._waiting: dict[pycurl.Curl, asyncio.Future] = {}
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

    def _on_timer(self, ms: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if ms >= 0:
            self._timer = self.loop.call_later(ms / 1000, self._act, pycurl.SOCKET_TIMEOUT, 0)

    def _act(self, fd: int, event: int) -> None:
        if self._closed:
            return
        while True:
            status, _ = self.multi.socket_action(fd, event)
            if status != pycurl.E_CALL_MULTI_PERFORM:
                break
        while True:
            queued, done, failed = self.multi.info_read()
            for handle in done:
                self._finish(handle, None)
            for handle, code, text in failed:
                self._finish(handle, (code, text or ""))
            if not queued:
                break

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
        for fd in list(self._watch):
            self.loop.remove_reader(fd)
            self.loop.remove_writer(fd)
        self._watch.clear()
        for handle, future in list(self._waiting.items()):
            self.multi.remove_handle(handle)
            if not future.done():
                future.set_result(ABORTED)
        self._waiting.clear()
        self.multi.close()
