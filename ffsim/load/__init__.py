"""Load runs (issue 10): measurements and thresholds.

``stats`` keeps HdrHistogram-based measurements per camera group and in total, per second
and for the whole run; ``thresholds`` parses and checks k6-style pass/fail expressions.
Both are sans-I/O: no clock reads, no sockets; the caller passes the time.
"""

from ffsim.load.stats import LoadStats
from ffsim.load.thresholds import Threshold, check_all, parse_threshold

__all__ = ["LoadStats", "Threshold", "check_all", "parse_threshold"]
