"""What people see of a load run: the live view while it runs and the summary table at the end.

Outside the core: the run publishes a snapshot (``LoadRun.snapshot``, replaced whole four
times a second) and its summary; this module only draws them, with rich. On a terminal the
live view redraws in place; elsewhere (CI logs) a plain line is printed every
``PLAIN_EVERY_S`` seconds.
"""

from __future__ import annotations

from typing import IO, Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ..terminal import printable

PLAIN_EVERY_S = 10.0


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def snapshot_line(s: dict[str, Any]) -> str:
    """One line of progress, for logs."""
    return (f"{s['elapsed_s']:7.1f}s  cameras {s['active']}/{s['cameras']}  delivered {s['delivered']:,}  "
            f"{_rate(s['events_per_s'])}/s  p50 {_ms(s['p50_ms'])} ms  p99 {_ms(s['p99_ms'])} ms  "
            f"failed {s['failed']:,}  retried {s['retried']:,}  dropped {s['dropped']:,}  buffered {s['buffered']:,}")


class LiveView:
    """The live view of a running LoadRun: call update() periodically; a context manager."""

    def __init__(self, stream: IO[str], title: str) -> None:
        self.console = Console(file=stream, highlight=False)
        self.terminal = self.console.is_terminal
        self.title = title
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                                 TimeElapsedColumn(), console=self.console)
        self.task = self.progress.add_task("to the end", total=None)
        self.live: Live | None = None
        self._last_plain = 0.0

    def __enter__(self) -> LiveView:
        if self.terminal:
            self.live = Live(console=self.console, refresh_per_second=4, transient=True)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)

    def update(self, s: dict[str, Any]) -> None:
        if self.live is None:
            if s["elapsed_s"] - self._last_plain >= PLAIN_EVERY_S:
                self._last_plain = s["elapsed_s"]
                self.console.print(snapshot_line(s), markup=False, soft_wrap=True)  # a log's line is one line
            return
        end = s.get("end_s")
        if end:
            self.progress.update(self.task, total=end, completed=min(end, s["elapsed_s"]))
        table = Table.grid(padding=(0, 2))
        for _ in range(6):
            table.add_column(justify="right")
        table.add_row("cameras", f"{s['active']}/{s['cameras']}", "events/s", _rate(s["events_per_s"]),
                      "delivered", f"{s['delivered']:,}")
        table.add_row("p50 ms", _ms(s["p50_ms"]), "p99 ms", _ms(s["p99_ms"]), "max ms", _ms(s["max_ms"]))
        table.add_row("failed", f"{s['failed']:,}", "retried", f"{s['retried']:,}", "conn. errors",
                      f"{s['connection_errors']:,}")
        table.add_row("rejected", f"{s['rejected']:,}", "dropped", f"{s['dropped']:,}", "buffered",
                      f"{s['buffered']:,}")
        self.live.update(Group(Text(printable(self.title), style="bold"), table, self.progress))


COLUMNS = ("cameras", "attempts", "delivered", "events/s", "p50", "p90", "p99", "p99.9", "max", "late p99",
           "retried", "rejected", "dropped", "conn. err", "buffered")


def _row(name: str, cameras: int | str, e: dict[str, Any]) -> list[str]:
    lat, late = e["latency_ms"], e["lateness_ms"]
    return [printable(name), str(cameras), f"{e['attempts']:,}", f"{e['delivered']:,}", _rate(e["events_per_s"]),
            _ms(lat["p50"]), _ms(lat["p90"]), _ms(lat["p99"]), _ms(lat["p99.9"]), _ms(lat["max"]), _ms(late["p99"]),
            f"{e['retried']:,}", f"{e['rejected']:,}", f"{e['dropped']:,}", f"{e['connection_errors']:,}",
            f"{e['buffered']:,}"]


def summary_title(summary: Any) -> str:
    return f"ffsim load: {printable(summary.fleet)}, {summary.cameras} camera(s), {summary.duration_s:.1f} s"


def summary_table(summary: Any) -> Table:
    """Per group and in total: counts, events/s, latency percentiles (ms), lateness p99 (ms)."""
    table = Table()
    table.add_column("group")
    for name in COLUMNS:
        table.add_column(name, justify="right")
    groups = summary.totals["groups"]
    if len(groups) > 1:
        for name, entry in groups.items():
            table.add_row(*_row(name, summary.groups.get(name, ""), entry))
    table.add_row(*_row("total", summary.cameras, summary.total), style="bold")
    return table


def summary_lines(summary: Any) -> list[str]:
    """The lines under the table: answers, accounting, the receiver's check, thresholds."""
    total = summary.total
    lines = []
    if total["statuses"]:
        lines.append("answers: " + ", ".join(f"{'no HTTP status (TCP, or no answer)' if k == 'none' else k}: {v:,}"
                                             for k, v in total["statuses"].items()))
    if total["details"]:
        shown = list(total["details"].items())[:5]
        lines.append("failures: " + "; ".join(f"{printable(k)}: {v:,}" for k, v in shown)
                     + ("; ..." if len(total["details"]) > 5 else ""))
    not_sent = ("unknown (counting the rest would take too long)" if summary.not_sent is None
                else f"{summary.not_sent:,}")
    lines.append(f"events: {summary.handed:,} handed over: {total['delivered']:,} delivered, {total['rejected']:,} "
                 f"rejected, {total['dropped']:,} dropped, {summary.buffered:,} still buffered; never sent: {not_sent}"
                 + (f"; {summary.unconfirmed:,} unconfirmed (TCP connections reset)" if summary.unconfirmed else ""))
    lateness = summary.lateness
    if lateness.get("scheduled"):
        lines.append(f"lateness: {lateness['late']:,} of {lateness['scheduled']:,} handed over more than "
                     f"{lateness['late_after_ms']:g} ms after their time (mean {lateness['mean_ms']:.1f} ms, "
                     f"max {lateness['max_ms']:.1f} ms)")
    e2e = summary.end_to_end
    if e2e is not None:
        verdict = "nothing lost, nothing duplicated" if not e2e["lost"] and not e2e["duplicates"] else "MISMATCH"
        lines.append(f"{printable(e2e.get('checked', 'built-in receiver'))}: {e2e['delivered']:,} delivered, "
                     f"{e2e['stored']:,} stored, "
                     f"{e2e['duplicates']:,} duplicate(s)"
                     + (f" (and {e2e['planned_duplicates']:,} sent on purpose)" if e2e.get("planned_duplicates") else "")
                     + f", {e2e['lost']:,} lost, {e2e['violations']:,} violation(s)"
                     + (f" (and {e2e['planned_faults']:,} packet(s) with a payload fault on purpose)"
                        if e2e.get("planned_faults") else "") + f": {verdict}")
    for fatal in summary.fatal[:10]:
        lines.append(f"stopped: {printable(fatal)}")
    if summary.interrupted:
        lines.append("interrupted: the run was stopped before its end")
    for t in summary.thresholds:
        lines.append(f"threshold {'ok    ' if t['ok'] else 'FAILED'} {printable(t['text'])}: {printable(t['detail'])}")
    return lines


def print_summary(summary: Any, stream: IO[str]) -> None:
    console = Console(file=stream, highlight=False, width=max(160, Console(file=stream).width))
    console.print(summary_title(summary), markup=False, soft_wrap=True)
    console.print(summary_table(summary))
    for line in summary_lines(summary):
        console.print(line, markup=False, soft_wrap=True)
