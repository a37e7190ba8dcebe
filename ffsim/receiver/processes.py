"""The receiver on more than one core: ``Receiver(processes=N)``, ``ffsim receive --processes N``.

One process of Python checks at most about 900 multipart events/s (parsing, decoding, the
validator, storing: the GIL is held for most of it). With ``processes=N`` (N > 1) the
receiver's own process keeps the sockets: aiohttp and the TCP server read each request or
read and note when it arrived, exactly as with one process (limits, deadlines, auth,
--respond, --fail-rate, --delay); the work on a packet (capture, parse, check, store) runs in
one of N worker processes:

* Sharded by camera: a packet goes to the shard of its ``sensorProviderID`` as written in
  its bytes (found by a bytes pattern, without decoding), or of its sender's address when
  none is written; so every packet a validator key (address|sensorProviderID) names lands
  on one worker, in the order it arrived, and that worker's validator sees the camera as a
  one-process receiver does. (A hostile sender that escapes the key's name in its JSON
  text is checked wherever its bytes send it: only its own findings can differ.)
* The answer still waits until the packet is checked and stored (a storing failure is still
  an HTTP 500 or a TCP reset). Hand-offs are batched: each worker has a feeding thread that
  sends what queued up since its last send as one pickled message, and a reading thread
  that takes the replies (the records first, then the answers).
* One folder: the parent opens the --out folder (all its checks) and creates
  packets.jsonl and capture.jsonl, and hands the open descriptors to the workers, which
  append their lines with O_APPEND (one write per line) and write images themselves, with
  names numbered apart per worker (``number * N + worker``): one packets.jsonl, one
  capture.jsonl, one images/, owner-only, names from peers made safe as before. Lines of
  one camera are in its arrival order; lines of different cameras interleave as they are
  done. (A line torn by a full disk may be followed, on the same line, by another process's
  record; a reader loses those two instead of one.)
* The parent keeps the records, counts, violations and notices (from the records the
  workers send back), so ``records``, ``wait()`` (woken by the reading threads),
  ``on_record`` (called in the parent) are as with one process; ``summary()`` and
  ``check()`` ask each worker for its validator's state (in turn with its packets) and
  merge them; ``clear()`` is a marker each worker takes in turn with its packets.
* Workers are started by the "spawn" context (the parent has threads: no fork), all at
  once (a few tenths of a second, while the first packets wait in their pipes); they ignore SIGINT (Ctrl-C stops the parent, which stops them), end
  when their pipe closes, and are ended by ``stop()``. A worker that dies is reported (an
  error line on the log ``ffsim.receiver``, and a violation record for each packet it
  held, answered 500 or reset so that it comes again) and started again, its cameras
  starting clean.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import re
import signal
import sys
import threading
import zlib
from collections import Counter
from concurrent.futures import Future
from multiprocessing import reduction, spawn
from pathlib import Path

from .validate import MAX_DEPTH

LOG = logging.getLogger("ffsim.receiver")
_DEVICE = re.compile(rb'"sensorProviderID"\s*:\s*"((?:[^"\\]|\\.){0,200})"')
# "spawn": a fresh interpreter per worker (the parent has threads, so no fork), started in parallel
# (about 0.3 s to import ffsim, while the first packets wait in the pipe); nothing stays behind
# at stop() (a forkserver would start workers sooner, but outlives the receiver)
START_METHOD = "spawn"
QUERY_TIMEOUT_S = 30.0  # summary(), check(), clear() wait this long for a worker at most
REPLY_EVERY = 500  # a worker sends the records it made back at least every this many documents
STOP_TIMEOUT_S = 10.0  # stop(): a worker gets this long to finish what it holds, then is killed


def shard_of(data: bytes, address: str, count: int) -> int:
    """The worker (0 .. count-1) of a packet: by its sensorProviderID as written, else by the
    sender's address (the validator keys a camera by both; see the module's text)."""
    if count == 1:
        return 0
    found = _DEVICE.search(data)
    key = found.group(1) if found is not None else address.encode("utf-8", "surrogatepass")
    return zlib.crc32(key) % count


def _preparation(name: str, _original=spawn.get_preparation_data) -> dict:
    """multiprocessing's start-up data for a child, without the caller's __main__ for ours: a worker
    needs ffsim alone (preloaded), and must not run a script (or import a test runner) again."""
    data = _original(name)
    if name.startswith("ffsim-receiver-"):
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
    return data


if getattr(spawn.get_preparation_data, "__name__", "") != "_preparation":
    spawn.get_preparation_data = _preparation


class _Fd:
    """An open descriptor handed to a worker as it starts (duplicated into it by multiprocessing)."""

    def __init__(self, fd: int):
        self.fd = fd

    def __reduce__(self):
        return _detach, (reduction.DupFd(self.fd),)


def _detach(dup) -> int:
    return dup.detach()


# -- the worker process --------------------------------------------------------------------------
def serve(conn, config: dict, descriptors: dict) -> None:
    """A worker: take batches of work from conn, send back what each produced, until "stop"
    or until the pipe closes (the parent went away)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops us
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20 * MAX_DEPTH))  # pickling a payload 512 levels deep
    from .server import Receiver
    from .storage import Storage, StorageError

    produced: list = []  # records made since the last reply, in the order they were recorded
    rx = Receiver(http=None, tcp=None, lost_timeout_s=config["lost_timeout_s"], speed=config["speed"],
                  max_body=config["max_body"], max_parts=config["max_parts"], max_records=1,
                  capture_secrets=config["capture_secrets"], on_record=produced.append)
    rx.secret_headers = config["secret_headers"]
    rx._numbering = False  # the parent numbers the packets as they arrive (and what it records itself)
    rx._t0 = config["t0"]
    rx._seq_step, rx._seq_first = config["count"], config["index"] + 1
    if not config.get("store_threads"):
        # images are written here, in turn: other processes use the other cores (threads would
        # only take turns at the GIL, at a cost in futex calls)
        rx._store_later = lambda store, answer: (store(), answer)[1]
    if descriptors:
        rx._storage = Storage.adopt(Path(config["folder"]), {k: v.fd if isinstance(v, _Fd) else v
                                                             for k, v in descriptors.items()})
        # a replacement worker goes on after the images its shard already stored (the dead worker's
        # numbers are taken: its names would be refused, and its packets answered 500)
        step, first = rx._seq_step, rx._seq_first
        used = [int(head) for name in os.listdir(rx._storage._images_fd)
                if (head := name.split("_", 1)[0]).isdigit() and int(head) % step == first % step]
        rx._seq = (max(used) - first) // step + 1 if used else 0
    epoch = config["epoch"]
    storing: list[tuple[int, Future]] = []  # (id, answer being stored)
    replies: list = []

    def flush() -> None:
        for number, future in storing:
            try:
                replies.append(("ans", number, ("ok", future.result())))
            except StorageError as exc:
                replies.append(("ans", number, ("error", str(exc))))
            except Exception as exc:  # noqa: BLE001 - a defect: the parent answers it 500
                replies.append(("ans", number, ("defect", f"{type(exc).__name__}: {str(exc)[:200]}")))
        storing.clear()
        records = [("rec", epoch, record) for record in produced]
        produced.clear()
        if records or replies:
            try:
                data = pickle.dumps(records + replies, pickle.HIGHEST_PROTOCOL)
            except Exception:  # noqa: BLE001 - a payload the pickler cannot take (too deep): sent without it
                for _, _, record in records:
                    try:
                        pickle.dumps(record, pickle.HIGHEST_PROTOCOL)
                    except Exception:  # noqa: BLE001
                        record.payload = None
                        record.text = "(a payload too deep to hand on; packets.jsonl holds it as received)"
                data = pickle.dumps(records + replies, pickle.HIGHEST_PROTOCOL)
            conn.send_bytes(data)
            replies.clear()

    try:
        while True:
            try:
                batch = pickle.loads(conn.recv_bytes())
            except (EOFError, OSError):
                return
            for item in batch:
                kind, number = item[0], item[1]
                try:
                    if kind == "http":
                        answer = rx._http_packet(*item[2:])
                        if isinstance(answer, Future):
                            storing.append((number, answer))
                            continue
                        replies.append(("ans", number, ("ok", answer)))
                    elif kind == "tcp":
                        # the documents of one TCP read for this shard's cameras, in order, each with
                        # its number: one hand-off and one answer per read, however many it holds
                        arrival, documents, sender, peer = item[2:]
                        failure: StorageError | None = None
                        for n, (packet_number, data) in enumerate(documents, 1):
                            try:
                                rx._packet(arrival._replace(number=packet_number), data, sender, "tcp", peer, "",
                                           [], None)
                            except StorageError as exc:
                                failure = failure or exc  # the others are stored all the same
                            if n % REPLY_EVERY == 0:
                                flush()  # the records so far go back now: memory stays bounded
                        if failure is not None:
                            raise failure
                        replies.append(("ans", number, ("ok", None)))
                    elif kind == "query":
                        v = rx.validator
                        replies.append(("ans", number, {
                            "open": [(f.rule, f.severity, str(f)) for f in v.open_passages()],
                            "senders": v.sender_summary(), "forgotten": dict(v.forgotten)}))
                    elif kind == "clear":
                        flush()  # what came before is answered with the epoch it came in
                        rx._forget()
                        epoch += 1
                        replies.append(("ans", number, None))
                    elif kind == "stop":
                        flush()
                        conn.send_bytes(pickle.dumps([("bye", number, None)], pickle.HIGHEST_PROTOCOL))
                        return
                except StorageError as exc:
                    replies.append(("ans", number, ("error", str(exc))))
                except Exception as exc:  # noqa: BLE001 - a defect of the receiver: answered 500
                    replies.append(("ans", number, ("defect", f"{type(exc).__name__}: {str(exc)[:200]}")))
            flush()
    finally:
        rx._store_pool.shutdown(wait=True)
        if rx._storage is not None:
            rx._storage.close()


