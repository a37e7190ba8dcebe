"""Command line: ``ffsim validate`` and ``ffsim events``."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import sys
import time

import click
from pathlib import Path

from . import COMPILED, __version__
from .cli_common import BIND, DURATION, INSTANT, Parsed
from .cli_common import load_or_exit as _load_or_exit
from .protocol import Camera, Packet
from .scenario import ScenarioError, load_scenario
from .terminal import printable
from .transport.targets import target_problem


# what writing an output can fail with (a full disk or quota, a file too large, a device's error)
_WRITE_FAILURES = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS, errno.EBADF}


class _Commands(click.Group):
    """ffsim's commands; an output that cannot be written (a full disk behind `> file`, a device
    that refuses) is one line and exit 1, not a traceback. (A reader that has gone, EPIPE, is
    click's own quiet exit.)"""

    def main(self, *args, **kwargs):
        try:
            try:
                return super().main(*args, **kwargs)
            finally:  # what is still buffered fails here, within reach, not at the interpreter's exit
                sys.stdout.flush()
        except OSError as exc:
            if exc.errno not in _WRITE_FAILURES:
                raise  # EPIPE is click's; anything else is not an output's and must not be worded as one
            if exc.filename:
                what = f"cannot write {printable(exc.filename)}"
            else:  # standard output: what is left in its buffer would fail again at exit
                what = "cannot write its output"
                try:
                    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                except (OSError, ValueError):
                    pass
            sys.stderr.write(f"ffsim: error: {what}: {exc.strerror or exc}\n")
            sys.exit(1)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ffsim",
                      message=f"%(prog)s %(version)s ({'compiled' if COMPILED else 'pure Python'})")
def main() -> None:
    """Simulate the camera side of CAMMRA / AXIS License Plate Verifier FF-Events."""


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-q", "--quiet", is_flag=True, help="Print nothing for valid files.")
def validate(files: tuple[str, ...], quiet: bool) -> None:
    """Check scenario (or fleet) FILES; print FILE:LINE:COL: message for each problem."""
    from .scenario.fleet import is_fleet_file, load_fleet

    failed = False
    for path in files:
        try:
            if is_fleet_file(path):
                load_fleet(path)
            else:
                load_scenario(path)
        except ScenarioError as exc:
            failed = True
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            continue
        if not quiet:
            click.echo(f"{path}: ok")
    sys.exit(1 if failed else 0)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--profile", "profile_id", type=int, help="Only this profile's packets.")
@click.option("--until", "until_us", type=DURATION, help="Stop at this virtual time (e.g. 1h); inclusive.")
@click.option("--start", "start_us", type=INSTANT,
              help="Virtual t=0 (ISO 8601; without an offset, in the camera's time zone).")
@click.option("--payload-only", is_flag=True, help="Print each payload exactly as the camera's JSON bytes.")
@click.option("--http", "http_url", metavar="URL", help="As `run --http URL` would send them (HTTP profiles).")
@click.option("--tcp", "tcp_target", metavar="HOST:PORT", help="As `run --tcp HOST:PORT` would send them.")
@click.option("--no-faults", is_flag=True, help="Leave out the scenario's faults (to compare with a good day).")
def events(file: str, profile_id: int | None, until_us: int | None, start_us: str | None, payload_only: bool,
           http_url: str | None, tcp_target: str | None, no_faults: bool) -> None:
    """Print every event the camera would send, in send order, without sending.

    One JSON line per packet: {"time": <send time, epoch ms>, "profile": N, "payload": {...}}.
    A packet a fault touched has "fault": [{"type": ..., "name": ..., ...}] before its payload
    (the mark is not in the payload). With --http or --tcp the payloads are those `ffsim run`
    sends with the same option (a TCP profile carries no image by default, an HTTP one does).
    """
    if http_url and tcp_target:
        raise click.UsageError("give --http or --tcp, not both")
    for protocol, target in (("http", http_url), ("tcp", tcp_target)):
        problem = target and target_problem(protocol, target)
        if problem:
            click.echo(f"ffsim: error: {problem}", err=True)
            sys.exit(1)
    scenario = _load_or_exit(file).retargeted(http_url, tcp_target)
    if no_faults:
        scenario = dataclasses.replace(scenario, faults=())
    if scenario.traffic and until_us is None and any(f.until_us is None for f in scenario.traffic):
        click.echo(f"{file}: a traffic flow has no `until`; the output never ends (use --until)", err=True)
    profiles = None
    if profile_id is not None:
        if scenario.profile(profile_id) is None:
            defined = ", ".join(str(p.id) for p in scenario.profiles)
            click.echo(f"ffsim: error: profile {profile_id} is not defined in {file} (profiles: {defined})", err=True)
            sys.exit(1)
        profiles = [profile_id]
    from .options import start_time

    from .faults.plan import FaultPlan

    camera = Camera(scenario, start_time(scenario, start_us), profiles)
    # a day of traffic is hundreds of MB of JSON: write it in large blocks
    out = open(sys.stdout.fileno(), "wb", buffering=1 << 20, closefd=False)
    plan = FaultPlan(scenario, until_us=until_us)
    sent = (doc for s in plan.apply(camera.packets(until_us)) for doc in s.documents())
    try:
        if payload_only:
            for s in sent:
                out.write(s.packet.json_bytes())
        else:
            for s in sent:
                packet = s.packet
                assert isinstance(packet, Packet)
                mark = ' "fault": %s,' % json.dumps(s.faults) if s.faults else ""
                line = '{"time": %d, "profile": %d,%s "payload": %s}\n' % (
                    packet.epoch_ms + (s.time_us - packet.time_us) // 1000, packet.profile, mark,
                    packet.payload.compact())
                out.write(line.encode("utf-8"))
        out.close()
        if profile_id is None:  # (with one profile, a fault for another strikes nothing here)
            for warning in plan.unstruck():
                click.echo(f"{file}: warning: {warning}", err=True)
    except BrokenPipeError:
        # the reader (head, less) has gone; that is not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
    except KeyboardInterrupt:
        sys.exit(130)


