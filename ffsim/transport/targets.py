"""Target syntax, shared by the scenario loader (at load time) and the transports (at run time)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit


def shown_url(url: str) -> str:
    """The URL as it may be printed: a password in it becomes ***."""
    return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/@:]*):[^/@]*@", r"\1:***@", url)


def http_url_problem(url: str) -> str | None:
    """Why url is not an http(s) URL, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"malformed URL {shown_url(url)!r}: expected http://HOST[:PORT]/PATH or https://..."
    try:
        _ = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError:
        return f"malformed URL {shown_url(url)!r}: bad port"
    return None


def tcp_address(target: str) -> tuple[str, int] | None:
    """(host, port) of HOST:PORT or tcp://HOST:PORT, or None when it is neither."""
    text = target[len("tcp://"):] if target.startswith("tcp://") else target
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host, int(port)


def target_problem(protocol: str, target: str) -> str | None:
    """Why target cannot be a target of protocol, or None."""
    if protocol == "http":
        return http_url_problem(target)
    if tcp_address(target) is None:
        return f"malformed TCP target {target!r}: expected HOST:PORT (or tcp://HOST:PORT)"
    return None
