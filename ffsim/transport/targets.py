"""Target syntax, shared by the scenario loader (at load time) and the transports (at run time)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit


def shown_url(url: str) -> str:
    """The URL as it may be printed: a password in it becomes ***. Everything from the user's
    colon to the last @ is masked: a password may hold / or @ (unescaped, it breaks the URL, and
    then the message must not show it either); masking a little more is harmless."""
    return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/@:]*):.*@", r"\1:***@", url, flags=re.S)


# what may reach libcurl (a URL) or the resolver (a host): printable ASCII without spaces; a CR or LF
# would end the request line, and libcurl sends other bytes as they are
_PLAIN = re.compile(r"[\x21-\x7e]+")


def _plain_problem(what: str, target: str, hint: str = "") -> str | None:
    if _PLAIN.fullmatch(target):
        return None
    return (f"malformed {what} {shown_url(target)!r}: it must be printable ASCII without spaces, line breaks or "
            f"other control characters{hint}")


def http_url_problem(url: str) -> str | None:
    """Why url is not an http(s) URL, or None."""
    problem = _plain_problem("URL", url, " (percent-encode the rest, e.g. %20 for a space; a host name in its "
                                         "xn-- form)")
    if problem:
        return problem
    try:
        parts = urlsplit(url)  # raises ValueError for a bracketed host that is not an IPv6 address
        hostname = parts.hostname
    except ValueError:
        return f"malformed URL {shown_url(url)!r}: bad host (an IPv6 address goes in brackets: http://[::1]:8080/)"
    if parts.scheme not in ("http", "https") or not hostname:
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
    # ASCII digits only: "²" is a digit to str.isdigit() and not to int()
    if not sep or not host or not (port.isascii() and port.isdigit() and len(port) <= 5) or not 0 < int(port) < 65536:
        return None
    return host, int(port)


def target_problem(protocol: str, target: str) -> str | None:
    """Why target cannot be a target of protocol, or None."""
    if protocol == "http":
        return http_url_problem(target)
    if tcp_address(target) is None:
        return f"malformed TCP target {target!r}: expected HOST:PORT (or tcp://HOST:PORT)"
    return _plain_problem("TCP target", target, " (a host name in its xn-- form)")