@main.command()
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="The catalogue as JSON.")
def faults(name: str | None, as_json: bool) -> None:
    """The catalogue of faults on purpose: each with a description and a `faults:` snippet.

    With NAME, that fault's snippet alone (to paste into a scenario's faults: list). The
    scenarios/faults/ folder of the package holds one scenario per family."""
    from .faults import CATALOGUE, catalogue_json, entry

    if name is not None:
        found = entry(name)
        if found is None:
            import difflib

            close = difflib.get_close_matches(name, [e.name for e in CATALOGUE], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            click.echo(f"ffsim: error: no fault {name!r}{hint} (`ffsim faults` lists them)", err=True)
            sys.exit(1)
        if as_json:
            click.echo(json.dumps(next(e for e in catalogue_json() if e["name"] == name), indent=2))
        else:
            click.echo(f"faults:\n  - {found.yaml}")
        return
    if as_json:
        click.echo(json.dumps(catalogue_json(), indent=2))
        return
    width = max(len(e.name) for e in CATALOGUE)
    for e in CATALOGUE:
        click.echo(f"{e.name:<{width}}  {e.family:<9}  {e.description}")
        click.echo(f"{'':<{width}}  {'':<9}  faults: [{e.yaml}]")
    from . import fault_scenarios

    folder = next(iter(fault_scenarios().values())).parent
    click.echo(f"\n{len(CATALOGUE)} faults in {len(set(e.family for e in CATALOGUE))} families; a scenario per "
               f"family: {folder}/FAMILY.yaml")


class _Speed(click.ParamType):
    name = "1|N|max"

    def convert(self, value, param, ctx):
        if value == "max":
            return None
        try:
            speed = float(value)
        except ValueError:
            speed = -1.0
        if not speed > 0:
            self.fail(f"expected 1 (real time), a factor such as 10, or max; got {value!r}", param, ctx)
        return speed


UNSENT_SHOWN = 20  # the buffered events listed after a Ctrl-C (a full buffer holds 1000)


def _play(runner):
    """Play a Run in a thread of its own, so that a Ctrl-C lands in this one, never in the
    middle of the engine (compiled code must not be interrupted); the first Ctrl-C stops the
    run, and later ones are ignored until its summary is out (within a second)."""
    import signal

    def terminate(signum, frame):  # a SIGTERM (timeout, docker stop, CI) stops it as Ctrl-C does
        raise KeyboardInterrupt

    terminated = signal.signal(signal.SIGTERM, terminate)
    runner.start()
    try:
        while (summary := runner.wait(0.25)) is None:
            pass
        return summary
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        return runner.stop(timeout=60)
    finally:
        signal.signal(signal.SIGTERM, terminated)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--http", "http_url", metavar="URL", help="Send every profile's events to this URL.")
@click.option("--tcp", "tcp_target", metavar="HOST:PORT", help="Send every profile's events over TCP here.")
@click.option("--speed", type=_Speed(), default="1", show_default=True,
              help="1 = real time, N = N times faster, max = as fast as the receiver takes them.")
@click.option("--until", "until_us", type=DURATION, help="Stop at this virtual time (e.g. 10m).")
@click.option("--start", "start_us", type=INSTANT,
              help="Virtual t=0 (ISO 8601; without an offset, in the camera's time zone).")
@click.option("--drain", "drain_us", type=DURATION, default="60s", show_default=True,
              help="At the end, wait this long for buffered events to be delivered.")
@click.option("-q", "--quiet", is_flag=True, help="No line per event.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--junit", "junit_file", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="Write a JUnit XML report: a test case per packet, failed when not delivered.")
def run(file, http_url, tcp_target, speed, until_us, start_us, drain_us, quiet, as_json, junit_file) -> None:
    """Send the scenario's events to receivers over HTTP or TCP, as the camera does.

    Exit 0 when every event was delivered, 1 otherwise, 2 for a usage error.
    """
    # imported here so that validate and events do not load libcurl
    from .runner import LivePrinter
    from .session import Run
    from .transport import TargetError

    if http_url and tcp_target:
        raise click.UsageError("give --http or --tcp, not both")
    scenario = _load_or_exit(file)
    # with --json, standard output is the JSON alone: lines for people go to standard error
    printer = LivePrinter(sys.stderr if as_json else None, not quiet, scenario.camera.timezone)
    report = None
    if junit_file:
        from .junit import JUnitReport

        report = JUnitReport(scenario.name or Path(file).stem)
        _writable_or_exit(junit_file)

    def on_attempt(attempt) -> None:
        printer.attempt(attempt)
        if report is not None:
            report.attempt(attempt)
    try:
        runner = Run(scenario, http=http_url, tcp=tcp_target, speed="max" if speed is None else speed,
                     until=until_us / 1e6 if until_us is not None else None,
                     start=start_us, drain=drain_us / 1e6, keep_attempts=False, on_attempt=on_attempt)
    except TargetError as exc:
        click.echo(f"ffsim: error: {exc}", err=True)
        sys.exit(1)
    embedded = runner.receiver if runner.embedded else None
    if embedded is not None and not quiet:
        click.echo(f"no target given: sending to the built-in receiver ({embedded.http_url}, tcp "
                   f"{embedded.tcp_address})", err=as_json)
    if runner.endless:
        click.echo(f"{file}: a traffic flow has no `until`; the run never ends (use --until or Ctrl-C)", err=True)
    summary = _play(runner)
    if embedded is not None:
        from .receiver.live import findings_text, summary_text

        click.echo("built-in receiver: " + summary_text(runner.receiver_summary), err=as_json)
        if not quiet and (embedded.violations or embedded.notices):
            click.echo(findings_text(embedded.violations, embedded.notices), err=as_json)
    if summary.interrupted:
        unsent = runner.unsent()
        never = summary.not_sent_total  # never handed over: the run stopped before them
        rest = "the rest of the scenario" if never is None else f"{never} more"
        click.echo(f"interrupted: {len(unsent)} event(s) not delivered (buffered); {rest} never sent", err=True)
        for label in unsent[:UNSENT_SHOWN]:
            click.echo(f"  unsent: profile {label['profile']} {label['state']} car {label['carID']} "
                       f"{label['plate']}", err=True)
        if len(unsent) > UNSENT_SHOWN:
            click.echo(f"  ... and {len(unsent) - UNSENT_SHOWN} more", err=True)
    if summary.fatal:
        click.echo(f"ffsim: error: {summary.fatal}", err=True)
    for line in runner.unstruck_faults():
        click.echo(f"{file}: warning: {line}", err=True)
    if as_json:
        output = json.loads(summary.as_json())
        if embedded is not None:
            output["receiver"] = runner.receiver_summary
        click.echo(json.dumps(output))
    else:
        click.echo(summary.table())
    violations = list(embedded.violations) if embedded is not None else None
    if report is not None:
        report.buffered(runner.runner.dispatcher.pending())
        try:
            report.write(junit_file, summary, violations)
        except OSError as exc:
            click.echo(f"ffsim: error: cannot write {junit_file}: {exc.strerror or exc}", err=True)
            sys.exit(1)
    sys.exit(0 if summary.delivered_all else 1)


def _writable_or_exit(path: str | None) -> None:
    """Create (or empty) an output file now, owner-only, so that a path that cannot be written
    is an error before a long run rather than after it."""
    if path:
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        except OSError as exc:
            click.echo(f"ffsim: error: cannot write {path}: {exc.strerror or exc}", err=True)
            sys.exit(1)


def _write_or_exit(path: str, write) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "w", encoding="utf-8", newline="") as f:
            write(f)
    except OSError as exc:
        click.echo(f"ffsim: error: cannot write {path}: {exc.strerror or exc}", err=True)
        sys.exit(1)


