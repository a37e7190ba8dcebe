"""The receiver's terminal view: a line per packet, violations (red) and notices (yellow)
under it, a summary at the end."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter

from ..terminal import printable
from .server import Record, counted_camera, counted_state

RED, YELLOW, RESET = "\033[31m", "\033[33m", "\033[0m"

# what senders write (plates, device ids, key names, findings quoting them) is shown through
# printable(): a control character becomes its escape, so no sender drives the operator's terminal


class LiveView:
    EVERY = 25  # packets between two count lines

    def __init__(self, stream=None, quiet: bool = False):
        self.stream = stream or sys.stdout
        self.quiet = quiet
        self.colour = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.lock = threading.Lock()
        self.states: Counter = Counter()
        self.cameras: Counter = Counter()
        self.violations = 0
        self.notices = 0

    def __call__(self, record: Record) -> None:
        if self.quiet:
            return
        p = record.payload if isinstance(record.payload, dict) else {}
        def shown(key: str, default: str = "-") -> str:  # any JSON value a sender wrote, as text that lines up
            value = p.get(key, default)
            return value if isinstance(value, str) else json.dumps(value)[:80]

        stamp = time.strftime("%H:%M:%S", time.localtime(record.arrival))
        plate = shown("plateUTF8") if "plateUTF8" in p else shown("plateText")
        line = (f"{stamp}  {record.protocol:<4}  {shown('sensorProviderID', '?'):<10}  p{shown('profileID', '?')}  "
                f"{shown('carState'):<8}  car {shown('carID'):<6}  {plate:<10}  "
                f"{shown('carMoveDirection'):<7}  #{shown('packetCounter')}")
        with self.lock:
            self.states[counted_state(p.get("carState", "other"))] += 1
            self.cameras[counted_camera(p.get("sensorProviderID", "?"), self.cameras)] += 1
            self.violations += len(record.violations)
            self.notices += len(record.notices)
            print(printable(line), file=self.stream)
            for mark, colour, findings in (("!", RED, record.violations), ("~", YELLOW, record.notices)):
                for finding in findings:
                    text = f"    {mark} {finding}"
                    text = printable(text)
                    print(f"{colour}{text}{RESET}" if self.colour else text, file=self.stream)
            if sum(self.states.values()) % self.EVERY == 0:
                counts = ", ".join(f"{k} {v}" for k, v in sorted(self.states.items()))
                cameras = ", ".join(f"{k} {v}" for k, v in sorted(self.cameras.items())[:20])
                print(printable(f"  -- {counts} | {cameras} | violations {self.violations} | notices {self.notices}"),
                      file=self.stream)
            self.stream.flush()


def summary_text(summary: dict) -> str:
    """The summary as lines: counts, findings by rule and severity, then one line per sender
    (the generation it looks like, its UTC offset and clock rate, the Lost timing rule)."""
    lines = [f"packets: {summary['packets']}  violations: {summary['violations']}  "
             f"notices: {summary.get('notices', 0)}"]
    if summary["states"]:
        lines.append("by state: " + ", ".join(f"{k} {v}" for k, v in sorted(summary["states"].items())))
    if summary["cameras"]:
        lines.append("by camera: " + ", ".join(f"{k} {v}" for k, v in sorted(summary["cameras"].items())))
    for severity in ("violations", "notices"):
        by_rule = summary.get("rules", {}).get(severity)
        if by_rule:
            lines.append(f"{severity} by rule: " + ", ".join(f"{k} {v}" for k, v in sorted(by_rule.items())))
    for name, s in sorted(summary.get("senders", {}).items()):
        timing = s["lost_timing"]
        rate = f"{s['clock_rate']:g}x ({s['clock']})" if s["clock_rate"] is not None else "unknown"
        how = timing["status"]
        if timing["checked"] or timing["skipped"]:
            how += f" ({timing['checked']} checked, {timing['skipped']} skipped)"
        if timing["reason"] and timing["status"] != "checked":
            how += f": {timing['reason']}"
        lines.append(f"sender {name}: looks like {s['generation'] or '?'}, UTC offset {s['utc_offset'] or '?'}, "
                     f"clock {rate}, Lost timing {how}; {s['violations']} violation(s), {s['notices']} notice(s)"
                     + ("; started mid-traffic" if s.get("mid_traffic") else ""))
    lines += [f"  ! {v}" for v in summary["open_passages"]]
    if summary.get("open_passage_notices"):
        lines.append(f"  ~ {summary['open_passage_notices']} passage(s) still open when the receiver stopped "
                     "(their Lost may be yet to come)")
    if summary.get("storage_failures"):
        lines.append(f"  ! {summary['storage_failures']} packet(s) could not be stored in --out (answered so that "
                     "the senders send them again): see the storage violations")
    forgotten = {k: v for k, v in (summary.get("forgotten") or {}).items() if v}
    if forgotten:
        lines.append("forgotten to bound memory: " + ", ".join(f"{k} {v}" for k, v in sorted(forgotten.items())))
    return "\n".join(printable(line) for line in lines)


def findings_text(violations: list[str], notices: list[str], limit: int = 20) -> str:
    """The first violations (!) and notices (~) of a run, and how many more there were."""
    lines = []
    for mark, found in (("!", violations), ("~", notices)):
        lines += [f"  {mark} {text}" for text in found[:limit]]
        if len(found) > limit:
            lines.append(f"  {mark} ... and {len(found) - limit} more")
    return "\n".join(printable(line) for line in lines)
