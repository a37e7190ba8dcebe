"""A fleet on Locust's master and workers (``pip install 'ffsim[locust]'``).

One Locust user is one camera of the fleet. The master hands the fleet's cameras out to the
users of every worker (custom messages ``ffsim_claim`` / ``ffsim_camera``), each camera once
over the whole cluster: ``-u`` is how many cameras run (at most the fleet's), ``-r`` how many
join per second. A worker drives its cameras with ffsim's own sending core, as ``ffsim load``
does (``load.camera``: the same packets, per-profile delivery queues and retry policy; HTTP
through libcurl's multi interface on gevent's hub, ``load.gevent_curl``; TCP through
``TcpTransport``, which Locust's monkey-patching makes cooperative), and reports every delivery
attempt to Locust's statistics (``events.request``): Locust's console, web UI, CSV and HTML
reports count them all, delivered and failed.

Run it with the locustfile shipped beside this module::

    locust -f $(python -m ffsim.load.locust --path) --ffsim-fleet fleet.yaml --ffsim-http URL ...

Options (``locust --help``, section "ffsim"; the master sends them to its workers):
``--ffsim-fleet FILE`` (a fleet file, or a scenario with ``--ffsim-cameras N``), ``--ffsim-http
URL`` / ``--ffsim-tcp HOST:PORT`` (else Locust's ``--host``, else the fleet's targets and the
scenarios' own), ``--ffsim-speed``, ``--ffsim-until``, ``--ffsim-start``, ``--ffsim-drain``,
``--ffsim-stop-grace``, ``--ffsim-keep-running``, ``--ffsim-summary FILE`` (taken from the
master's command line only: the web UI cannot change the file the master writes).

Time: a camera's load time starts when its user starts (Locust's ramp, ``-r``); its joining
and offset from the fleet file apply after that, as in ``ffsim load``.

A stop (``-t``, the web UI's stop, Ctrl-C, or the end of every camera) is graceful: no camera
starts after it (the users still spawning stay idle), the cameras hand nothing more over, and each attempt on the wire is finished and reported, so
that Locust's count is the receiver's. An attempt still unanswered after ``--ffsim-stop-grace``
seconds is aborted and not reported (its event counts as buffered in ffsim's summary).

Importing this module imports Locust, which monkey-patches the process (gevent): import it only
in Locust's processes, never beside ``ffsim load``'s asyncio driver.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent  # type: ignore[import-untyped]
from gevent.event import AsyncResult, Event  # type: ignore[import-untyped]
from locust import User, events, task
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner
from locust.user.task import LOCUST_STATE_STOPPING

from ..options import duration_us, parse_speed, start_time
from ..runner import embedded_needed
from ..scenario.fleet import Fleet, FleetCamera, fleet_from_scenario, is_fleet, load_fleet
from ..scenario.loader import ScenarioError
from ..scenario.model import Profile, Scenario
from ..scenario.yamlsource import load as load_yaml
from ..transport import Outcome, TargetError
from ..transport.http import HttpTransport, check_http_target
from ..transport.pacer import MAX_WAIT_S, wall
from ..transport.policy import Item
from ..transport.tcp import TcpTransport, check_tcp_target
from .camera import Lane, LoadCamera, attempt_kind
from .gevent_curl import GeventCurl

__all__ = ["CameraUser", "LOCUSTFILE", "DeliveryFailed"]

LOCUSTFILE = str(Path(__file__).with_name("locustfile.py"))
LOOKAHEAD = 2  # speed max: events waiting in a lane beyond which its producer waits (as ffsim load)
CLAIM_TIMEOUT_S = 60.0  # how long a user waits for the master to hand it a camera
IDLE_POLL_S = 1.0  # a user whose camera has ended looks this often whether Locust stops it
MASTER_REPLY_S = 5.0  # a stop: how long the master waits for its workers beyond the grace

log = logging.getLogger("ffsim.locust")


class DeliveryFailed(Exception):
    """A delivery attempt that did not deliver, as Locust's failures and errors show it: the
    outcome's detail ("503", "refused", "timeout"...) and what the camera does next."""


