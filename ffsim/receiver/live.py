"""The receiver's terminal view: a line per packet, violations highlighted, a summary at the end."""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter

from .server import Record

RED, RESET = "\033[31m", "\033[0m"


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

    def __call__(self, record: Record) -> None:
        if self.quiet:
            return
        p = record.payload if isinstance(record.payload, dict) else {}
        stamp = time.strftime("%H:%M:%S", time.localtime(record.arrival))
        line = (f"{stamp}  {record.protocol:<4}  {p.get('sensorProviderID', '?'):<10}  p{p.get('profileID', '?')}  "
                f"{p.get('carState', '-'):<6}  car {p.get('carID', '-'):<6}  {p.get('plateUTF8', '-'):<10}  "
                f"{p.get('carMoveDirection', '-'):<7}  #{p.get('packetCounter', '-')}")
        with self.lock:
            self.states[p.get("carState", "other")] += 1
            self.cameras[p.get("sensorProviderID", "?")] += 1
            self.violations += len(record.violations)
            print(line, file=self.stream)
            for violation in record.violations:
                text = f"    ! {violation}"
                print(f"{RED}{text}{RESET}" if self.colour else text, file=self.stream)
            if sum(self.states.values()) % self.EVERY == 0:
                counts = ", ".join(f"{k} {v}" for k, v in sorted(self.states.items()))
                cameras = ", ".join(f"{k} {v}" for k, v in sorted(self.cameras.items()))
                print(f"  -- {counts} | {cameras} | violations {self.violations}", file=self.stream)
            self.stream.flush()


def summary_text(summary: dict) -> str:
    lines = [f"packets: {summary['packets']}  violations: {summary['violations']}"]
    if summary["states"]:
        lines.append("by state: " + ", ".join(f"{k} {v}" for k, v in sorted(summary["states"].items())))
    if summary["cameras"]:
        lines.append("by camera: " + ", ".join(f"{k} {v}" for k, v in sorted(summary["cameras"].items())))
    lines += [f"  ! {v}" for v in summary["open_passages"]]
    return "\n".join(lines)