def _threshold(value: str):
    from .load.thresholds import parse_threshold

    return parse_threshold(value)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--cameras", type=click.IntRange(1, 10_000), help="With a scenario file or a recording: this many "
              "cameras of it (device ids CAMERA-001..., each its own seed).")
@click.option("--ramp", "ramp_us", type=DURATION, help="With --cameras: the cameras join one by one over this period.")
@click.option("--seed", type=int, default=0, help="With --cameras: the fleet's seed (each camera's derives from it).")
@click.option("--http", "http_url", metavar="URL", help="Send every camera's events to this URL.")
@click.option("--tcp", "tcp_target", metavar="HOST:PORT", help="Send every camera's events over TCP here.")
@click.option("--speed", type=_Speed(), default="1", show_default=True,
              help="1 = real time, N = N times faster, max = as fast as the receiver takes them.")
@click.option("--until", "until_us", type=DURATION, help="End the load at this virtual time (over the fleet's duration).")
@click.option("--start", "start_us", type=INSTANT, help="Virtual t=0 (ISO 8601); default: now.")
@click.option("--drain", "drain_us", type=DURATION, default="60s", show_default=True,
              help="At the end, wait this long for buffered events to be delivered.")
@click.option("--threshold", "thresholds", type=Parsed("EXPR", _threshold), multiple=True, metavar="EXPR",
              help="Pass/fail, as k6 writes them: 'p99<500ms', 'rejected==0', 'gate:lateness_p99<50ms'. Repeatable.")