# -- the parent's side ----------------------------------------------------------------------------
class _Worker:
    """One worker process, its pipe, its feeding and reading threads, what it holds."""

    def __init__(self, shards: Shards, index: int, epoch: int):
        self.shards, self.index = shards, index
        self.outbox: list = []
        self.wake = threading.Condition(threading.Lock())
        self.pending: dict[int, tuple[Future, tuple | None]] = {}  # id -> (answer, the work's item)
        self.closed = False  # no more sends (stopping, or dead)
        self.dead = False
        self.snapshot: dict | None = None  # the validator's state at the last query
        ctx = shards.context
        self.conn, child = ctx.Pipe(duplex=True)
        config = {**shards.config, "index": index, "epoch": epoch}
        self.process = ctx.Process(target=serve, args=(child, config, shards.descriptors),
                                   name=f"ffsim-receiver-{index}", daemon=True)
        self.process.start()
        child.close()
        self.feeder = threading.Thread(target=self._feed, name=f"ffsim-receiver-feed-{index}", daemon=True)
        self.reader = threading.Thread(target=self._read, name=f"ffsim-receiver-read-{index}", daemon=True)
        self.feeder.start()
        self.reader.start()

    def put(self, number: int, item: tuple, future: Future, keep: bool) -> None:
        """Queue item (held by shards.lock): sent with whatever else queued meanwhile."""
        self.pending[number] = (future, item if keep else None)
        with self.wake:
            self.outbox.append(item)
            if len(self.outbox) == 1:
                self.wake.notify()

    def _feed(self) -> None:
        while True:
            with self.wake:
                while not self.outbox and not self.closed:
                    self.wake.wait()
                batch, self.outbox = self.outbox, []
            if batch:
                try:
                    self.conn.send_bytes(pickle.dumps(batch, pickle.HIGHEST_PROTOCOL))
                except (OSError, ValueError):  # it died: the reader finds out and answers what it held
                    return
            elif self.closed:
                return

    def _read(self) -> None:
        shards = self.shards
        receiver = shards.receiver
        while True:
            try:
                events = pickle.loads(self.conn.recv_bytes())
            except (EOFError, OSError):
                shards._died(self)
                return
            answers = []
            for kind, number, value in events:
                if kind == "rec":
                    receiver._keep(value, number)
                elif kind == "bye":
                    self.conn.close()
                    return
                else:
                    with shards.lock:
                        entry = self.pending.pop(number, None)
                    if entry is not None:
                        answers.append((entry[0], value))
            for future, value in answers:  # the records of this reply are counted before any answer
                if isinstance(value, dict):
                    self.snapshot = value
                if not future.done():
                    future.set_result(value)

    def close(self) -> None:
        with self.wake:
            self.closed = True
            self.wake.notify()


