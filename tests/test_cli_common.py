"""What the commands share (ffsim.cli_common, ffsim.cli's command group): files the user names
are owner-only, replaced beside and renamed over (never over a device, a pipe or a folder), and
an output that cannot be written is one line and exit 1, never a traceback. Real files, a real
FIFO, the real /dev/full, the real command in a subprocess where standard output is the point."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ffsim.cli_common import FILE_MODE, NotAFile, replace_file, write_file

ROOT = Path(__file__).resolve().parents[1]
GATE = str(ROOT / "scenarios" / "parking-gate.yaml")


def test_a_replaced_file_is_owner_only_and_a_link_is_replaced_not_followed(tmp_path):
    target = tmp_path / "target.txt"
    target.write_text("keep")
    link = tmp_path / "out.txt"
    link.symlink_to(target)
    replace_file(str(link), b"new")
    assert not link.is_symlink() and link.read_bytes() == b"new" and target.read_text() == "keep"
    assert stat.S_IMODE(link.stat().st_mode) == FILE_MODE == 0o600


@pytest.mark.parametrize("kind", ["fifo", "folder", "link to a fifo"])
def test_a_device_pipe_or_folder_is_never_replaced(tmp_path, kind):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    path = {"fifo": fifo, "folder": tmp_path, "link to a fifo": tmp_path / "link"}[kind]
    if kind == "link to a fifo":
        path.symlink_to(fifo)
    with pytest.raises(NotAFile):
        replace_file(str(path), b"x")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still the pipe
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # nothing left beside it


def test_a_name_ending_in_a_slash_is_a_missing_folder_not_a_file(tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        write_file(str(tmp_path / "missing") + "/", b"x", False)
    assert done.value.code == 1
    assert capsys.readouterr().err == f"ffsim: error: {tmp_path / 'missing'}/: no such folder\n"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this system")
@pytest.mark.parametrize("args", [["validate", GATE], ["events", GATE], ["explain", GATE], ["schema"],
                                  ["preview", GATE, "-o", "-"]])
def test_an_output_that_cannot_be_written_is_one_line(args):
    with open("/dev/full", "wb") as full:
        done = subprocess.run([sys.executable, "-m", "ffsim", *args], stdout=full, stderr=subprocess.PIPE,
                              text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1:] == ["ffsim: error: cannot write its output: No space left on device"]
    assert "Traceback" not in done.stderr


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this system")
def test_preview_refuses_to_put_a_picture_in_the_place_of_a_device(tmp_path):
    link = tmp_path / "full.png"
    link.symlink_to("/dev/full")
    done = subprocess.run([sys.executable, "-m", "ffsim", "preview", GATE, "-o", str(link)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1 and "not a regular file" in done.stderr and "Traceback" not in done.stderr
    assert link.is_symlink() and stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_named_file_that_cannot_be_written_is_named_and_other_errors_stay_themselves(capsys):
    import errno

    import click

    from ffsim.cli import _Commands

    def group(error: OSError):
        @click.group(cls=_Commands)
        def cli() -> None:
            pass

        @cli.command()
        def write() -> None:
            raise error

        return cli

    with pytest.raises(SystemExit) as done:
        group(OSError(errno.ENOSPC, "No space left on device", "out\x1b.csv")).main(["write"])
    assert done.value.code == 1
    assert capsys.readouterr().err == "ffsim: error: cannot write out\\x1b.csv: No space left on device\n"
    with pytest.raises(ConnectionRefusedError):  # not an output's failure: not worded as one
        group(ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")).main(["write"])
