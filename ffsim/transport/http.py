"""HTTP POST with libcurl (pycurl), as the camera sends: one request per event.

libcurl itself writes the request, so the wire is the camera's: headers Host,
Accept, Content-Length, Content-Type in that order, no User-Agent unless one is
set, libcurl's multipart boundary, and ``Expect: 100-continue`` for bodies over
the threshold (1 MiB by default), after which libcurl waits up to 1 s for the
``100 Continue`` and then sends the body anyway.

The handle is driven through libcurl's multi interface (one transfer at a time, the
same bytes as ``perform()`` on the easy handle, which libcurl implements the same
way), so that the driver can look up between slices of at most ``STOP_SLICE_S``: a
stop aborts a request that waits on a receiver in the middle of its answer.

A message with an HTTP wire fault (``Message.wire``: reset_mid_body, truncated_multipart,
trickle) goes through ``rawhttp`` instead: libcurl writes the request on a second handle set up
the same way (``configure``, ``prepare_on``) to a loopback recorder, and those bytes are put on
the wire the fault's way.
"""

from __future__ import annotations

import socket
import threading
from urllib.parse import urlsplit

import pycurl
from urllib3 import encode_multipart_formdata

from ..scenario.model import Profile
from ..vocabulary import HTTP_WIRE_FAULTS
from . import Message, Outcome, TargetError
from .pacer import STOP_SLICE_S, wall
from .targets import http_url_problem, shown_url

RETRYABLE = {
    pycurl.E_COULDNT_CONNECT: "refused",
    pycurl.E_OPERATION_TIMEDOUT: "timeout",
    pycurl.E_RECV_ERROR: "reset",
    pycurl.E_SEND_ERROR: "reset",
    pycurl.E_GOT_NOTHING: "empty reply",
    pycurl.E_SSL_CONNECT_ERROR: "TLS handshake failed",
    pycurl.E_PARTIAL_FILE: "reset",
    # CURLE_WEIRD_SERVER_REPLY (8): an answer libcurl cannot read as HTTP
    pycurl.E_FTP_WEIRD_SERVER_REPLY: "not an HTTP answer",
    # the host name resolved before the first send (check_http_target): a failure later is
    # the name service's hiccup, which a camera rides out with its buffer
    pycurl.E_COULDNT_RESOLVE_HOST: "host name did not resolve",
}
# Retrying cannot help. The URL's scheme is checked before the first send (an http(s) URL
# is required), so E_UNSUPPORTED_PROTOCOL at send time is the receiver's doing: libcurl
# returns it for an answer without a status line ("Received HTTP/0.9 when not allowed"),
# and that is one failed delivery, retried like the others (see _failure).
FATAL = {
    pycurl.E_URL_MALFORMAT: "malformed URL",
    pycurl.E_UNSUPPORTED_PROTOCOL: "unsupported URL scheme",
    pycurl.E_PEER_FAILED_VERIFICATION: "the receiver's certificate failed verification",
    pycurl.E_SSL_CACERT_BADFILE: "cannot read the CA file",
}


# the wire faults the raw path (rawhttp) sends, and its test-only "none" (libcurl's bytes as they are)
RAW_KINDS = frozenset((*HTTP_WIRE_FAULTS, "none"))

ABORTED = object()
CANCELLED = Outcome(False, "stopped", cancelled=True)


def check_http_target(url: str) -> None:
    """Raise TargetError for a URL that cannot work (malformed, host that does not resolve)."""
    problem = http_url_problem(url)
    if problem:
        raise TargetError(problem)
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise TargetError(f"host name {parts.hostname!r} in {shown_url(url)!r} does not resolve") from None