# -- options ------------------------------------------------------------------------------------
@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    group = parser.add_argument_group("ffsim", "a fleet of ffsim cameras: one Locust user per camera")
    group.add_argument("--ffsim-fleet", metavar="FILE", default="",
                       help="The fleet file (or a scenario file, with --ffsim-cameras). Every worker reads it "
                            "(and its scenarios) at the same path.")
    group.add_argument("--ffsim-cameras", metavar="N", type=int, default=1,
                       help="With a scenario file: the fleet is N cameras of it (as `ffsim load --cameras N`).")
    group.add_argument("--ffsim-http", metavar="URL", default="",
                       help="Every camera's profiles send here (as `ffsim load --http`); default: Locust's "
                            "--host when it is an http(s) URL, else the fleet's targets and scenarios' own.")
    group.add_argument("--ffsim-tcp", metavar="HOST:PORT", default="",
                       help="Every camera's profiles send JSON over TCP here (as `ffsim load --tcp`).")
    group.add_argument("--ffsim-speed", metavar="SPEED", default="max",
                       help="1 = real time, N = N times faster, max = as fast as the receiver takes them.")
    group.add_argument("--ffsim-until", metavar="DURATION", default="",
                       help="Each camera ends at this load time (e.g. 10m); default: the fleet's duration, "
                            "else its scenarios' end (else Locust's -t).")
    group.add_argument("--ffsim-start", metavar="TIME", default="",
                       help="The payloads' t=0 (ISO 8601); default: the scenario's start, else when the camera starts.")
    group.add_argument("--ffsim-drain", metavar="DURATION", default="60s",
                       help="At a camera's end: how long its buffered events may take to go out.")
    group.add_argument("--ffsim-stop-grace", metavar="SECONDS", type=float, default=10.0,
                       help="A stop: how long an attempt on the wire may take to finish and be counted.")
    group.add_argument("--ffsim-keep-running", action="store_true", default=False,
                       help="Keep the test running when every camera has ended (default: it ends then, as -t does).")
    summary = group.add_argument("--ffsim-summary", metavar="FILE", default="",
                                 help="The master writes ffsim's summary (per camera: delivered, failed, dropped, "
                                      "buffered...) as JSON here at exit.")
    # a file the master writes: only the command line's (the web UI's /swarm form can set any
    # parsed option; the master takes the path once, at init)
    summary.include_in_web_ui = False


@dataclasses.dataclass(frozen=True)
class Settings:
    """The ffsim options of a test, as the master sent them."""

    fleet: str
    cameras: int
    http: str | None
    tcp: str | None
    speed: float | None
    until_us: int | None
    start: str | None
    drain_s: float
    stop_grace_s: float
    keep_running: bool

    @classmethod
    def of(cls, environment: Environment) -> Settings:
        o = environment.parsed_options
        if o is None or not getattr(o, "ffsim_fleet", ""):
            raise ValueError("give the fleet: --ffsim-fleet FILE (a fleet file, or a scenario with --ffsim-cameras N)")
        http = o.ffsim_http or None
        tcp = o.ffsim_tcp or None
        host = (environment.host or getattr(o, "host", None) or "").strip()
        if http is None and tcp is None and host.startswith(("http://", "https://")):
            http = host
        if http and tcp:
            raise ValueError("give --ffsim-http or --ffsim-tcp, not both")
        grace = float(o.ffsim_stop_grace)
        if not grace >= 0:
            raise ValueError("--ffsim-stop-grace: give seconds, 0 or more")
        return cls(fleet=str(o.ffsim_fleet), cameras=int(o.ffsim_cameras), http=http, tcp=tcp,
                   speed=parse_speed(o.ffsim_speed), until_us=duration_us(o.ffsim_until or None, "--ffsim-until"),
                   start=o.ffsim_start or None, drain_s=(duration_us(o.ffsim_drain, "--ffsim-drain") or 0) / 1e6,
                   stop_grace_s=grace, keep_running=bool(o.ffsim_keep_running))


def read_fleet(file: str, cameras: int) -> Fleet:
    """A fleet file, or a scenario file as a fleet of `cameras` cameras (as `ffsim load`)."""
    try:
        text = Path(file).read_text(encoding="utf-8-sig")
        data = load_yaml(text).data
    except Exception:  # noqa: BLE001 - load_fleet says what is wrong, with the file's position
        data = {"groups": None}
    if is_fleet(data):
        return load_fleet(file)
    return fleet_from_scenario(file, cameras=cameras)


