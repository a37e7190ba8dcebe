"""A camera's run as an object: start it, wait for it, stop it, read what happened.

This is what ``ffsim run``, ``ffsim demo``, the pytest plugin and users' own code
drive; it owns the orchestration around the core: the targets (the scenario's, or
``http``/``tcp``, or ffsim's built-in receiver when there are none), the start time,
the thread the run lives in, and the record of every delivery attempt.

    run = Run(scenario, http="http://127.0.0.1:8080/events", speed="max").start()
    summary = run.wait(timeout=30)     # or run.stop() at any moment: within a second
    assert summary.delivered_all
    for attempt in run.attempts:       # every packet, with its answer and latency
        print(attempt.state, attempt.plate, attempt.status, attempt.latency_s)
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from .runner import Runner, embedded_needed, fill_targets
from .scenario.model import Scenario
from .transport import Outcome
from .transport.delivery import Item
from .transport.dispatch import Summary
from .options import duration_us, parse_speed, start_time


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt of one packet, and how it went."""

    profile: int  # 1-3, or 0 for the heartbeat
    state: str  # new, update, reliable, lost, heartbeat
    car_id: str
    plate: str
    direction: str
    time_ms: int  # the packet's time (epoch ms, the camera's clock)
    counter: str  # its packetCounter ("" for a heartbeat)
    number: int  # 1 for the first attempt of this packet, 2 for its first retry...
    ok: bool  # delivered
    status: int | None  # the HTTP answer; None over TCP and when none came
    detail: str  # "200", "refused", "503 rejected", "dropped: buffer full"...
    latency_s: float | None  # from the start of the attempt to its outcome
    body: bytes = field(repr=False)  # the packet's JSON text as sent
    # the faults on purpose this packet carries (ffsim.faults): their marks, as `ffsim events` shows them
    faults: tuple[dict, ...] = ()

    @classmethod
    def of(cls, profile_id: int, item: Item, outcome: Outcome) -> Attempt:
        label = item.label
        return cls(profile_id, str(label.get("state", "")), str(label.get("carID", "")), str(label.get("plate", "")),
                   str(label.get("direction", "")), int(label.get("time", 0)), item.message.counter, item.attempts, outcome.ok,
                   outcome.status, outcome.detail, outcome.latency_s, item.message.json, tuple(label.get("fault", ())))

    @cached_property
    def payload(self) -> dict:
        """The packet's JSON, parsed (a payload fault may make it unparsable: json raises)."""
        return json.loads(self.body)

    @property
    def dropped(self) -> bool:
        return self.detail.startswith("dropped")

    @property
    def rejected(self) -> bool:
        return self.detail.endswith(" rejected")


