"""Many HTTP transports on gevent's hub: libcurl's multi interface driven by socket_action.

The Locust extra's driver (issue 10): Locust runs on gevent, where a blocking libcurl call
(``perform()``, ``CurlMulti.select()``) would stop every greenlet of the worker, because
monkey-patching does not reach libcurl's own sockets. Here, as in ``transport.multi`` for
asyncio, libcurl tells which descriptors to watch (M_SOCKETFUNCTION -> a libev ``io``
watcher of the hub's loop) and when to call it back (M_TIMERFUNCTION -> a ``timer``
watcher); ``send`` blocks only the calling greenlet until its transfer completes.

The handles are the transports' own, set up by the same ``HttpTransport.prepare`` and read
by the same ``HttpTransport.outcome``, so the bytes on the wire and the outcomes are those of
``ffsim run`` and ``ffsim load``. socket_action, unlike select(), has no limit at descriptor
1024 (design/load-research.md).

Importing this module imports gevent but does not monkey-patch anything.
"""

from __future__ import annotations

from typing import Any

import gevent  # type: ignore[import-untyped]
import pycurl
from gevent.hub import Waiter  # type: ignore[import-untyped]

from ..transport import Message, Outcome
from ..transport.http import ABORTED, HttpTransport
from ..transport.multi import socket_action

# libev's READ / WRITE bits are libcurl's POLL_IN / POLL_OUT, and CSELECT_IN / CSELECT_OUT
_MASK = pycurl.POLL_IN | pycurl.POLL_OUT
assert pycurl.POLL_IN == pycurl.CSELECT_IN == 1 and pycurl.POLL_OUT == pycurl.CSELECT_OUT == 2


class GeventCurl:
    """A libcurl multi handle on the current thread's gevent hub. Use it from greenlets of
    that hub only (libcurl's multi handle is not thread-safe; the hub's callbacks run it)."""

    def __init__(self, max_connections: int = 16) -> None:
        self.loop: Any = gevent.get_hub().loop
        self.multi = pycurl.CurlMulti()
        self.multi.setopt(pycurl.M_SOCKETFUNCTION, self._on_socket)
        self.multi.setopt(pycurl.M_TIMERFUNCTION, self._on_timer)
        self._max_connections = 0
        self.reserve(max_connections)
        self._timer: Any = None
        self._watch: dict[int, tuple[Any, int]] = {}  # descriptor -> (its io watcher, what it waits for)
        self._waiting: dict[pycurl.Curl, Waiter] = {}
        self._closed = False

    def reserve(self, connections: int) -> None:
        """Keep at least this many connections alive (one per lane: each camera's profile keeps
        its own, as its libcurl does); below it the multi's cache would close them."""
        if connections > self._max_connections:
            self._max_connections = connections
            self.multi.setopt(pycurl.M_MAXCONNECTS, connections)

    # -- libcurl's callbacks (inside add_handle / socket_action): what to watch, and when ------------
    def _on_socket(self, what: int, fd: int, multi: Any, data: Any) -> None:
        mask = 0 if what == pycurl.POLL_REMOVE else what & _MASK
        old = self._watch.get(fd)
        if old is not None:
            if old[1] == mask:
                return
            old[0].stop()
            old[0].close()
            del self._watch[fd]
        if mask:
            watcher = self.loop.io(fd, mask)
            watcher.start(self._on_ready, fd, pass_events=True)
            self._watch[fd] = (watcher, mask)

    def _on_timer(self, ms: int) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer.close()
            self._timer = None
        if ms >= 0:
            self._timer = self.loop.timer(ms / 1000)
            self._timer.start(self._act, pycurl.SOCKET_TIMEOUT, 0)

    # -- the hub's callbacks ---------------------------------------------------------------------
    def _on_ready(self, events: int, fd: int) -> None:
        self._act(fd, events & _MASK)

    def _act(self, fd: int, event: int) -> None:
        if self._closed:
            return
        socket_action(self.multi, fd, event, self._finish)

    def _finish(self, handle: pycurl.Curl, failure: Any) -> None:
        self.multi.remove_handle(handle)
        waiter = self._waiting.pop(handle, None)
        if waiter is not None:
            # from the hub, Waiter.switch switches to the sending greenlet at once: it runs until it
            # blocks again, then the hub resumes here, within socket_action
            waiter.switch(failure)

    # -- sending ---------------------------------------------------------------------------------
    def send(self, transport: HttpTransport, message: Message) -> Outcome:
        """One transfer of transport's handle; blocks the calling greenlet only. Killing the
        greenlet (GreenletExit, a gevent.Timeout) aborts the transfer (the handle is taken off
        the multi, its connection closed) and the exception goes on; close() instead ends it
        with a cancelled outcome."""
        if self._closed:
            return transport.outcome(ABORTED)
        cancelled = transport.prepare(message)
        if cancelled is not None:
            return cancelled
        handle = transport.curl
        waiter = Waiter()
        self._waiting[handle] = waiter
        self.multi.add_handle(handle)  # libcurl asks for a timer at once: the transfer starts on the hub
        try:
            failure = waiter.get()
        except BaseException:
            if self._waiting.pop(handle, None) is not None:
                self.multi.remove_handle(handle)  # aborts the transfer, closes its connection
            raise
        return transport.outcome(failure)

    @property
    def in_flight(self) -> int:
        return len(self._waiting)

    def close(self) -> None:
        """Abort what is in flight (its senders get a cancelled outcome) and release the multi
        handle (the transports close their own). Safe twice."""
        if self._closed:
            return
        self._closed = True
        if self._timer is not None:
            self._timer.stop()
            self._timer.close()
            self._timer = None
        for watcher, _ in self._watch.values():
            watcher.stop()
            watcher.close()
        self._watch.clear()
        waiting, self._waiting = self._waiting, {}
        for handle, waiter in waiting.items():
            self.multi.remove_handle(handle)
            self.loop.run_callback(waiter.switch, ABORTED)
        self.multi.close()
