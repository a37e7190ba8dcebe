"""`ffsim run --junit FILE`: the run as a JUnit XML report, for CI systems that are not Python.

One test case per packet (classname ``ffsim.<scenario>.profile<N>``, name with its
packetCounter, state, carID and plate): it passes when the packet was delivered, and
fails with every answer it got otherwise (rejected, dropped, still buffered at the
end). Packets the run never handed over (it stopped first) fail in one case of their
own, and so do the built-in receiver's protocol violations when it received.
Written with the standard library's ElementTree; the format is the one Jenkins,
GitLab, GitHub Actions reporters and Azure read (``testsuites/testsuite/testcase``
with ``failure`` children).
"""

from __future__ import annotations

import os
import re
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from .session import Attempt
from .transport import Outcome
from .transport.dispatch import Summary


# characters XML 1.0 cannot hold, even escaped
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _safe(text: str) -> str:
    return _NOT_XML.sub(lambda m: "\\x%02x" % ord(m.group()) if ord(m.group()) < 256 else "\\u%04x" % ord(m.group()),
                        text)


@dataclass
class _Packet:
    first: Attempt
    answers: list[str] = field(default_factory=list)
    seconds: float = 0.0
    delivered: bool = False
    finished: bool = False  # delivered, rejected or dropped


class JUnitReport:
    """Collects attempts (pass ``collector.attempt`` as on_attempt), then writes the XML.
    It keeps one small entry per packet, not the payloads."""

    MAX_ANSWERS = 20  # answers kept per packet (a receiver down for hours: thousands of retries)

    def __init__(self, name: str):
        self.name = name
        self.packets: dict[tuple[int, str, int], _Packet] = {}
        self._lock = threading.Lock()

    def attempt(self, attempt: Attempt) -> None:
        key = (attempt.profile, attempt.counter, attempt.time_ms)
        with self._lock:
            packet = self.packets.setdefault(key, _Packet(attempt))
            if len(packet.answers) < self.MAX_ANSWERS:
                packet.answers.append(f"attempt {attempt.number}: {attempt.detail}" if attempt.number
                                      else f"before any attempt: {attempt.detail}")
            packet.seconds += attempt.latency_s or 0.0
            packet.delivered |= attempt.ok
            packet.finished |= attempt.ok or attempt.rejected or attempt.dropped

    def buffered(self, items) -> None:
        """The events still buffered at the end (transport.delivery.Item): those never
        attempted become failing cases too."""
        for item in items:
            attempt = Attempt.of(int(item.label.get("profile", 0)), item, Outcome(False, "not sent", cancelled=True))
            with self._lock:  # known (attempted) or not, it is not delivered: no answer to add
                self.packets.setdefault((attempt.profile, attempt.counter, attempt.time_ms), _Packet(attempt))

    def tree(self, summary: Summary, violations: list[str] | None = None) -> ET.ElementTree:
        suite = ET.Element("testsuite", name=_safe(f"ffsim.{self.name}"))
        failures = 0
        with self._lock:
            packets = list(self.packets.values())
        for packet in packets:
            a = packet.first
            where = "heartbeat" if a.profile == 0 else f"profile{a.profile}"
            label = f"packet {a.counter} {a.state} car {a.car_id} {a.plate}" if a.counter else f"{a.state} {a.time_ms}"
            case = ET.SubElement(suite, "testcase", classname=f"ffsim.{self.name}.{where}", name=_safe(label),
                                 time=f"{packet.seconds:.3f}")
            if not packet.delivered:
                failures += 1
                if packet.finished and packet.answers:
                    why = packet.answers[-1].split(": ", 1)[-1]
                elif packet.answers:
                    why = f"not delivered, still buffered at the end (last: {packet.answers[-1].split(': ', 1)[-1]})"
                else:
                    why = "not delivered, still buffered at the end (never attempted)"
                failure = ET.SubElement(case, "failure", message=_safe(why), type="not delivered")
                failure.text = _safe("\n".join(packet.answers))
        never = summary.not_sent_text()
        case = ET.SubElement(suite, "testcase", classname=f"ffsim.{self.name}", name="every packet handed over")
        if never:
            failures += 1
            ET.SubElement(case, "failure", message=never, type="not sent")
        if summary.fatal:
            failures += 1
            case = ET.SubElement(suite, "testcase", classname=f"ffsim.{self.name}", name="targets usable")
            ET.SubElement(case, "failure", message=_safe(summary.fatal), type="fatal")
        if violations is not None:
            case = ET.SubElement(suite, "testcase", classname=f"ffsim.{self.name}",
                                 name="built-in receiver: no protocol violations")
            if violations:
                failures += 1
                failure = ET.SubElement(case, "failure", message=f"{len(violations)} violation(s)", type="violation")
                failure.text = _safe("\n".join(violations))
        suite.set("tests", str(len(suite)))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
        suite.set("time", f"{sum(p.seconds for p in packets):.3f}")
        root = ET.Element("testsuites")
        root.append(suite)
        ET.indent(root)
        return ET.ElementTree(root)

    def write(self, path: str, summary: Summary, violations: list[str] | None = None) -> None:
        """Write the report (owner-only: it names plates). Call buffered() first."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "wb") as f:
            self.tree(summary, violations).write(f, encoding="utf-8", xml_declaration=True)