@click.option("--verify", "verify_dir", type=click.Path(file_okay=False), metavar="DIR",
              help="The --out folder of the `ffsim receive` receiving: compare delivered with what it stored.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the per-second time series (per group and in total) as CSV.")
@click.option("--report", "report_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write a self-contained HTML report with plots.")
@click.option("-q", "--quiet", is_flag=True, help="No live view.")
def load(file, cameras, ramp_us, seed, http_url, tcp_target, speed, until_us, start_us, drain_us, thresholds,
         verify_dir, as_json, csv_file, report_file, quiet) -> None:
    """Play a fleet of cameras against a receiver and measure it.

    FILE is a fleet file (groups of cameras made from scenarios), a scenario file with
    --cameras N, or recorded traffic of one camera (a capture of ffsim receive, or JSON
    lines of payloads) with --cameras N, re-keyed per camera. Exit 0 when every threshold holds (without thresholds: when every event was
    delivered, and stored once by the built-in receiver when it received), 1 otherwise, 2 for
    a usage error.
    """
    import signal

    from .load.run import LoadRun
    from .load.source import RecordingError, fleet_of
    from .load.thresholds import results, validate_groups
    from .load.view import LiveView, print_summary
    from .transport import TargetError

    if http_url and tcp_target:
        raise click.UsageError("give --http or --tcp, not both")
    try:
        fleet = fleet_of(file, cameras, ramp_us or 0, seed)
    except ScenarioError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)
    except RecordingError as exc:
        click.echo(f"ffsim: error: {exc}", err=True)
        sys.exit(1)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    skipped = getattr(fleet, "skipped", None)
    if skipped is not None and skipped.count:
        for message in skipped.messages[:UNSENT_SHOWN]:
            click.echo(f"skipped: {message}", err=True)
        if skipped.count > UNSENT_SHOWN:
            click.echo(f"skipped: ... and {skipped.count - UNSENT_SHOWN} more line(s)", err=True)
    try:
        validate_groups(thresholds, fleet.groups())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--threshold") from None
    _writable_or_exit(csv_file)
    _writable_or_exit(report_file)
    try:
        handle = LoadRun(fleet, http=http_url, tcp=tcp_target, speed="max" if speed is None else speed,
                         until=until_us / 1e6 if until_us is not None else None, start=start_us,
                         drain=drain_us / 1e6, verify=verify_dir)
    except (TargetError, ValueError) as exc:
        click.echo(f"ffsim: error: {exc}", err=True)
        sys.exit(1)
    if handle.embedded and not quiet:
        click.echo(f"no target given: sending to the built-in receiver ({handle.receiver.http_url}, tcp "
                   f"{handle.receiver.tcp_address})", err=True)
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    title = f"ffsim load {fleet.name}: {handle.camera_count} camera(s), speed {'max' if speed is None else f'{speed:g}'}"
    # the run plays in a thread of its own: a Ctrl-C lands here, never inside the engine; a
    # SIGTERM (timeout, docker stop, CI) stops it the same way, with the summary and outputs
    terminated = signal.signal(signal.SIGTERM, lambda signum, frame: handle.stop())
    handle.start()
    try:
        with LiveView(sys.stderr, title) if not quiet else _NoView() as view:
            try:
                while (summary := handle.wait(0.25)) is None:
                    view.update(handle.snapshot)
            except KeyboardInterrupt:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                handle.stop()
                summary = handle.wait()
    finally:
        signal.signal(signal.SIGTERM, terminated)
    summary.thresholds = results(thresholds, summary.totals)
    target = "built-in receiver" if handle.embedded else _shown_target(http_url, tcp_target, fleet)
    if as_json:
        output = {"source": file, "target": target, "started": started, **summary.as_dict()}
        if handle.embedded:
            output["receiver"] = handle.receiver_summary
        click.echo(json.dumps(output))
    else:
        print_summary(summary, sys.stdout)
    if csv_file:
        _write_or_exit(csv_file, handle.stats.to_csv)
    if report_file:
        from .load.report import render_report, write_report

        meta = {"fleet": fleet.name, "source": file, "cameras": handle.camera_count, "groups": summary.groups,
                "speed": "max" if speed is None else f"{speed:g}", "duration_s": summary.duration_s,
                "target": target,
                "started": started, "ffsim_version": __version__, "end_to_end": summary.end_to_end,
                "interrupted": summary.interrupted}
        try:
            write_report(report_file, render_report(handle.stats, meta, summary.thresholds))
        except OSError as exc:
            click.echo(f"ffsim: error: cannot write {report_file}: {exc.strerror or exc}", err=True)
            sys.exit(1)
    if summary.fatal:
        click.echo(f"ffsim: error: {summary.fatal[0]}" + (f" (and {len(summary.fatal) - 1} more)"
                                                          if len(summary.fatal) > 1 else ""), err=True)
    failed = [t for t in summary.thresholds if not t["ok"]]
    for t in failed:
        click.echo(f"ffsim: threshold failed: {t['text']} ({t['detail']})", err=True)
    sys.exit(0 if summary.ok else 1)


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def locust(args) -> None:
    """Run Locust with ffsim's locustfile: a fleet on Locust's master and workers.

    Every argument goes to locust (`ffsim locust --help` shows Locust's help, its "ffsim"
    section included), e.g. `ffsim locust --worker` and `ffsim locust --master --headless
    --expect-workers 2 -u 50 -r 10 --ffsim-fleet fleet.yaml --ffsim-http URL`. The web UI
    (local mode and master) and a master's port listen on 127.0.0.1 unless --web-host /
    --master-bind-host (or LOCUST_WEB_HOST / LOCUST_MASTER_BIND_HOST) say otherwise. Needs the
    extra: pip install 'ffsim[locust]'.
    """
    import shutil

    from . import load as load_package

    # the path only: importing ffsim.load.locust would let Locust monkey-patch this process
    locustfile = Path(load_package.__file__).with_name("locustfile.py")
    program = shutil.which("locust", path=os.pathsep.join([str(Path(sys.executable).parent),
                                                          os.environ.get("PATH", "")]))
    if program is None:
        click.echo("ffsim: error: Locust is not installed: pip install 'ffsim[locust]'", err=True)
        sys.exit(1)
    args = list(args)
    # secure by default: Locust's web UI (local mode and master) and its master's port listen on
    # every interface unless told; on loopback here, and --web-host 0.0.0.0 / --master-bind-host
    # 0.0.0.0 (or LOCUST_WEB_HOST / LOCUST_MASTER_BIND_HOST) open them to other machines
    injected = []
    if "--worker" not in args:
        injected.append(("--web-host", "LOCUST_WEB_HOST"))
    if "--master" in args:
        injected.append(("--master-bind-host", "LOCUST_MASTER_BIND_HOST"))
    for option, variable in injected:
        if not os.environ.get(variable) and not any(a == option or a.startswith(option + "=") for a in args):
            args += [option, "127.0.0.1"]
    os.execv(program, [program, "-f", str(locustfile), *args])


