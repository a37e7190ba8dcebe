"""What the commands share: option types read by ffsim's own parsers, a scenario or its
`FILE:LINE:COL` problems and exit 1, a one-line error, and files the user names.

Files a command writes where the user says (a scenario from init or import, a picture from
preview, the editor schema) are owner-only, 0o600, as every file ffsim writes (README
"Security"): share them by committing or copying them. A new file is created with O_EXCL, so
nothing is written over in a race; a file replaced is written beside its destination and renamed
over it, so a reader never sees half of it, a symbolic link there is replaced, not written
through, and a failed write leaves the old file whole; a folder, a device or a pipe there is
refused (renamed over, /dev/full would become a regular file).
"""

from __future__ import annotations

import os
import secrets
import stat
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from .scenario import Scenario, ScenarioError, load_scenario
from .terminal import printable
from .units import parse_duration, parse_start

FILE_MODE = 0o600  # owner-only, as every file ffsim writes


class Parsed(click.ParamType):
    """An option value read by one of ffsim's parsers; its ValueError becomes click's usage error."""

    def __init__(self, name: str, parse):
        self.name = name
        self.parse = parse

    def convert(self, value, param, ctx):
        try:
            return self.parse(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def _instant(value: str) -> str:
    parse_start(value)  # a bad time is a usage error now; its zone is applied once the scenario is read
    return value


def _bind(value: str) -> str:
    from .receiver.server import parse_bind

    parse_bind(value)
    return value


DURATION = Parsed("DURATION", parse_duration)  # microseconds
INSTANT = Parsed("ISO-TIME", _instant)
BIND = Parsed("HOST:PORT", _bind)


def load_or_exit(path: str) -> Scenario:
    """The scenario at path, or its problems as FILE:LINE:COL: message lines and exit 1."""
    try:
        return load_scenario(path)
    except ScenarioError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)


def fail(message: str) -> None:
    """ffsim: error: message, on standard error, and exit 1."""
    click.echo(f"ffsim: error: {message}", err=True)
    sys.exit(1)


def create_file(path: str, data: bytes) -> None:
    """A new file (FileExistsError when the path is taken, even by a dangling link)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except BaseException:
        os.unlink(path)
        raise


class NotAFile(OSError):
    """The path names something other than a file: a folder, a device, a pipe, a socket."""


def _replaceable(path: str) -> None:
    """Raise NotAFile unless path is free, a regular file, or a link to one (replaced, not
    followed): an output written beside /dev/full or a pipe and renamed over it would put a
    regular file in the place of the device (as root, for every program)."""
    try:
        target = os.stat(path)  # through a link: what the link stands for
    except FileNotFoundError:
        return  # free, or a dangling link
    if not stat.S_ISREG(target.st_mode):
        kind = "a folder" if stat.S_ISDIR(target.st_mode) else "not a regular file"
        raise NotAFile(0, f"{kind}; name a file (or - for standard output where the command takes it)")


def replace_file(path: str, data: bytes) -> None:
    """Write data beside path, then rename it over path (a link there is replaced, not followed;
    a folder, device or pipe there is refused: NotAFile)."""
    _replaceable(path)
    folder, base = os.path.split(path)
    temp = os.path.join(folder, f".{base}.{secrets.token_hex(4)}.tmp")
    create_file(temp, data)
    try:
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise


def write_file(path: str, data: bytes, force: bool) -> None:
    """Write a file the user named: never over an existing one without force (one line, exit 1),
    with force beside it and renamed over it."""
    shown = printable(path)
    if os.path.isdir(path):
        fail(f"{shown} is a folder; give a file name with -o")
    if path.endswith(("/", os.sep)):
        fail(f"{shown}: no such folder")
    try:
        if force and os.path.lexists(path):
            replace_file(path, data)
        else:
            create_file(path, data)
    except FileExistsError:
        fail(f"{shown} already exists; give --force to replace it, or -o another file")
    except OSError as exc:
        fail(f"cannot write {shown}: {exc.strerror or exc}")


@contextmanager
def progress_bar(what: str, kind: str = "time", after_s: float = 1.0) -> Iterator[Callable[[int, int | None], None]]:
    """advance(done, total): a transient progress bar on standard error for long work, shown only
    when standard error is a terminal and the work has lasted after_s (short runs show nothing).
    kind "time": done and total are virtual microseconds; "bytes": bytes read."""
    if not sys.stderr.isatty():
        yield lambda done, total: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    started = time.monotonic()
    amount = (DownloadColumn() if kind == "bytes"
              else TextColumn("{task.fields[virtual]}", markup=False))
    bar = Progress(TextColumn("{task.description}", markup=False), BarColumn(), amount, TimeRemainingColumn(),
                   console=Console(stderr=True), transient=True)
    task = None

    def advance(done: int, total: int | None) -> None:
        nonlocal task
        if task is None:
            if time.monotonic() - started < after_s:
                return
            bar.start()
            task = bar.add_task(printable(what), total=total, virtual="")
        bar.update(task, completed=done, total=total, virtual=f"{done / 1e6:,.0f} s virtual" if kind == "time" else "")

    try:
        yield advance
    finally:
        if task is not None:
            bar.stop()
