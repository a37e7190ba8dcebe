"""A load run: a fleet of cameras on one asyncio loop (``ffsim load``).

No thread per camera: one loop drives libcurl's multi interface (``transport.multi``:
socket_action on the loop's epoll) and TCP (``transport.aio_tcp``) for every camera. Each
camera keeps the camera's semantics (``load.camera``): per profile one event at a time, in
order, its own buffer, retry policy and counters. The tasks:

* a producer per camera takes its packets in order and hands each to its lane when due
  (speed 1 or N: at its time, through the one pacer, which measures how late the hand-over
  was; speed max: as soon as the lane has fewer than ``lookahead`` events waiting, so that
  memory stays bounded and the receiver sets the pace). A packet's CPU-bound work (its
  payload text and images) is done before it waits for its time, not when it is due;
* a sender per lane puts the head of its queue on the wire and reports the outcome to
  the queue (the sans-I/O policy decides on retries, rejections and drops);
* a ticker closes the per-second intervals of the measurements (``load.stats``) and
  publishes a snapshot for the live view (read from any thread).

``stop()`` (any thread) ends the run within a fraction of a second: producers stop, the
sends in flight are aborted and their events stay buffered. Every event the fleet's
scenarios generate up to the end is accounted for: delivered, rejected, dropped, still
buffered, or never handed over (a stopped run).

With no target anywhere, ffsim's own receiver receives (as ``ffsim run`` does) and the
summary compares what was delivered with what it stored and validated (``end_to_end``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pycurl

from ..options import duration_us, parse_speed, start_time
from ..runner import embedded_needed, fill_targets
from ..scenario.fleet import Fleet
from ..scenario.model import Profile
from ..transport import Outcome, TargetError
from ..transport import aio_tcp
from ..transport.http import HttpTransport, check_http_target
from ..transport.multi import AsyncCurl
from ..transport.pacer import Pacer, wall
from ..transport.policy import Item, Reports
from ..transport.tcp import TcpTransport, check_tcp_target
from .camera import Lane, LoadCamera, attempt_kind
from .recorded import Recording, RecordedCamera
from .stats import LoadStats
from .verify import StoreCheck, payload_key

LOOKAHEAD = 2  # speed max: events waiting in a lane beyond which its producer waits
TICK_S = 0.25  # the ticker: measurements' intervals closed, live snapshot published
DRAW_AHEAD_S = 1.0  # speed 1 or N: a packet's images are drawn this long (wall time) before it is due
COUNT_BUDGET_S = 0.5  # a stopped run: how long counting what was never handed over may take
RAW_SENDERS = 32  # threads writing recorded raw requests (a capture replayed as a fleet)
SPARE_DESCRIPTORS = 128  # open files beside the connections: outputs, the loop, libraries
RECEIPT_WAIT_S = 10.0  # the built-in receiver: how long to wait for it to store what was delivered


@dataclass
class LoadSummary:
    fleet: str
    cameras: int
    groups: dict[str, int]  # group -> cameras
    speed: float | None
    duration_s: float  # wall seconds from the start to the end of the run
    totals: dict[str, Any]  # LoadStats.totals()
    handed: int  # events handed to the cameras' lanes
    not_sent: int | None  # events never handed over (a stopped run); None: unknown
    buffered: int  # events still in the lanes at the end
    unconfirmed: int  # events sent on kept TCP connections the receiver reset
    interrupted: bool  # stopped (stop(), Ctrl-C)
    fatal: list[str] = field(default_factory=list)  # lanes that stopped on a fatal outcome
    # delivered vs stored: the built-in receiver's, or an `ffsim receive --out DIR`'s (verify=)
    end_to_end: dict[str, Any] | None = None
    lateness: dict[str, Any] = field(default_factory=dict)  # hand-over lateness (pacer.Lateness)
    thresholds: list[dict[str, Any]] = field(default_factory=list)  # filled by the caller

    @property
    def total(self) -> dict[str, Any]:
        return self.totals["total"]

    @property
    def accounted(self) -> bool:
        """Every event handed over is delivered, rejected, dropped or still buffered."""
        t = self.total
        return t["delivered"] + t["rejected"] + t["dropped"] + self.buffered == self.handed

    @property
    def delivered_all(self) -> bool:
        """Everything delivered and (with the built-in receiver) stored exactly once, valid."""
        t = self.total
        e2e = self.end_to_end
        return (not self.interrupted and not self.fatal and self.not_sent == 0 and self.buffered == 0
                and t["rejected"] == 0 and t["dropped"] == 0 and self.unconfirmed == 0
                and (e2e is None or (e2e["lost"] == 0 and e2e["duplicates"] == 0
                                     and e2e["violations"] <= e2e.get("planned_faults", 0))))

    @property
    def ok(self) -> bool:
        """The verdict (`ffsim load`'s exit 0): with thresholds, every one holds; without, every
        event was delivered (delivered_all). Never after a stop or a fatal outcome."""
        if self.interrupted or self.fatal:
            return False
        if self.thresholds:
            return all(t["ok"] for t in self.thresholds)
        return self.delivered_all

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["delivered_all"] = self.delivered_all
        out["ok"] = self.ok
        return out

    def as_json(self) -> str:
        return json.dumps(self.as_dict())


class LoadRun:
    """A fleet of cameras against its targets, on one asyncio loop in the calling thread (play)."""

    def __init__(self, fleet: Fleet | Recording, *, http: str | None = None, tcp: str | None = None,
                 speed: float | int | str | None = "max", until: float | int | str | None = None,
                 start: str | int | None = None, drain: float | int | str = 60.0, receiver: Any = None,
                 backoff: tuple[float, float] = (0.1, 5.0), lookahead: int = LOOKAHEAD,
                 on_attempt: Callable[[Lane, Item, Outcome], None] | None = None,
                 verify: str | os.PathLike[str] | None = None) -> None:
        """http / tcp: every camera's profiles send there (as `ffsim run --http/--tcp`), over the
        fleet's targets and the scenarios' own; with no target anywhere, a built-in receiver
        receives (or the Receiver given as receiver=). until: the end of the load (virtual
        time), over the fleet's duration. verify: the --out folder of an `ffsim receive` that
        receives the load (in another process): the summary compares delivered with what it
        stored (end_to_end), as with the built-in receiver. fleet may be a Recording
        (load.recorded): recorded traffic of one camera, re-keyed per camera. Raises ValueError,
        TypeError or TargetError before anything is sent."""
        if not isinstance(fleet, (Fleet, Recording)):
            raise TypeError(f"LoadRun plays a Fleet (load_fleet(path), fleet_from_scenario(scenario, cameras=N)) or a "
                            f"Recording (load_recording(path, cameras=N)), not {type(fleet).__name__}")
        if http and tcp:
            raise ValueError("give http or tcp, not both")
        if lookahead < 1:
            raise ValueError("lookahead must be at least 1")
        self._closed = False
        self.lanes: list[Lane] = []
        self._store_check: StoreCheck | None = None
        self.fleet = fleet
        self.speed = parse_speed(speed)
        self.until_us = duration_us(until, "until")
        if self.until_us is None:
            self.until_us = fleet.duration_us
        self.drain_s = (duration_us(drain, "drain") or 0) / 1e6
        self.backoff = backoff
        self.lookahead = lookahead
        self.on_attempt = on_attempt
        self.name = fleet.name
        self.receiver = receiver
        self._own_receiver = False
        self._stored: set[int] = set()
        self._stored_records = 0
        self._stored_lock = threading.Lock()
        self.cameras: list[LoadCamera | RecordedCamera] = []
        if isinstance(fleet, Recording):
            self._recorded(fleet, http, tcp, start)
        else:
            self._scenarios(fleet, http, tcp, start)
        if verify is not None:
            if self.embedded:
                self.close()
                raise ValueError("verify= checks a receiver in another process; with no target the built-in "
                                 "receiver is checked already")
            try:
                self._store_check = StoreCheck(verify)
            except ValueError:
                self.close()
                raise
        self.camera_count = len(self.cameras)
        self.group_sizes: dict[str, int] = {}
        for cam in self.cameras:
            self.group_sizes[cam.group] = self.group_sizes.get(cam.group, 0) + 1
        self.lanes = [lane for cam in self.cameras for lane in cam.lanes.values()]
        try:
            # a connection per lane (and, with the built-in receiver, its other end here too)
            ensure_descriptors(len(self.lanes) * (2 if self.embedded else 1) + SPARE_DESCRIPTORS)
        except BaseException:
            self.close()
            raise
        self.stats = LoadStats(fleet.groups())
        self.pacer = Pacer(self.speed)
        self.interrupted = False
        self.summary: LoadSummary | None = None
        self.receiver_summary: dict[str, Any] | None = None  # the built-in receiver's, at the end
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._stop_requested = False
        self._fatal_stop = False  # a fatal outcome (bad URL, certificate refused) ended the load
        self._busy: set[Lane] = set()  # lanes with events queued
        self._producing = 0
        self._all_idle: asyncio.Event | None = None
        self._counts = dict.fromkeys(("attempts", "delivered", "failed", "retried", "rejected", "dropped",
                                      "connection_errors"), 0)
        self._active = 0  # cameras whose producer has started and not finished
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self.error: BaseException | None = None
        self.snapshot: dict[str, Any] = self._snapshot(0.0)

    def _start_receiver(self, lost_timeout_s: float = 5.0) -> None:
        if self.receiver is None:
            from ..receiver.server import Receiver

            self.receiver = Receiver(http="127.0.0.1:0", tcp="127.0.0.1:0", speed=self.speed,
                                     lost_timeout_s=lost_timeout_s, on_record=self._on_record,
                                     max_records=1000).start()
            self._own_receiver = True

    def _recorded(self, recording: Recording, http: str | None, tcp: str | None, start: str | int | None) -> None:
        kinds = recording.kinds
        self.embedded = not (http or tcp)
        if self.embedded:
            self._start_receiver()
            http, tcp = self.receiver.http_url + "listener.php", self.receiver.tcp_address
        elif "raw-http" in kinds and not http:
            raise TargetError("this capture holds HTTP requests: give --http URL")
        elif "raw-tcp" in kinds and not tcp:
            raise TargetError("this capture holds TCP traffic: give --tcp HOST:PORT")
        if self.until_us is None:
            self.until_us = recording.duration_us
        try:
            if isinstance(start, int):
                epoch_ms = start // 1000
            elif start is not None:
                from ..units import parse_start

                epoch_ms = parse_start(start) // 1000
            else:
                epoch_ms = time.time_ns() // 1_000_000
            checked: set[tuple[str, str]] = set()
            for index in range(recording.cameras):
                camera = RecordedCamera(recording, index, epoch_ms, self.until_us, functools.partial(
                    self._transport, device_id=recording.device_id.format(n=index + 1, i=index, group=recording.name),
                    checked=checked), self.backoff, http, tcp)
                self.cameras.append(camera)
            for url, check in ((http, check_http_target), (tcp, check_tcp_target)):
                if url:
                    check(url)
        except BaseException:
            self._close_receiver()
            raise

    def _scenarios(self, fleet: Fleet, http: str | None, tcp: str | None, start: str | int | None) -> None:
        backoff = self.backoff
        scenarios = []
        for fc in fleet.cameras:
            if http or tcp:
                scenarios.append(fc.scenario.retargeted(http, tcp))
            else:
                scenarios.append(fc.sending_scenario())
        if self.until_us is None:
            endless = [fc for fc, s in zip(fleet.cameras, scenarios)
                       if any(f.until_us is None for f in s.traffic)]
            if endless:
                raise ValueError(f"camera {endless[0].device_id}'s scenario has a traffic flow without `until`: "
                                 "give the load an end (--until, or duration: in the fleet file)")
        self.embedded = all(embedded_needed(s) for s in scenarios)
        if self.embedded:
            self._start_receiver(scenarios[0].recognition.lost_timeout_us / 1e6)
            scenarios = [fill_targets(s, self.receiver.http_url + "listener.php", self.receiver.tcp_address)
                         for s in scenarios]
        try:
            now_us = time.time_ns() // 1000  # the payloads' t=0 when neither --start nor the scenario says
            checked: set[tuple[str, str]] = set()
            for fc, scenario in zip(fleet.cameras, scenarios):
                epoch = start_time(scenario, start) if (start is not None or scenario.start_us is not None) else now_us
                self.cameras.append(LoadCamera(fc, scenario, epoch, self.until_us,
                                               functools.partial(self._transport, device_id=fc.device_id,
                                                                 checked=checked), backoff))
        except BaseException:
            self._close_receiver()
            raise

    # -- set-up ----------------------------------------------------------------------------------
    def _transport(self, profile: Profile, device_id: str, checked: set[tuple[str, str]]) -> Any:
        if profile.url is None:
            raise TargetError(f"camera {device_id}: profile {profile.id} has no target: give --http URL or "
                              "--tcp HOST:PORT, targets: in the fleet file, or a url in the profile")
        key = (profile.protocol, profile.url)
        if key not in checked:  # each distinct target once (a host name resolves once, not per camera)
            (check_http_target if profile.protocol == "http" else check_tcp_target)(profile.url)
            checked.add(key)
        if profile.protocol == "http":
            return HttpTransport(profile, profile.url)
        return TcpTransport(profile, profile.url)

    def _on_record(self, record: Any) -> None:
        """The built-in receiver's worker: one packet stored (or refused)."""
        if record.payload is None or (record.status is not None and not 200 <= record.status < 300):
            return
        key = payload_key(record.payload)
        with self._stored_lock:
            self._stored_records += 1
            self._stored.add(key)

    # -- the run ---------------------------------------------------------------------------------
    def play(self) -> LoadSummary:
        """Run to the end (or a stop) in the calling thread; the summary."""
        if self.summary is not None or self._closed:
            raise RuntimeError("a LoadRun plays once: make another")
        try:
            asyncio.run(self._main())
            self.summary = self._summarise()
        finally:
            self.close()
        return self.summary

    def start(self) -> LoadRun:
        """play() in a thread of its own; returns at once (then wait() or stop())."""
        if self._thread is not None or self.summary is not None or self._closed:
            raise RuntimeError("a LoadRun plays once: make another")
        self._thread = threading.Thread(target=self._play_in_thread, name="ffsim-load", daemon=True)
        self._thread.start()
        return self

    def _play_in_thread(self) -> None:
        try:
            self.play()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller by wait()
            self.error = exc
        finally:
            self._done.set()

    def wait(self, timeout: float | None = None) -> LoadSummary | None:
        """After start(): the summary, or None when timeout seconds pass first; raises what
        ended the run's thread."""
        if self._thread is None:
            raise RuntimeError("start() the run first (or call play())")
        if not self._done.wait(timeout):
            return None
        self._thread.join()
        if self.error is not None:
            raise self.error
        return self.summary

    def stop(self) -> None:
        """From any thread: the run ends within a fraction of a second, its sends aborted."""
        self._stop_requested = True
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            try:
                loop.call_soon_threadsafe(stopping.set)
            except RuntimeError:
                pass  # the loop has ended

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._all_idle = asyncio.Event()
        if self._stop_requested:
            self._stopping.set()
        self._curl = AsyncCurl()
        # recorded raw requests are written by the standard library, blocking: a bounded pool
        blocking = sum(1 for lane in self.lanes if not isinstance(lane.transport, (HttpTransport, TcpTransport)))
        self._senders = ThreadPoolExecutor(max(1, min(RAW_SENDERS, blocking)), thread_name_prefix="ffsim-raw")
        # every lane keeps its connection alive, as each camera's libcurl does
        self._curl.multi.setopt(pycurl.M_MAXCONNECTS, max(16, len(self.lanes)))
        for lane in self.lanes:
            lane.driver = _LaneSignals()
        self.pacer.start()
        senders = [asyncio.create_task(self._send_loop(lane)) for lane in self.lanes]
        self._producing = len(self.cameras)
        producers = [asyncio.create_task(self._produce(cam)) for cam in self.cameras]
        ticker = asyncio.create_task(self._ticker())
        stop_wait = asyncio.create_task(self._stopping.wait())
        produced = asyncio.gather(*producers)
        first: list[asyncio.Future[Any]] = [produced, stop_wait]
        try:
            await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
            if not self._stopping.is_set():
                produced.result()  # a producer's own error goes to the caller
                drained = asyncio.create_task(self._all_idle.wait())
                if self._busy:
                    await asyncio.wait([drained, stop_wait], timeout=self.drain_s,
                                       return_when=asyncio.FIRST_COMPLETED)
                drained.cancel()
            self.interrupted = self._stopping.is_set() and not self._fatal_stop
        finally:
            for task in producers + senders + [ticker, stop_wait]:
                task.cancel()
            await asyncio.gather(*producers, *senders, ticker, stop_wait, return_exceptions=True)
            if produced.done() and not produced.cancelled():
                produced.exception()  # retrieved: a stop's cancellation is no error to log
            if not self._stopping.is_set():
                # kept TCP connections: a FIN, and the receiver's close confirms what was written
                kept = [lane for lane in self.lanes if lane.kept_connection and lane.transport.sock is not None]
                closing = [asyncio.create_task(aio_tcp.close(lane.transport)) for lane in kept]
                for lane, outcome in zip(kept, await asyncio.gather(*closing, return_exceptions=True)):
                    if isinstance(outcome, Outcome):
                        lane.queue.counters.unconfirmed += outcome.unconfirmed
            self.interrupted = self._stopping.is_set() and not self._fatal_stop
            self._tick()
            self.stats.finish(self.pacer.elapsed())
            self._curl.close()
            self._senders.shutdown(wait=True, cancel_futures=True)

    async def _produce(self, cam: LoadCamera | RecordedCamera) -> None:
        pacer, stats, group = self.pacer, self.stats, cam.group
        started = False
        try:
            if cam.join_s > 0:  # the ramp: in wall time at speed max, else in virtual time
                await pacer.sleep_until_wall(cam.join_s / (self.speed or 1.0))
            self._active += 1
            started = True
            patience = _Patience()
            while (taken := cam.next()) is not None:
                moment, lane, item = taken
                if item.message.attachments:
                    if self.speed is not None:
                        # drawn shortly before its time, not as soon as the previous packet is
                        # handed over (that can be minutes ahead): a fleet holds fewer images
                        await pacer.sleep_until_wall(moment / self.speed - DRAW_AHEAD_S)
                    # images are CPU work: drawn now, before the packet is due (not when the
                    # send is). In the loop's own thread: worker threads were measured slower at
                    # every speed (they fight the loop for the GIL: 300 gate cameras at about
                    # 1,000 events/s, lateness p99 269 ms in two threads, 162 ms here)
                    _draw(item.message.attachments)
                if self.speed is None:
                    await self._room(cam, lane, patience)
                else:
                    late = await pacer.sleep_until(moment)
                    if late is not None:
                        stats.record_lateness(group, pacer.elapsed(), late)
                reports = lane.offer(item)
                if reports:
                    self._record_drops(lane, reports)
                self._busy.add(lane)
                lane.driver.wake.set()
        finally:
            if started:
                self._active -= 1
            self._producing -= 1
            self._check_idle()

    async def _room(self, cam: LoadCamera | RecordedCamera, lane: Lane, patience: _Patience) -> None:
        """Speed max: wait until the lane has fewer than lookahead events waiting. A camera whose
        lane has not moved for the drain time sends to a receiver that is down: then, like the
        camera, its lanes buffer up to their capacity and drop their oldest events, without
        waiting again until one of them delivers. So a load against a receiver that never
        answers ends about twice the drain time after its start (this wait, then the drain)."""
        queue, signals = lane.queue, lane.driver
        if len(queue) < self.lookahead:
            return
        if not patience.patient:
            if _sent(cam) == patience.sent_when_given_up:
                return
            patience.patient = True  # it delivers again
        while len(queue) >= self.lookahead and queue.fatal is None:
            signals.room.clear()
            try:
                async with asyncio.timeout(self.drain_s):  # wait_for would wrap each wait in a task
                    await signals.room.wait()
            except TimeoutError:
                patience.patient = False
                patience.sent_when_given_up = _sent(cam)
                return

    async def _send_loop(self, lane: Lane) -> None:
        queue, signals = lane.queue, lane.driver
        transport = lane.transport
        mode = "curl" if isinstance(transport, HttpTransport) else "tcp" if isinstance(transport, TcpTransport) \
            else "blocking"  # a recorded raw request: the standard library's, in a worker thread
        loop = asyncio.get_running_loop()
        while True:
            now = wall()
            item = queue.next_send(now)
            if item is None:
                if queue.fatal is not None:
                    # a target that cannot work (malformed, certificate refused): as `ffsim run`
                    # does, the load ends (every camera shares the fleet's targets)
                    self._fatal_stop = True
                    if self._stopping is not None:
                        self._stopping.set()
                    self._idle(lane)
                    return
                due = queue.wake_at()
                signals.wake.clear()
                if due is None:
                    self._idle(lane)
                    await signals.wake.wait()
                else:
                    try:
                        await asyncio.wait_for(signals.wake.wait(), max(0.0, due - now))
                    except TimeoutError:
                        pass
                continue
            started = wall()
            message = item.message_for_attempt()
            try:
                if mode == "curl":
                    outcome = await self._curl.send(transport, message)
                elif mode == "tcp":
                    outcome = await aio_tcp.send(transport, message)
                else:
                    outcome = await asyncio.shield(loop.run_in_executor(self._senders, transport.send, message))
            except asyncio.CancelledError:
                if mode == "blocking":
                    transport.abort()  # the worker thread's send ends within a slice
                queue.on_cancel()  # a stop: the event stays buffered, uncounted
                raise
            except Exception as exc:  # noqa: BLE001 - a dead sender would leave the run waiting for its drain
                outcome = Outcome(False, f"internal error: {exc!r}", fatal=True)
            if outcome.cancelled:
                queue.on_cancel()
                return
            ended = wall()
            reports = lane.outcome(dataclasses.replace(outcome, latency_s=ended - started), ended)
            self._record_attempts(lane, reports)
            signals.room.set()

    def _idle(self, lane: Lane) -> None:
        self._busy.discard(lane)
        self._check_idle()

    def _check_idle(self) -> None:
        if not self._busy and self._producing == 0 and self._all_idle is not None:
            self._all_idle.set()

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            self._tick()

    # -- measurements ----------------------------------------------------------------------------
    def _record_attempts(self, lane: Lane, reports: Reports) -> None:
        t = self.pacer.elapsed()
        group, counts, stats = lane.camera.group, self._counts, self.stats
        for item, outcome in reports:
            ok = outcome.ok
            detail = outcome.detail
            kind = attempt_kind(outcome)
            rejected, dropped = kind == "rejected", kind == "dropped"
            connection = not ok and outcome.status is None and not outcome.fatal
            retry = item.attempts > 1
            # latency is the delivered attempts' (a refused connection's few microseconds
            # would flatter the percentiles); failures are counted, by reason
            stats.record_attempt(group, t, ok, outcome.status, detail, outcome.latency_s if ok else None, retry=retry,
                                 rejected=rejected, dropped=dropped, connection_error=connection)
            counts["attempts"] += 1
            counts["delivered" if ok else "failed"] += 1
            counts["retried"] += retry
            counts["rejected"] += rejected
            counts["dropped"] += dropped
            counts["connection_errors"] += connection
            if self.on_attempt is not None:
                self.on_attempt(lane, item, outcome)

    def _record_drops(self, lane: Lane, reports: Reports) -> None:
        self.stats.record_dropped(lane.camera.group, self.pacer.elapsed(), len(reports))
        self._counts["dropped"] += len(reports)
        if self.on_attempt is not None:
            for item, outcome in reports:
                self.on_attempt(lane, item, outcome)

    def _tick(self) -> None:
        t = self.pacer.elapsed()
        self.stats.tick(t)
        buffered = dict.fromkeys(self.stats.groups, 0)
        for cam in self.cameras:
            buffered[cam.group] += cam.pending()
        for group, n in buffered.items():
            self.stats.set_buffered(group, n)
        self.snapshot = self._snapshot(t, sum(buffered.values()))

    def _snapshot(self, t: float, buffered: int = 0) -> dict[str, Any]:
        """What the live view shows; replaced whole (read it from any thread)."""
        last = self.stats.latest()
        counts = dict(self._counts)
        return {"elapsed_s": t, "cameras": self.camera_count, "active": self._active,
                "buffered": buffered, **counts,
                "events_per_s": last["events_per_s"] if last else None,
                "p50_ms": last["p50_ms"] if last else None, "p99_ms": last["p99_ms"] if last else None,
                "max_ms": last["max_ms"] if last else None,
                "end_s": None if self.until_us is None else self.until_us / 1e6 / (self.speed or float("inf"))}

    # -- the end ---------------------------------------------------------------------------------
    def _summarise(self) -> LoadSummary:
        duration = self.pacer.elapsed()
        not_sent: int | None = 0
        give_up = wall() + COUNT_BUDGET_S
        for cam in self.cameras:
            rest = cam.count_rest(lambda: wall() > give_up)
            if rest is None or not_sent is None:
                not_sent = None
                break
            not_sent += rest
        buffered = sum(cam.pending() for cam in self.cameras)
        handed = sum(lane.handed for lane in self.lanes)
        unconfirmed = sum(lane.queue.counters.unconfirmed for lane in self.lanes)
        fatal = sorted({f"{lane.camera.device_id} {'heartbeat' if lane.name == 'heartbeat' else 'profile ' + lane.name}:"
                        f" {lane.queue.fatal.detail}" for lane in self.lanes if lane.queue.fatal is not None})
        end_to_end: dict[str, Any] | None = self._end_to_end() if self.embedded else None
        if self._store_check is not None:
            delivered, planned = self._delivered_documents()
            end_to_end = {"checked": str(self._store_check.path),
                          **self._store_check.check(delivered, {cam.device_id for cam in self.cameras}, planned),
                          "planned_faults": sum(lane.faulted for lane in self.lanes)}
        if end_to_end is not None:
            self.stats.set_lost(end_to_end["lost"])
        return LoadSummary(fleet=self.name, cameras=self.camera_count, groups=dict(self.group_sizes), speed=self.speed,
                           duration_s=round(duration, 3), totals=self.stats.totals(duration), handed=handed,
                           not_sent=not_sent, buffered=buffered, unconfirmed=unconfirmed,
                           interrupted=self.interrupted, fatal=fatal, end_to_end=end_to_end,
                           lateness=self.pacer.lateness.as_dict())

    def _end_to_end(self) -> dict[str, Any]:
        """Delivered (the cameras' count) against stored (what the built-in receiver kept), once
        the receiver has worked through what arrived."""
        delivered, planned = self._delivered_documents()
        self.receiver.wait(until=lambda _records: self._stored_records >= delivered, timeout=RECEIPT_WAIT_S)
        with self._stored_lock:
            stored, records = len(self._stored), self._stored_records
        summary = self.receiver_summary = self.receiver.summary()
        return {"checked": "built-in receiver", "delivered": delivered, "stored": stored,
                "duplicates": max(0, records - stored - planned), "planned_duplicates": planned,
                "lost": max(0, delivered - planned - stored), "violations": int(summary.get("violations", 0)),
                "planned_faults": sum(lane.faulted for lane in self.lanes)}

    def _delivered_documents(self) -> tuple[int, int]:
        """Documents delivered (a coalesced write holds several), and the copies of a `duplicate`
        fault among them: the receiver is expected to store delivered - copies distinct ones."""
        return (sum(lane.documents for lane in self.lanes), sum(lane.copies for lane in self.lanes))

    def _close_receiver(self) -> None:
        if self._own_receiver and self.receiver is not None:
            self.receiver.stop()
            self._own_receiver = False

    def close(self) -> None:
        """Release every handle and socket, and the built-in receiver. Safe twice."""
        if self._closed:
            return
        self._closed = True
        for lane in self.lanes:
            transport = lane.transport
            if isinstance(transport, HttpTransport):
                transport.close()
            elif isinstance(transport, TcpTransport):
                if transport.sock is not None:  # a kept connection a stop left open: no receipt awaited
                    transport.sock.close()
                    transport.sock = None
            else:
                transport.close()
        self._close_receiver()


def _draw(attachments: tuple) -> None:
    for attachment in attachments:
        attachment.data  # noqa: B018 - drawn when first read


def ensure_descriptors(needed: int) -> None:
    """Raise this process's soft limit of open files (RLIMIT_NOFILE) up to its hard limit when
    needed (a fleet keeps a connection per camera profile); ValueError when even the hard
    limit is too low, before anything is sent."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or needed <= soft:
        return
    target = needed if hard == resource.RLIM_INFINITY else min(hard, max(needed, soft))
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if needed > soft:
        raise ValueError(f"this fleet needs about {needed} open files (a connection per camera profile) and the "
                         f"limit is {soft} (hard limit {hard}): raise it (ulimit -n {needed}) or run fewer cameras")


class _LaneSignals:
    """A lane's wake-ups on the loop: its sender (an event queued) and its producer (room)."""

    __slots__ = ("wake", "room")

    def __init__(self) -> None:
        self.wake = asyncio.Event()
        self.room = asyncio.Event()


class _Patience:
    """Speed max: whether a camera still waits for room in its lanes (see LoadRun._room)."""

    __slots__ = ("patient", "sent_when_given_up")

    def __init__(self) -> None:
        self.patient = True
        self.sent_when_given_up = 0


def _sent(cam: LoadCamera | RecordedCamera) -> int:
    return sum(lane.queue.counters.sent for lane in cam.lanes.values())