class _NoView:
    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def update(self, snapshot) -> None:
        pass


def _shown_target(http_url: str | None, tcp_target: str | None, fleet) -> str:
    from .transport.targets import shown_url

    if http_url:
        return shown_url(http_url)
    if tcp_target:
        return f"tcp {tcp_target}"
    targets = sorted({shown_url(c.target[1]) if c.target[0] == "http" else f"tcp {c.target[1]}"
                      for c in getattr(fleet, "cameras", ()) if c.target is not None})
    return ", ".join(targets[:5]) + (f" and {len(targets) - 5} more" if len(targets) > 5 else "") or \
        "the scenarios' own targets"


@main.command()
@click.argument("source", type=click.Path(dir_okay=False, exists=True))
@click.option("--http", "http_url", metavar="URL", help="Send to this URL.")
@click.option("--tcp", "tcp_target", metavar="HOST:PORT", help="Send over TCP here.")
@click.option("--speed", type=_Speed(), default="1", show_default=True,
              help="1 = the recorded timing, N = N times faster, max = as fast as the receiver takes it.")
@click.option("--now", is_flag=True, help="Re-time payloads so that the first capture is now.")
@click.option("--renumber", is_flag=True, help="Number packetCounter again from 1 per profile.")
@click.option("--device-id", help="Replace sensorProviderID.")
@click.option("--format", "fmt", type=click.Choice(["multipart", "json"]), default="multipart", show_default=True,
              help="How payloads go over HTTP.")