class Plan:
    """A test's fleet with its targets: what each camera sends, and where."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.fleet = read_fleet(settings.fleet, settings.cameras)
        self.until_us = settings.until_us if settings.until_us is not None else self.fleet.duration_us
        self.scenarios: list[Scenario] = []
        for fc in self.fleet.cameras:
            s = (fc.scenario.retargeted(settings.http, settings.tcp) if settings.http or settings.tcp
                 else fc.sending_scenario())
            if embedded_needed(s):
                raise TargetError(f"camera {fc.device_id} has no target: give --ffsim-http URL, --ffsim-tcp "
                                  "HOST:PORT or Locust's --host, targets: in the fleet file, or urls in the scenario")
            self.scenarios.append(s)
        self.checked: set[tuple[str, str]] = set()

    def __len__(self) -> int:
        return len(self.fleet.cameras)

    def transport(self, profile: Profile) -> Any:
        if profile.url is None:
            raise TargetError(f"profile {profile.id} has no target")
        key = (profile.protocol, profile.url)
        if key not in self.checked:  # each distinct target once
            (check_http_target if profile.protocol == "http" else check_tcp_target)(profile.url)
            self.checked.add(key)
        if profile.protocol == "http":
            return HttpTransport(profile, profile.url)
        return TcpTransport(profile, profile.url)


# -- one camera -------------------------------------------------------------------------------------
class _Signals:
    """A lane's wake-ups: its sender (an event queued, a stop) and its producer (room)."""

    __slots__ = ("wake", "room")

    def __init__(self) -> None:
        self.wake = Event()
        self.room = Event()