class HttpTransport:
    """One libcurl handle per profile: its connection is kept alive between events."""

    def __init__(self, profile: Profile, url: str):
        self.profile = profile
        self.url = url
        self.scheme_ok = http_url_problem(url) is None  # an http(s) URL: libcurl supports its scheme
        self.curl = pycurl.Curl()
        # the threaded driver's multi handle, made on first use: a multi handle holds descriptors
        # of its own (libcurl's wake-up pair), and a fleet on one loop (transport.multi) needs none
        self._multi: pycurl.CurlMulti | None = None
        self.aborted = threading.Event()
        # pycurl sets a User-Agent of its own; an empty "User-Agent:" removes it, so
        # that, like the camera's libcurl, none is sent unless one is configured
        self.base_headers = [] if profile.user_agent else ["User-Agent:"]
        if profile.auth_header is not None:
            self.base_headers.append(f"{profile.auth_header.name}: {profile.auth_header.secret}")
        self._raw_transport = None  # rawhttp.RawHttpTransport, made for the first wire fault
        self.configure(self.curl)

    def configure(self, c: pycurl.Curl) -> None:
        """Set the profile's options on handle c: the transport's own, or a second handle that is
        to write the same bytes (rawhttp.capture)."""
        profile = self.profile
        c.setopt(pycurl.URL, self.url)
        c.setopt(pycurl.NOSIGNAL, 1)
        c.setopt(pycurl.CONNECTTIMEOUT_MS, max(1, profile.connect_timeout_us // 1000))
        c.setopt(pycurl.TIMEOUT_MS, max(1, profile.timeout_us // 1000))
        c.setopt(pycurl.EXPECT_100_TIMEOUT_MS, 1000)
        c.setopt(pycurl.WRITEFUNCTION, lambda chunk: None)
        if profile.user_agent:
            c.setopt(pycurl.USERAGENT, profile.user_agent)
        if profile.auth is not None:
            c.setopt(pycurl.HTTPAUTH, pycurl.HTTPAUTH_DIGEST if profile.auth.type == "digest" else pycurl.HTTPAUTH_BASIC)
            c.setopt(pycurl.USERNAME, profile.auth.user)
            c.setopt(pycurl.PASSWORD, profile.auth.secret)
        if profile.ca_file:
            c.setopt(pycurl.CAINFO, profile.ca_file)
        if profile.insecure:
            c.setopt(pycurl.SSL_VERIFYPEER, 0)
            c.setopt(pycurl.SSL_VERIFYHOST, 0)

    def _headers(self, body_size: int, extra: list[str]) -> list[str]:
        # With a Content-Type of ours libcurl would put it before Content-Length; giving
        # both keeps the order Host, Accept, Content-Length, Content-Type in every mode.
        # libcurl decides Expect by its own threshold; ours is a setting, so say it explicitly
        expect = "Expect: 100-continue" if body_size > self.profile.expect_threshold else "Expect:"
        return self.base_headers + extra + [expect]

    def _filename(self, attachment, message: Message) -> str:
        return (self.profile.image_filename.replace("{name}", attachment.filename)
                .replace("{packetCounter}", message.counter))

    def send(self, message: Message) -> Outcome:
        """Put message on the wire and wait for the answer (in the calling thread). A message
        with a wire fault goes through rawhttp: libcurl's bytes, written the fault's way."""
        if message.wire is not None and message.wire.kind in RAW_KINDS:
            return self._raw().send(message)
        cancelled = self.prepare(message)
        if cancelled is not None:
            return cancelled
        return self.outcome(self._perform())

    def prepare(self, message: Message) -> Outcome | None:
        """Set the handle up for message (a driver then runs the transfer: _perform here, or a
        shared multi handle, see transport.multi). CANCELLED when a stop came first."""
        return self.prepare_on(self.curl, message)

    def prepare_on(self, c: pycurl.Curl, message: Message) -> Outcome | None:
        """prepare on handle c (configured by configure): the body and headers of message."""
        if self.profile.format == "json":
            c.setopt(pycurl.POSTFIELDS, message.json)
            c.setopt(pycurl.HTTPHEADER, self._headers(len(message.json), [
                f"Content-Length: {len(message.json)}", f"Content-Type: {self.profile.json_content_type}"]))
        elif self.profile.boundary:
            # a boundary of the user's: the body is built by urllib3, then sent by libcurl as it is
            fields = [("event", (message.json_filename, message.json, self.profile.json_content_type))]
            fields += [(a.field, (self._filename(a, message), a.data, a.content_type)) for a in message.attachments]
            body, content_type = encode_multipart_formdata(fields, boundary=self.profile.boundary)
            c.setopt(pycurl.POSTFIELDS, body)
            c.setopt(pycurl.HTTPHEADER, self._headers(len(body), [
                f"Content-Length: {len(body)}", f"Content-Type: {content_type}"]))
        else:
            form = [("event", (pycurl.FORM_BUFFER, message.json_filename, pycurl.FORM_BUFFERPTR, message.json,
                               pycurl.FORM_CONTENTTYPE, self.profile.json_content_type))]
            size = len(message.json)
            for a in message.attachments:
                if self.aborted.is_set():  # images are drawn when first read: a stop need not wait for all
                    return CANCELLED
                form.append((a.field, (pycurl.FORM_BUFFER, self._filename(a, message), pycurl.FORM_BUFFERPTR, a.data,
                                       pycurl.FORM_CONTENTTYPE, a.content_type)))
                size += len(a.data)
            c.setopt(pycurl.HTTPPOST, form)
            c.setopt(pycurl.HTTPHEADER, self._headers(size, []))
        return CANCELLED if self.aborted.is_set() else None

    def outcome(self, failure) -> Outcome:
        """The outcome of the transfer prepared: failure is None (it completed), (code, text)
        from libcurl, or ABORTED."""
        if failure is ABORTED:
            return CANCELLED
        if failure is not None:
            return self._failure(*failure)
        status = self.curl.getinfo(pycurl.RESPONSE_CODE)
        return Outcome(200 <= status < 300, str(status), status=status)

    def _perform(self):
        """Run the transfer set up on the handle: None when it completed, (code, text) when
        libcurl failed it, ABORTED when abort() came first (the connection is closed)."""
        if self._multi is None:
            self._multi = pycurl.CurlMulti()
        multi = self._multi
        multi.add_handle(self.curl)
        try:
            while True:
                while True:
                    status, running = multi.perform()
                    if status != pycurl.E_CALL_MULTI_PERFORM:
                        break
                if not running:
                    break
                if self.aborted.is_set():
                    return ABORTED
                # libcurl says when it wants to be called (timers: Expect, timeouts); a
                # select over its sockets returns earlier when one is ready
                wanted = multi.timeout()
                slice_s = STOP_SLICE_S if wanted < 0 else min(wanted / 1000, STOP_SLICE_S)
                if slice_s > 0:
                    began = wall()
                    if multi.select(slice_s) <= 0 and wall() - began < slice_s / 2:
                        # select() cannot watch descriptors from 1024 on (a process with many
                        # files open): it returned at once. Wait the slice out instead of
                        # spinning; the transfer goes on, in steps of the slice.
                        self.aborted.wait(slice_s)
            _, _, failed = multi.info_read()
            if failed:
                _, code, text = failed[0]
                return code, text or ""
            return None
        finally:
            # removing a handle whose transfer is unfinished aborts it and closes its connection
            multi.remove_handle(self.curl)

    def _raw(self):
        if self._raw_transport is None:
            from .rawhttp import RawHttpTransport

            self._raw_transport = RawHttpTransport(self)
        return self._raw_transport

    def abort(self) -> None:
        """From any thread: the send in progress ends within STOP_SLICE_S, cancelled."""
        self.aborted.set()
        if self._raw_transport is not None:
            self._raw_transport.abort()

    def _failure(self, code: int, text: str) -> Outcome:
        if code == pycurl.E_UNSUPPORTED_PROTOCOL and self.scheme_ok and not text.startswith("Protocol"):
            # the URL is http(s) and libcurl has it ("Protocol "https" not supported" when
            # built without TLS): what it did not support is the receiver's answer
            return Outcome(False, f"not an HTTP answer: {text}" if text else "not an HTTP answer")
        if code in FATAL:
            return Outcome(False, f"{FATAL[code]} ({shown_url(self.url)}): {text}", fatal=True)
        return Outcome(False, RETRYABLE.get(code, f"curl error {code}: {text}"))

    def close(self) -> None:
        if self._raw_transport is not None:
            self._raw_transport.close()
        if self._multi is not None:
            self._multi.close()
        self.curl.close()