@click.option("--drain", "drain_us", type=DURATION, default="60s", show_default=True)
@click.option("--basic", metavar="USER:PASSWORD", help="HTTP Basic auth for every request (a capture's included).")
@click.option("--auth-header", metavar="NAME:VALUE", help="This header with every request (a capture's included).")
@click.option("-q", "--quiet", is_flag=True, help="No line per packet.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def replay(source, http_url, tcp_target, speed, now, renumber, device_id, fmt, drain_us, basic, auth_header, quiet,
           as_json) -> None:
    """Send recorded traffic again: a receiver's capture.jsonl (byte for byte, timing scaled)
    or JSON lines of payloads (from ffsim events, a receiver's packets.jsonl, or a camera).
    A damaged line (torn by a crash, not JSON, wrong fields) is reported and skipped."""
    from pathlib import Path

    from .replay import Skipped, load_source, replay as send
    from .runner import LivePrinter
    from .transport import TargetError

    credentials = _credentials(basic, auth_header)
    skipped, notes = Skipped(), []
    try:
        entries = load_source(Path(source), skipped)
        for message in skipped.messages[:20]:  # they quote the file: shown safe
            click.echo(f"ffsim: {printable(message)}", err=True)
        if skipped.count > 20:
            click.echo(f"ffsim: {printable(source)}: {skipped.count - 20} more line(s) skipped", err=True)
        summary = send(entries, http_url, tcp_target, speed, now, renumber, device_id, LivePrinter(enabled=not quiet),
                       drain_us / 1e6, fmt == "json", credentials["--basic"], credentials["--auth-header"], notes)
    except (ValueError, TargetError) as exc:
        click.echo(f"ffsim: error: {printable(exc)}", err=True)
        sys.exit(1)
    if summary.fatal:
        click.echo(f"ffsim: error: {summary.fatal}", err=True)
    click.echo(summary.as_json() if as_json else summary.table())
    for note in notes:
        click.echo(f"ffsim: {note}", err=True)
    if skipped.bad:
        click.echo(f"ffsim: {skipped.bad} bad line(s) of {printable(source)} not replayed (listed above)", err=True)
    sys.exit(0 if summary.delivered_all and not skipped.bad else 1)


def _credentials(basic: str | None, auth_header: str | None) -> dict:
    """--basic USER:PASSWORD and --auth-header NAME:VALUE checked (no secret in the messages)
    as {option: (name, secret) or None}; a usage error for a bad one."""
    from .replay import parse_credential

    credentials = {}
    for option, value in (("--basic", basic), ("--auth-header", auth_header)):
        try:
            credentials[option] = parse_credential(value, option) if value is not None else None
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint=option) from None
    return credentials