class CameraDriver:
    """One fleet camera on gevent, as ``LoadRun`` drives each of its cameras: a producer (the
    calling greenlet, in ``run``) hands the packets over at their time, a sender greenlet per
    lane puts them on the wire, and every attempt goes to ``report``."""

    def __init__(self, plan: Plan, index: int, curl: GeventCurl,
                 report: Callable[[Lane, Item, Outcome, Outcome, int], None]) -> None:
        settings = plan.settings
        self.fleet_camera: FleetCamera = plan.fleet.cameras[index]
        scenario = plan.scenarios[index]
        self.speed = settings.speed
        self.drain_s = settings.drain_s
        self.stop_grace_s = settings.stop_grace_s
        epoch = (start_time(scenario, settings.start) if settings.start is not None or scenario.start_us is not None
                 else time.time_ns() // 1000)
        self.camera = LoadCamera(self.fleet_camera, scenario, epoch, plan.until_us, plan.transport)
        self.lanes = list(self.camera.lanes.values())
        for lane in self.lanes:
            lane.driver = _Signals()
        self.curl = curl
        self.report = report
        self.stopping = False
        self.state = "new"  # running, finished, stopped
        self.senders: list[gevent.Greenlet] = []
        self.late_max_s = 0.0
        self.reported = False  # its summary went to the master
        self.progress = Event()  # set by the senders after each attempt and when idle
        self._halt = Event()  # set by stop(): the producer's waits end at once
        self._stop_begun = False
        self._stopped = Event()  # set when a stop has ended (a second stop waits for the first)
        self._patient = True  # speed max: whether the camera still waits for room (as LoadRun._room)
        self._sent_when_given_up = 0
        self._t0 = 0.0

    # -- the producer: in the user's greenlet --------------------------------------------------
    def run(self) -> None:
        """Hand the camera's packets over in time, then let its lanes drain; returns at the end
        (or after stop())."""
        self.state = "running"
        self._t0 = wall()
        self.senders = [gevent.spawn(self._send_loop, lane) for lane in self.lanes]
        cam = self.camera
        if cam.join_s > 0 and self.speed is None:  # the fleet's ramp, in wall time at speed max
            self._halt.wait(cam.join_s)
        while not self.stopping and (taken := cam.next()) is not None:
            moment, lane, item = taken
            if item.message.attachments:
                # images are CPU work, drawn before the packet's time. In this greenlet, not in a
                # thread as ffsim load does: the drawing's lock (protocol.payload) is a gevent lock
                # once Locust has monkey-patched, and must not be taken from another thread
                _draw(item.message.attachments)
            if self.speed is None:
                self._room(lane)
            else:
                self._sleep_until(self._t0 + moment / self.speed)
            if self.stopping:
                break
            lane.offer(item)  # a full buffer drops its oldest event: counted in the lane's counters
            lane.driver.wake.set()
        deadline = wall() + self.drain_s
        while not self.stopping and not all(lane.queue.idle for lane in self.lanes):
            left = deadline - wall()
            if left <= 0:
                break
            self.progress.clear()
            self.progress.wait(min(left, 1.0))
        if not self.stopping:  # what is still buffered after the drain stays so (as in ffsim load)
            self.stop(self.stop_grace_s, finished=True)

    def _sleep_until(self, due: float) -> None:
        while not self.stopping and (delay := due - wall()) > 0:
            self._halt.wait(min(delay, MAX_WAIT_S))
        self.late_max_s = max(self.late_max_s, wall() - due)

    def _room(self, lane: Lane) -> None:
        """Speed max: wait until the lane has fewer than LOOKAHEAD events waiting (as LoadRun._room:
        a camera whose lane has not moved for the drain time sends to a receiver that is down; then,
        like the camera, its lanes buffer and drop without waiting again until one of them delivers:
        the drain is waited once per camera, not once per lane)."""
        queue, signals = lane.queue, lane.driver
        if len(queue) < LOOKAHEAD:
            return
        if not self._patient:
            if self._sent() == self._sent_when_given_up:
                return
            self._patient = True  # it delivers again
        while len(queue) >= LOOKAHEAD and queue.fatal is None and not self.stopping:
            signals.room.clear()
            if not signals.room.wait(self.drain_s):
                if self.stopping:
                    return
                self._patient = False
                self._sent_when_given_up = self._sent()
                return

    def _sent(self) -> int:
        return sum(lane.queue.counters.sent for lane in self.lanes)

    # -- a sender per lane ----------------------------------------------------------------------
    def _send_loop(self, lane: Lane) -> None:
        queue, signals = lane.queue, lane.driver
        http = lane.profile.protocol == "http"
        while not self.stopping:
            now = wall()
            item = queue.next_send(now)
            if item is None:
                if queue.fatal is not None:
                    break
                due = queue.wake_at()
                signals.wake.clear()
                self.progress.set()  # idle: the drain looks again
                signals.wake.wait(None if due is None else max(0.0, due - now))
                continue
            started = wall()
            try:
                if http:
                    outcome = self.curl.send(lane.transport, item.message)
                else:
                    outcome = lane.transport.send(item.message)
            except Exception as exc:  # noqa: BLE001 - a dead sender would leave the camera waiting for its drain
                log.error("ffsim: camera %s, profile %s: internal error: %r", lane.camera.device_id, lane.name, exc)
                outcome = Outcome(False, f"internal error: {exc!r}", fatal=True)
            except BaseException:
                queue.on_cancel()  # killed (a stop past its grace): the event stays buffered, unreported
                raise
            if outcome.cancelled:
                queue.on_cancel()
                break
            ended = wall()
            outcome = dataclasses.replace(outcome, latency_s=ended - started)
            for reported, shown in queue.on_outcome(outcome, ended):
                self.report(lane, reported, outcome, shown, _size(reported))
            signals.room.set()
            self.progress.set()
        signals.room.set()
        self.progress.set()

    # -- the end ---------------------------------------------------------------------------------
    def stop(self, grace_s: float, finished: bool = False) -> None:
        """Hand nothing more over; let each attempt on the wire finish (and be reported) within
        grace_s, then abort what is left; close the connections. finished: the camera's own end
        (kept TCP connections are closed with a FIN and the receiver's close awaited, which
        confirms what was written on them). Safe twice, and at once: a second stop waits for the
        first to end."""
        if self._stop_begun:
            self._stopped.wait()
            return
        self._stop_begun = True
        try:
            self._stop(grace_s, finished)
        finally:
            self._stopped.set()

    def _stop(self, grace_s: float, finished: bool) -> None:
        self.stopping = True
        self._halt.set()
        self.progress.set()
        for lane in self.lanes:
            lane.driver.wake.set()
            lane.driver.room.set()
        alive = [g for g in self.senders if not g.dead]
        if alive:
            gevent.joinall(alive, timeout=grace_s)
            gevent.killall([g for g in alive if not g.dead], block=True)
        for lane in self.lanes:
            transport = lane.transport
            if isinstance(transport, HttpTransport):
                transport.close()
            elif lane.kept_connection and transport.sock is not None:
                if finished:  # the end of the camera: the receiver's close is the receipt
                    closing = transport.close()
                    if isinstance(closing, Outcome):
                        lane.queue.counters.unconfirmed += closing.unconfirmed
                else:
                    transport.sock.close()
                    transport.sock = None
        self.state = "finished" if finished else "stopped"

    def summary(self) -> dict[str, Any]:
        cam = self.camera
        counters = cam.counters()
        total = {key: sum(lane[key] for lane in counters.values())
                 for key in ("sent", "failed", "retried", "rejected", "dropped", "unconfirmed", "handed", "buffered")}
        return {"index": cam.index, "device_id": cam.device_id, "group": cam.group, "state": self.state,
                "not_sent": 0 if cam.exhausted else None, "late_max_ms": round(self.late_max_s * 1000, 3),
                "fatal": [f"{name}: {lane.queue.fatal.detail}" for name, lane in cam.lanes.items()
                          if lane.queue.fatal is not None], **total, "lanes": counters}


def _draw(attachments: tuple) -> None:
    for attachment in attachments:
        attachment.data  # noqa: B018 - drawn when first read


def _size(item: Item) -> int:
    message = item.message
    return len(message.json) + sum(len(a.data) for a in message.attachments)


# -- the cluster: one per Environment (a process's master, worker or local runner) -------------------
class Cluster:
    """ffsim's side of a Locust runner. The master (or a local runner) hands out camera indexes
    and gathers the cameras' summaries; a worker (or a local runner) drives the cameras."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self.plan: Plan | None = None
        self.plan_error: str | None = None
        self.logged_error: str | None = None  # a worker's plan error, logged once
        self.summary_path: str | None = None  # the master's --ffsim-summary, from the command line only
        self.halted = False  # a stop has begun: no camera is handed out or started any more
        # the master's side
        self.next_index = 0  # the next camera never handed out
        self.returned: list[int] = []  # cameras handed back (their user had gone, or a stop came first)
        self.handed = 0  # cameras handed out in this test (and not handed back)
        self.refused = 0  # users that got none (more users than cameras)
        self.summaries: dict[int, dict[str, Any]] = {}
        self.ended = 0  # cameras that ended by themselves
        self.stop_replies: set[str] = set()
        self.stopped_event = Event()
        self.ending = False
        # the drivers' side
        self.claims: dict[int, AsyncResult] = {}
        self.assigned: set[int] = set()  # cameras this process got and has not started yet
        self.user_ids = itertools.count()
        self.drivers: dict[int, CameraDriver] = {}
        self.lanes = 0  # lanes of the drivers made: the connections libcurl keeps
        self.curl: GeventCurl | None = None

    @property
    def runner(self) -> Any:
        return self.environment.runner

    @property
    def master(self) -> bool:
        return isinstance(self.runner, MasterRunner)

    @property
    def worker(self) -> bool:
        return isinstance(self.runner, WorkerRunner)

    def load_plan(self) -> Plan:
        """The fleet of the options as they are now (they change when a test starts from the web UI)."""
        settings = Settings.of(self.environment)
        if self.plan is None or self.plan.settings != settings:
            self.plan = Plan(settings)
        return self.plan

    # -- the master's side ------------------------------------------------------------------------
    def on_test_start(self) -> None:
        self.handed = self.refused = self.ended = self.next_index = 0
        self.returned = []
        self.summaries = {}
        self.ending = False
        self.halted = False
        self.assigned = set()
        if self.worker:
            return
        try:
            self.plan_error = None
            plan = self.load_plan()
        except (ValueError, ScenarioError, TargetError, OSError) as exc:
            self.plan_error = str(exc)
            self.plan = None  # no camera is handed out with the previous test's settings
            log.error("ffsim: %s", exc)
            return
        users = getattr(self.environment.parsed_options, "num_users", None)
        if users and users > len(plan):
            log.warning("ffsim: %d users for a fleet of %d cameras: %d users stay idle", users, len(plan),
                        users - len(plan))

    def claim_index(self) -> int | None:
        if self.halted:  # a stop has begun: the users still spawning stay idle
            return None
        if self.returned:
            index = self.returned.pop(0)
        elif self.plan is None or self.next_index >= len(self.plan):
            self.refused += 1
            return None
        else:
            index = self.next_index
            self.next_index += 1
        self.handed += 1
        return index

    def release_index(self, index: int) -> None:
        """A camera handed out that will not run (its user had gone, or a stop came first)."""
        if index not in self.returned and index not in self.summaries:
            self.returned.append(index)
            self.handed -= 1

    def on_summary(self, summary: dict[str, Any]) -> None:
        self.summaries[summary["index"]] = summary
        if summary["state"] == "finished":
            self.ended += 1
        if self.plan is None or self.plan.settings.keep_running or self.ending:
            return
        target = min(getattr(self.runner, "target_user_count", 0) or 0, len(self.plan))
        if target and self.ended >= target and self.handed >= target:
            self.ending = True
            gevent.spawn(self._end)

    def _end(self) -> None:
        options = self.environment.parsed_options
        headless = options is not None and bool(options.headless)
        log.info("ffsim: every camera has ended, %s the test", "ending" if headless else "stopping")
        if headless:
            self.runner.quit()
        else:
            self.runner.stop()

    def drain_workers(self) -> None:
        """A stop (on the master, before Locust tells its workers): every worker finishes its
        cameras' attempts on the wire and reports them before Locust collects the final stats."""
        self.halted = True
        if self.plan is None:
            return
        clients = [c.id for c in self.runner.clients.all]
        if not clients:
            return
        self.stop_replies = set()
        self.stopped_event.clear()
        for client in clients:
            self.runner.send_message("ffsim_stop", None, client_id=client)
        deadline = wall() + self.plan.settings.stop_grace_s + MASTER_REPLY_S
        while not self.stop_replies.issuperset(clients) and (left := deadline - wall()) > 0:
            self.stopped_event.clear()
            self.stopped_event.wait(left)
        missing = set(clients) - self.stop_replies
        if missing:
            log.warning("ffsim: %d worker(s) did not confirm their stop in time: their last attempts may be "
                        "missing from the statistics", len(missing))

    def report_summary(self) -> None:
        """At the end of a test (master or local): ffsim's own count of what happened."""
        if self.plan is None:
            return
        rows = list(self.summaries.values())
        keys = ("sent", "failed", "retried", "rejected", "dropped", "buffered", "unconfirmed", "handed")
        total = {key: sum(r[key] for r in rows) for key in keys}
        states: dict[str, int] = {}
        for r in rows:
            states[r["state"]] = states.get(r["state"], 0) + 1
        self.last_summary = {"fleet": self.plan.fleet.name, "cameras": len(self.plan), "ran": self.handed,
                             "idle_users": self.refused, "states": states, "totals": total,
                             "not_sent_unknown": sum(1 for r in rows if r["not_sent"] is None),
                             "cameras_detail": sorted(rows, key=lambda r: r["index"])}
        log.info("ffsim: %d of %d cameras ran (%s); delivered %d, failed attempts %d (retried %d), rejected %d, "
                 "dropped %d, still buffered %d", self.handed, len(self.plan),
                 ", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "none reported",
                 total["sent"], total["failed"], total["retried"], total["rejected"], total["dropped"],
                 total["buffered"])

    def write_summary(self) -> None:
        summary = getattr(self, "last_summary", None)
        if summary is None or not self.summary_path:
            return
        Path(self.summary_path).write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")

    # -- the drivers' side ------------------------------------------------------------------------
    def claim(self) -> int | None:
        """A camera for a user that starts (a message to the master and its answer, from a worker)."""
        if not self.worker:
            index = self.claim_index()
            if index is not None:
                self.assigned.add(index)
            return index
        if self.halted:
            return None
        uid = next(self.user_ids)
        answer = self.claims[uid] = AsyncResult()
        try:
            self.runner.send_message("ffsim_claim", {"user": uid})
            data = answer.get(timeout=CLAIM_TIMEOUT_S)
        except gevent.Timeout:  # the master did not answer in time: this user stays idle (a late
            return None          # answer finds no user waiting and hands its camera back)
        finally:
            self.claims.pop(uid, None)
        index = data.get("index")
        # a stop between the master's answer and now has handed the camera back already
        return index if index in self.assigned else None

    def on_camera(self, data: dict[str, Any]) -> None:
        """A worker: the master's answer to a claim (in the worker's message loop, in order
        with the master's ffsim_stop)."""
        index = data.get("index")
        answer = self.claims.get(data["user"])
        if index is not None:
            if answer is None or self.halted:  # its user is no longer waiting, or a stop came first
                self.release(index)
            else:
                self.assigned.add(index)
        if answer is not None:
            answer.set(data)

    def release(self, index: int) -> None:
        self.assigned.discard(index)
        if self.worker:
            self.runner.send_message("ffsim_release", {"index": index})
        else:
            self.release_index(index)

    def plan_failed(self, exc: BaseException) -> None:
        """A worker that cannot read the fleet (the same path on every machine): once per error."""
        if str(exc) != self.logged_error:
            self.logged_error = str(exc)
            log.error("ffsim: %s", exc)

    def driver(self, index: int) -> CameraDriver:
        plan = self.load_plan()
        if self.curl is None:
            self.curl = GeventCurl()
        driver = CameraDriver(plan, index, self.curl, self._report)
        self.drivers[index] = driver
        self.lanes += len(driver.lanes)
        self.curl.reserve(max(16, self.lanes))  # every lane keeps its connection, as each camera's libcurl
        return driver

    def ended_camera(self, driver: CameraDriver) -> None:
        """A camera has ended (by itself, or stopped): its summary to the master, once."""
        if driver.reported or driver.state not in ("finished", "stopped"):
            return
        driver.reported = True
        summary = driver.summary()
        if self.worker:
            self.runner.send_message("ffsim_done", summary)
        else:
            self.on_summary(summary)

    def stop_cameras(self) -> None:
        """Stop every camera of this process, all at once, each within the grace; hand back
        the cameras not started yet."""
        self.halted = True
        for index in sorted(self.assigned):
            driver = self.drivers.pop(index, None)
            if driver is not None:
                driver.state = "released"
            self.release(index)
        running = [d for d in self.drivers.values() if d.state == "running"]
        if not running or self.plan is None:
            return
        grace = self.plan.settings.stop_grace_s
        gevent.joinall([gevent.spawn(d.stop, grace) for d in running])
        for d in running:
            self.ended_camera(d)

    def _report(self, lane: Lane, item: Item, outcome: Outcome, shown: Outcome, size: int) -> None:
        """One attempt, to Locust's statistics."""
        camera = lane.camera
        if outcome.ok:
            exception = None
        else:
            exception = DeliveryFailed(f"{outcome.detail} ({attempt_kind(shown)})")
        self.environment.events.request.fire(
            request_type="POST" if lane.profile.protocol == "http" else "TCP",
            name=f"{camera.group} heartbeat" if lane.name == "heartbeat" else f"{camera.group} p{lane.name}",
            response_time=(outcome.latency_s or 0.0) * 1000, response_length=size, exception=exception,
            context={"camera": camera.device_id, "profile": lane.name, "status": outcome.status,
                     "attempt": item.attempts, "label": item.label})

    def close(self) -> None:
        for driver in self.drivers.values():
            driver.stop(0)
        if self.curl is not None:
            self.curl.close()
            self.curl = None


_clusters: dict[int, Cluster] = {}


def cluster(environment: Environment) -> Cluster:
    found = _clusters.get(id(environment))
    if found is None or found.environment is not environment:
        found = _clusters[id(environment)] = Cluster(environment)
    return found


@events.init.add_listener
def _on_init(environment: Environment, **_kwargs: Any) -> None:
    c = cluster(environment)
    runner = environment.runner
    if runner is None:
        return
    if not c.worker:
        options = environment.parsed_options
        c.summary_path = (getattr(options, "ffsim_summary", "") or None) if options is not None else None
        try:  # the master checks the fleet at once: a mistake ends the command before any worker starts
            c.load_plan()
        except (ValueError, ScenarioError, TargetError, OSError) as exc:
            if environment.parsed_options is not None and environment.parsed_options.headless:
                log.error("ffsim: %s", exc)
                sys.exit(2)
            # the web UI: its form may still give the target (Host) or the ffsim options
            log.warning("ffsim: %s (give it in the web UI's form before starting)", exc)
    if c.master:
        def claim(environment: Environment, msg: Any, **_kw: Any) -> None:
            runner.send_message("ffsim_camera", {"user": msg.data["user"], "index": c.claim_index()},
                                client_id=msg.node_id)

        def done(environment: Environment, msg: Any, **_kw: Any) -> None:
            c.on_summary(msg.data)

        def stopped(environment: Environment, msg: Any, **_kw: Any) -> None:
            c.stop_replies.add(msg.node_id)
            c.stopped_event.set()

        def release(environment: Environment, msg: Any, **_kw: Any) -> None:
            c.release_index(msg.data["index"])

        runner.register_message("ffsim_claim", claim)
        runner.register_message("ffsim_release", release)
        runner.register_message("ffsim_done", done)
        runner.register_message("ffsim_stopped", stopped)
    elif c.worker:
        def camera(environment: Environment, msg: Any, **_kw: Any) -> None:
            c.on_camera(msg.data)

        def stop_and_answer() -> None:
            c.stop_cameras()
            # the attempts just reported, before the answer: the master collects its final
            # statistics when every worker has answered, and the periodic report may come too late
            runner._send_stats()
            runner.send_message("ffsim_stopped", None)

        def stop(environment: Environment, msg: Any, **_kw: Any) -> None:
            gevent.spawn(stop_and_answer)  # not in the worker's message loop, which must go on receiving

        runner.register_message("ffsim_camera", camera)
        runner.register_message("ffsim_stop", stop)


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_kwargs: Any) -> None:
    c = cluster(environment)
    c.on_test_start()
    if c.worker:
        try:
            c.load_plan()
        except (ValueError, ScenarioError, TargetError, OSError) as exc:
            c.plan_failed(exc)