class Shards:
    """The worker processes of one Receiver (see the module's text)."""

    def __init__(self, receiver, count: int, descriptors: dict[str, int] | None):
        self.receiver = receiver
        self.count = count
        self.context = multiprocessing.get_context(START_METHOD)
        self.lock = threading.Lock()  # the workers' list, their outboxes and pending, the epoch
        self.epoch = 0  # clear() calls so far: records of an older epoch are forgotten
        self._number = 0
        self.stopping = False
        self.deaths = 0
        self.descriptors = {name: _Fd(fd) for name, fd in (descriptors or {}).items()}
        self.config = {"lost_timeout_s": receiver.validator.lost_timeout_s, "speed": receiver.validator.speed,
                       "max_body": receiver.max_body, "max_parts": receiver.max_parts,
                       "capture_secrets": receiver.capture_secrets, "secret_headers": receiver.secret_headers,
                       "t0": receiver._t0, "count": count,
                       "folder": str(receiver.out) if receiver.out is not None else None}
        self.workers: list[_Worker] = []
        try:
            for index in range(count):
                self.workers.append(_Worker(self, index, 0))
        except BaseException:
            self.stop()
            raise

    def threads(self) -> set[threading.Thread]:
        return {w.reader for w in self.workers}

    def submit(self, shard: int, item: tuple, keep: bool = True) -> Future:
        """Hand item (kind, *args) to a worker; a Future of its answer: ("ok", answer),
        ("error", message: not stored), ("defect", message)."""
        future: Future = Future()
        with self.lock:
            self._number += 1
            worker = self.workers[shard]
            if worker.dead or worker.closed:
                future.set_result(("error", f"worker process {shard} is not running"))
                return future
            worker.put(self._number, (item[0], self._number, *item[1:]), future, keep)
        return future

    def clear(self) -> list[Future]:
        """A clear marker to every worker, in turn with their packets (held: the receiver's state
        is reset by the caller in the same turn, under this lock)."""
        self.epoch += 1
        return [self._marker(worker, "clear") for worker in self.workers]

    def _marker(self, worker: _Worker, kind: str) -> Future:
        future: Future = Future()
        if worker.dead or worker.closed:
            future.set_result(None)
            return future
        self._number += 1
        worker.put(self._number, (kind, self._number), future, False)
        return future

    def snapshots(self, wait: bool = True) -> list[dict]:
        """Each worker's validator state (open passages, senders, forgotten), asked in turn with its
        packets; the last one known when asked from a reading thread or when a worker does not answer."""
        with self.lock:
            asked = [(w, self._marker(w, "query")) for w in self.workers] if wait else []
        if asked and threading.current_thread() not in self.threads():
            for worker, future in asked:
                try:
                    future.result(QUERY_TIMEOUT_S)
                except Exception:  # noqa: BLE001 - timed out: the last one known
                    pass
        return [w.snapshot for w in self.workers if w.snapshot is not None]

    def _died(self, worker: _Worker) -> None:
        """worker's pipe closed without a goodbye: answer what it held, report it, start another."""
        worker.process.join(1.0)
        code = worker.process.exitcode
        with self.lock:
            worker.dead = True
            held, worker.pending = worker.pending, {}
            restart = not self.stopping
            if restart:
                self.deaths += 1
                replacement = None
                try:
                    replacement = _Worker(self, worker.index, self.epoch)
                except Exception as exc:  # noqa: BLE001 - cannot start another: its shard answers 500
                    LOG.error("ffsim receiver: cannot start worker process %d again: %s", worker.index, exc)
                if replacement is not None:
                    self.workers[worker.index] = replacement
        worker.close()
        packets = sum(1 for _, item in held.values() if item is not None)
        LOG.error("ffsim receiver: worker process %d (pid %s) ended unexpectedly (exit code %s) holding %d "
                  "packet(s), answered so that they come again%s", worker.index, worker.process.pid, code,
                  packets, "; started again (its cameras start clean)" if restart else "")
        why = (f"receiver: worker process {worker.index} ended (exit code {code}) before this packet was "
               "checked and stored; answered so that the sender sends it again; please report it")
        for future, item in held.values():
            if item is not None:
                arrival = item[2]
                if item[0] == "http":
                    peer, path, headers = item[7], item[8], item[9]
                    record_args = (arrival.wall, peer, "http", path, headers, None, [why])
                    status = 500
                else:
                    record_args = (arrival.wall, item[5], "tcp", "", [], None, [why])
                    status = None
                try:
                    from .server import Record
                    self.receiver._record(Record(*record_args, status=status))
                except Exception:  # noqa: BLE001 - storage failing too: counted there
                    pass
            if not future.done():
                future.set_result(("error", f"worker process {worker.index} ended") if item is not None else None)

    def stop(self) -> list[dict]:
        """Let each worker finish what it holds and end; kill one that does not within STOP_TIMEOUT_S.
        The validators' last state (for summary() after stop)."""
        with self.lock:
            self.stopping = True
            asked = [(w, self._marker(w, "query"), self._marker(w, "stop")) for w in self.workers]
        for worker, _, _ in asked:
            worker.close()
        for worker, query, _ in asked:
            worker.reader.join(STOP_TIMEOUT_S)
            worker.process.join(STOP_TIMEOUT_S if not worker.reader.is_alive() else 0.1)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(5)
            worker.feeder.join(1.0)
            try:
                worker.conn.close()
            except OSError:
                pass
        return [w.snapshot for w in self.workers if w.snapshot is not None]


def merge(snapshots: list[dict]) -> tuple[list[tuple[str, str, str]], dict, Counter]:
    """The workers' validator states as one: open passages (rule, severity, text), senders, forgotten."""
    opened: list[tuple[str, str, str]] = []
    senders: dict = {}
    forgotten: Counter = Counter()
    for snapshot in snapshots:
        opened += snapshot["open"]
        senders.update(snapshot["senders"])
        forgotten.update(snapshot["forgotten"])
    return opened, senders, forgotten
