"""The asyncio driver of libcurl's multi interface (transport.multi): the same bytes as the
threaded transport, many transfers at once on one loop, cancellation."""

from __future__ import annotations

import asyncio
import re

import pytest

from ffsim import bundled, events, scenario_of
from ffsim.runner import message_of
from ffsim.transport.http import HttpTransport
from ffsim.transport.multi import AsyncCurl

from .servers import RawRecorder, refusing_port
from .test_stop import Holder


def messages(url: str, image: str = "plate"):
    import dataclasses

    scenario = scenario_of(bundled("misread-corrected"))
    scenario = dataclasses.replace(scenario, profiles=tuple(
        dataclasses.replace(p, url=url, image=image) for p in scenario.profiles[:1]))
    packets = list(events(scenario))
    return scenario.profiles[0], [message_of(p, scenario.profiles[0]) for p in packets]


def normalised(request: dict) -> tuple:
    """A request with libcurl's random multipart boundary replaced (it differs per request)."""
    head = request["head"].decode("latin-1")
    boundary = re.search(r"boundary=(\S+)", head)
    body = request["body"]
    if boundary:
        head = head.replace(boundary.group(1), "BOUNDARY")
        body = body.replace(boundary.group(1).encode(), b"BOUNDARY")
    return head, body


def test_the_wire_is_the_threaded_transport_s_byte_for_byte():
    with RawRecorder() as threaded, RawRecorder() as looped:
        profile, batch = messages(threaded.url)
        transport = HttpTransport(profile, threaded.url)
        try:
            outcomes = [transport.send(m) for m in batch]
        finally:
            transport.close()

        async def main():
            driver = AsyncCurl()
            other = HttpTransport(profile, looped.url)
            try:
                return [await driver.send(other, m) for m in batch]
            finally:
                driver.close()
                other.close()

        looped_outcomes = asyncio.run(main())
    assert [o.status for o in outcomes] == [o.status for o in looped_outcomes] == [200] * len(batch)
    mine = [normalised(r) for r in looped.requests]
    theirs = [normalised(r) for r in threaded.requests]
    # only the Host header's port differs: two servers
    assert [(h.replace(str(looped.port), "PORT"), b) for h, b in mine] == \
        [(h.replace(str(threaded.port), "PORT"), b) for h, b in theirs]


def test_many_transfers_at_once_on_one_loop():
    with RawRecorder() as rx:
        profile, batch = messages(rx.url, image="none")

        async def camera(driver, n):
            transport = HttpTransport(profile, rx.url)
            try:
                return [await driver.send(transport, m) for m in batch]
            finally:
                transport.close()

        async def main():
            driver = AsyncCurl()
            try:
                return await asyncio.gather(*(camera(driver, n) for n in range(50)))
            finally:
                driver.close()

        results = asyncio.run(main())
    assert all(o.ok for per_camera in results for o in per_camera)
    assert len(rx.requests) == 50 * len(batch)


def test_a_refused_connection_is_the_same_outcome_as_threaded():
    with refusing_port() as port:
        url = f"http://127.0.0.1:{port}/x"
        profile, batch = messages(url, image="none")

        async def main():
            driver = AsyncCurl()
            transport = HttpTransport(profile, url)
            try:
                return await driver.send(transport, batch[0])
            finally:
                driver.close()
                transport.close()

        outcome = asyncio.run(main())
    assert not outcome.ok and outcome.detail == "refused" and outcome.status is None


@pytest.mark.parametrize("how", ["cancel", "close"])
def test_a_transfer_waiting_on_a_silent_receiver_can_be_cut(how):
    holder = Holder()  # accepts, never answers
    try:
        url = "http://" + holder.target + "/x"
        profile, batch = messages(url, image="none")

        async def main():
            driver = AsyncCurl()
            transport = HttpTransport(profile, url)
            task = asyncio.ensure_future(driver.send(transport, batch[0]))
            while not holder.held:  # the connection is made
                await asyncio.sleep(0.01)
            if how == "cancel":
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await asyncio.wait_for(task, 5)
                assert not driver._waiting  # the handle is off the multi: it can be sent again
                outcome = None
            else:
                driver.close()
                outcome = await asyncio.wait_for(task, 5)
            driver.close()
            transport.close()
            return outcome

        outcome = asyncio.run(main())
    finally:
        holder.close()
    if how == "close":
        assert outcome.cancelled and not outcome.ok