def _demo_folder(base: str) -> str:
    """A new folder under base for one demo's capture, named by the time (-2, -3 ... on a clash)."""
    from pathlib import Path

    base = Path(base)
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1, 1000):
        folder = base / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            folder.mkdir(mode=0o700)
            return str(folder)
        except FileExistsError:
            continue
    raise FileExistsError(f"{base} holds too many demo folders named {stamp}")


@main.command()
@click.option("--speed", type=_Speed(), default="2", show_default=True, help="1 = real time, max = at once.")
@click.option("--out", type=click.Path(file_okay=False),
              help="Where the built-in receiver stores packets and images: a new or empty folder "
                   "(default: a new folder per demo in ffsim-demo/, named by the date and time).")
def demo(speed, out) -> None:
    """A minute at a car-park entrance, sent over HTTP and TCP to the built-in receiver (about 30 s)."""
    from pathlib import Path

    from .receiver.live import findings_text, summary_text
    from .receiver.server import Receiver, StorageError, holds_capture
    from .runner import LivePrinter
    from .session import Run

    scenario = _load_or_exit(str(Path(__file__).with_name("demo.yaml")))
    try:
        if out is None:
            out = _demo_folder("ffsim-demo")
        elif holds_capture(Path(out)):
            raise FileExistsError
    except FileExistsError:
        click.echo(f"ffsim: error: {out} already holds a capture (an earlier demo's?); give another --out, "
                   "or delete it yourself first", err=True)
        sys.exit(1)
    except OSError as exc:
        click.echo(f"ffsim: error: cannot store in {out}: {exc.strerror or exc}", err=True)
        sys.exit(1)
    receiver = Receiver(http="127.0.0.1:0", tcp="127.0.0.1:0", out=out, speed=speed,
                        lost_timeout_s=scenario.recognition.lost_timeout_us / 1e6)
    try:
        receiver.start()
    except FileExistsError:  # written to since the check above
        click.echo(f"ffsim: error: {out} already holds a capture; give another --out, or delete it yourself first",
                   err=True)
        sys.exit(1)
    except StorageError as exc:
        click.echo(f"ffsim: error: {exc}", err=True)
        sys.exit(1)
    runner = Run(scenario, speed="max" if speed is None else speed, drain=30.0, receiver=receiver,
                 keep_attempts=False, on_attempt=LivePrinter().attempt)
    scenario = runner.scenario  # with the receiver's addresses
    click.echo(f"ffsim demo: 5 vehicles at a car-park entrance, {scenario.profiles[0].url} (HTTP multipart) and "
               f"{receiver.tcp_address} (TCP), at speed {'max' if speed is None else f'{speed:g}'}")
    summary = _play(runner)
    receiver.stop()
    click.echo(summary.table())
    click.echo("built-in receiver: " + summary_text(receiver.summary()))
    if receiver.violations or receiver.notices:
        click.echo(findings_text(receiver.violations, receiver.notices))
    click.echo(f"stored: {Path(out) / 'packets.jsonl'} (every packet), {Path(out) / 'images'} "
               f"({len(list((Path(out) / 'images').iterdir()))} images), {Path(out) / 'capture.jsonl'} (raw capture)")
    sys.exit(0 if summary.delivered_all and not receiver.violations else 1)


@main.command()
@click.option("--http", "http_bind", type=BIND, metavar="HOST:PORT",
              help="Listen for HTTP here (default 127.0.0.1:8080 when neither --http nor --tcp is given).")
@click.option("--tcp", "tcp_bind", type=BIND, metavar="HOST:PORT", help="Listen for JSON over TCP here.")
@click.option("--out", type=click.Path(file_okay=False), help="Store packets, images and a raw capture here.")
@click.option("--respond", type=click.IntRange(200, 599), default=200, show_default=True,
              help="HTTP status to answer (200-599).")
@click.option("--delay", "delay_us", type=DURATION, default="0s", help="Wait this long before answering.")
@click.option("--fail-rate", type=click.FloatRange(0, 1), default=0.0, help="Share of requests answered 503.")
@click.option("--basic", metavar="USER:PASSWORD", help="Require HTTP Basic auth.")
@click.option("--auth-header", metavar="NAME:VALUE", help="Require this header.")
@click.option("--tls-cert", type=click.Path(dir_okay=False, exists=True),
              help="Serve HTTPS with this certificate (PEM); needs --tls-key.")