class Run:
    """One camera playing one scenario, in a thread of its own (start) or in the caller's (play)."""

    def __init__(self, scenario, *, http: str | None = None, tcp: str | None = None,
                 speed: float | int | str | None = "max", until: float | int | str | None = None,
                 start: str | int | datetime | None = None, drain: float | int | str = 60.0,
                 on_attempt: Callable[[Attempt], None] | None = None, keep_attempts: bool = True,
                 receiver=None, backoff: tuple[float, float] = (0.1, 5.0)):
        """scenario: a Scenario, a path, YAML text, a dict or a ScenarioBuilder (see ffsim.scenario_of).
        http / tcp: send every profile there (as `ffsim run --http/--tcp`); with neither, and no
        target in the scenario, a built-in ffsim receiver on loopback receives (``receiver``),
        or the Receiver given as receiver=. speed: 1, N or "max" (the default here: tests
        want it fast). until, drain: seconds or durations ("10m"). on_attempt: called from
        the delivery threads for every attempt; keep_attempts=False does not keep them (an
        endless run). Raises ScenarioError, ValueError or TargetError before anything is sent."""
        from . import scenario_of  # the one loader front door

        if http and tcp:
            raise ValueError("give http or tcp, not both")
        self.scenario: Scenario = scenario_of(scenario).retargeted(http, tcp)
        self.speed = parse_speed(speed)
        self.until_us = duration_us(until, "until")
        self.drain_s = duration_us(drain, "drain") / 1e6
        self.start_us = start_time(self.scenario, start)
        self.on_attempt = on_attempt
        self.keep_attempts = keep_attempts
        self.attempts: list[Attempt] = []
        self._attempts_lock = threading.Lock()
        self.receiver = receiver
        self._own_receiver = False
        self.summary: Summary | None = None  # once finished
        self.receiver_summary: dict | None = None  # the built-in receiver's, once finished
        self.embedded = embedded_needed(self.scenario)  # no target: ffsim's receiver receives
        if self.embedded:
            if self.receiver is None:
                from .receiver.server import Receiver

                self.receiver = Receiver(http="127.0.0.1:0", tcp="127.0.0.1:0", speed=self.speed,
                                         lost_timeout_s=self.scenario.recognition.lost_timeout_us / 1e6).start()
                self._own_receiver = True
            self.scenario = fill_targets(self.scenario, self.receiver.http_url + "listener.php",
                                         self.receiver.tcp_address)
        self.error: BaseException | None = None  # what ended the run (on_attempt's exception...)
        try:
            self.runner = Runner(self.scenario, self.start_us, self.speed, self._report, backoff)
        except BaseException:
            self._close_receiver()
            raise
        self._thread: threading.Thread | None = None
        self._played = False  # play() was called (or close()): a Run plays once
        self._done = threading.Event()

    @property
    def endless(self) -> bool:
        """The run has no end of its own: a traffic flow without `until`, and no until= given."""
        return self.until_us is None and any(f.until_us is None for f in self.scenario.traffic)

    def _report(self, profile_id: int, item: Item, outcome: Outcome) -> None:
        attempt = Attempt.of(profile_id, item, outcome)
        if self.keep_attempts:
            with self._attempts_lock:
                self.attempts.append(attempt)
        if self.on_attempt is not None:
            try:
                self.on_attempt(attempt)
            except BaseException as exc:  # noqa: BLE001 - the run stops, play()/wait() raise it
                if self.error is None:
                    self.error = exc
                self.runner.stop()

    def _close_receiver(self) -> None:
        if self._own_receiver and self.receiver is not None and self.receiver_summary is None:
            self.receiver.stop()
            self.receiver_summary = self.receiver.summary()

    def close(self) -> None:
        """Release what the run holds (delivery threads, connections, its own receiver) when
        it will not be played; play() does it at its end. Safe twice."""
        if self._played:
            return
        self._played = True
        self.runner.stop()
        for delivery in self.runner.deliveries.values():
            delivery.stop(abort=True)
        self._close_receiver()
        self._done.set()

    # -- running -----------------------------------------------------------------------
    def play(self) -> Summary:
        """Run in the calling thread until the end, or stop() from another thread. A Ctrl-C
        (KeyboardInterrupt) in it stops the run and is raised again once the summary is
        made (run.summary); so is an exception of on_attempt."""
        if self._played:
            raise RuntimeError("a Run plays once: make another Run")
        self._played = True
        try:
            self.summary = self.runner.run(self.until_us, self.drain_s)
        finally:
            self._close_receiver()
            self._done.set()
        if self.error is not None:
            raise self.error
        if self.runner.dispatcher.keyboard:
            raise KeyboardInterrupt
        return self.summary

    def _play_in_thread(self) -> None:
        try:
            self.play()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller by wait()
            if self.error is None:
                self.error = exc

    def start(self) -> Run:
        """Run in a thread of its own; returns at once."""
        if self._played or self._thread is not None:
            raise RuntimeError("a Run plays once: make another Run")
        self._thread = threading.Thread(target=self._play_in_thread, name="ffsim-run", daemon=True)
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        """Started or playing, and not finished."""
        return (self._played or self._thread is not None) and not self._done.is_set()

    @property
    def finished(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> Summary | None:
        """Wait for the end; the summary, or None when timeout seconds passed first. Raises
        what ended the run's thread (an exception of on_attempt, for one)."""
        if self._thread is None and not self._played:
            raise RuntimeError("start() the run first (or call play())")
        if not self._done.wait(timeout):
            return None
        if self._thread is not None:
            self._thread.join()
        if self.error is not None:
            raise self.error
        return self.summary

    def _inside(self) -> bool:
        """Called from one of this run's own threads (on_attempt, for one): waiting there for
        the end would wait for itself."""
        me = threading.current_thread()
        return me is self._thread or me.name.startswith("ffsim-profile-")

    def stop(self, timeout: float = 5.0) -> Summary | None:
        """Stop at once, from any thread, in any state: sends in progress are aborted and
        their events stay buffered. Returns the summary (within a second); None when called
        from the run's own threads (on_attempt), which cannot wait for the end."""
        if not self._played and self._thread is None:
            self.close()
            return self.summary
        self.runner.stop()
        if self._inside():
            return None
        return self.wait(timeout)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc) -> None:
        if self._thread is not None or self._played:
            self.stop()
        else:
            self.close()

    # -- what happened ---------------------------------------------------------------------
    def unstruck_faults(self) -> list[str]:
        """After a run to its end: the scenario's faults that struck no packet (one line each)."""
        plan = self.runner.plan
        return plan.unstruck() if plan is not None else []

    def unsent(self) -> list[dict]:
        """The labels of the events still buffered (not delivered) at the end."""
        return self.runner.unsent()

    def delivered(self) -> list[Attempt]:
        """The attempts that delivered, in order per profile."""
        with self._attempts_lock:
            return [a for a in self.attempts if a.ok]


def run(scenario, **options) -> Run:
    """Play a scenario to its end in the calling thread (see Run for the options); the
    finished Run, with .summary and .attempts."""
    handle = Run(scenario, **options)
    if handle.endless:
        handle.close()
        raise ValueError("a traffic flow of this scenario has no `until`: give until= (or use Run(...).start() "
                         "and stop() it)")
    handle.play()
    return handle