@events.test_stopping.add_listener
def _on_test_stopping(environment: Environment, **_kwargs: Any) -> None:
    c = cluster(environment)
    if c.master:
        c.drain_workers()
    else:
        c.stop_cameras()  # a worker (also told by the master before), or a local runner


@events.test_stop.add_listener
def _on_test_stop(environment: Environment, **_kwargs: Any) -> None:
    c = cluster(environment)
    if not c.worker:  # the summaries of the cameras stopped came before their workers' stop replies
        c.report_summary()


@events.quitting.add_listener
def _on_quitting(environment: Environment, **_kwargs: Any) -> None:
    c = cluster(environment)
    if not c.worker:
        c.write_summary()
    c.close()


# -- the user -----------------------------------------------------------------------------------
class CameraUser(User):
    """One camera of the fleet (--ffsim-fleet): its packets in order and in time, its profiles'
    deliveries with their buffers and retries, each attempt reported to Locust."""

    def on_start(self) -> None:
        self.ffsim = cluster(self.environment)
        self.camera: CameraDriver | None = None
        try:
            self.ffsim.load_plan()
        except (ValueError, ScenarioError, TargetError, OSError) as exc:
            self.ffsim.plan_failed(exc)  # no camera claimed: this user stays idle
            return
        index = self.ffsim.claim()
        if index is None:
            log.debug("ffsim: no camera left for this user: it stays idle")
            return
        self.camera = self.ffsim.driver(index)

    @task
    def drive(self) -> None:
        camera = self.camera
        if camera is not None and camera.state == "new" and not self.ffsim.halted:
            self.ffsim.assigned.discard(camera.camera.index)
            camera.run()
            self.ffsim.ended_camera(camera)  # its own end (a stop reports it where it is stopped)
        # ended (or none to drive): idle until Locust stops the user; the task must not end, or
        # Locust would run it again
        while self._state != LOCUST_STATE_STOPPING:
            gevent.sleep(IDLE_POLL_S)

    def stop(self, force: bool = False) -> bool:
        """Locust stops this user (a ramp-down, or the end): a graceful stop ends its camera too
        (its producer may be waiting long for its next packet), within the grace."""
        camera = getattr(self, "camera", None)
        killed = super().stop(force)
        if not killed and camera is not None and camera.state == "running":
            plan = self.ffsim.plan
            gevent.spawn(camera.stop, plan.settings.stop_grace_s if plan is not None else 0.0)
        return killed

    def on_stop(self) -> None:
        camera = getattr(self, "camera", None)
        if camera is not None and camera.state == "running":
            plan = self.ffsim.plan
            camera.stop(plan.settings.stop_grace_s if plan is not None else 0.0)
            self.ffsim.ended_camera(camera)


def _main(argv: list[str]) -> int:
    if argv[1:] == ["--path"]:
        print(LOCUSTFILE)
        return 0
    print(f"usage: python -m ffsim.load.locust --path\n  prints the locustfile to give Locust: "
          f"locust -f {LOCUSTFILE} --ffsim-fleet FLEET ...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