@click.option("--tls-key", type=click.Path(dir_okay=False, exists=True), help="The certificate's key (PEM).")
@click.option("--lost-timeout", "lost_us", type=DURATION, default="5s", show_default=True,
              help="The senders' lost timeout, for the Lost timing check (judged in each sender's own "
                   "time: its clock rate is inferred from payload times against arrival times).")
@click.option("--capture-secrets", is_flag=True,
              help="Keep credentials (Authorization, X-Auth-Key, the --auth-header) in clear in capture.jsonl, "
                   "for a byte-exact replay; by default their values are stored as ***.")
@click.option("--max-connections", type=click.IntRange(1, 100_000), default=256, show_default=True,
              help="TCP connections open at once, and HTTP bodies being read at once; more wait their turn.")
@click.option("--processes", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes that parse, check and store, sharded by camera (more cores; "
                   "1: all in one process).")
@click.option("-q", "--quiet", is_flag=True, help="No line per packet.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON at exit.")
def receive(http_bind, tcp_bind, out, respond, delay_us, fail_rate, basic, auth_header, tls_cert, tls_key,
            lost_us, capture_secrets, max_connections, processes, quiet, as_json) -> None:
    """Receive, validate and store FF-Events until Ctrl-C (from ffsim or a real camera)."""
    import signal
    import ssl
    import threading

    from .receiver.live import LiveView, summary_text
    from .receiver.server import Receiver, StorageError

    credentials = _credentials(basic, auth_header)
    for option, pair in credentials.items():
        if pair is not None and not pair[1]:
            raise click.BadParameter("the secret is empty (anyone would be let in)", param_hint=option)
    if bool(tls_cert) != bool(tls_key):
        given, missing = ("--tls-cert", "--tls-key") if tls_cert else ("--tls-key", "--tls-cert")
        raise click.UsageError(f"{given} needs {missing}: HTTPS wants the certificate and its key")
    if not http_bind and not tcp_bind:
        http_bind = "127.0.0.1:8080"
    context = None
    if tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(tls_cert, tls_key)
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError: not PEM, or a key of another certificate
            click.echo(f"ffsim: error: TLS: cannot use {tls_cert} with the key {tls_key}: "
                       f"{getattr(exc, 'reason', None) or getattr(exc, 'strerror', None) or exc}", err=True)
            sys.exit(1)

    def interrupt(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    receiver = Receiver(http_bind, tcp_bind, out, respond, delay_us / 1e6, fail_rate,
                        basic=credentials["--basic"], auth_header=credentials["--auth-header"],
                        ssl_context=context, lost_timeout_s=lost_us / 1e6, on_record=LiveView(quiet=quiet),
                        max_connections=max_connections, capture_secrets=capture_secrets, processes=processes)
    try:  # Ctrl-C (or SIGTERM) stops it at any moment from here on, without a traceback
        try:
            receiver.start()
        except (FileExistsError, StorageError) as exc:
            click.echo(f"ffsim: error: {exc}", err=True)
            sys.exit(1)
        except (OSError, ValueError) as exc:  # address in use or not ours, a host name that does not resolve
            click.echo(f"ffsim: error: cannot listen: {getattr(exc, 'strerror', None) or exc}", err=True)
            sys.exit(1)
        where = ", ".join(x for x in (receiver.http_url and f"HTTP {receiver.http_url}",
                                      receiver.tcp_address and f"TCP {receiver.tcp_address}") if x)
        click.echo(f"listening: {where}" + (f"; storing in {out}" if out else ""), err=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    for number in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C does not cut the summary short
        signal.signal(number, signal.SIG_IGN)
    receiver.stop()
    summary = receiver.summary()
    click.echo(json.dumps(summary) if as_json else summary_text(summary))



# authoring (issue 12): commands of their own modules
from .cli_init import init_command  # noqa: E402 - after main, which it is added to
from .cli_explain import explain_command  # noqa: E402
from .cli_import import import_group  # noqa: E402
from .cli_preview import preview_command  # noqa: E402
from .cli_schema import schema_command  # noqa: E402

main.add_command(init_command, "init")
main.add_command(schema_command, "schema")
main.add_command(preview_command, "preview")
main.add_command(explain_command, "explain")
main.add_command(import_group, "import")

if __name__ == "__main__":  # pragma: no cover
    main()
