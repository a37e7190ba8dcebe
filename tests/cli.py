"""`ffsim ARGS` in this process: the command line's own code (click's parsing, the commands, their
exit status and what they print on standard output and standard error), without starting Python.

A test of what a command prints or exits with uses ffsim() here; a test of what only a process
shows (Ctrl-C, a closed pipe, a hang cut by a timeout, `python -m ffsim`) runs the real command.
An exception out of a command is not turned into an exit status: it fails the test, with its
traceback, where `python -m ffsim` would have printed one.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile

from ffsim.cli import main


def ffsim(*args, text: bool = True) -> subprocess.CompletedProcess:
    """Run `ffsim ARGS` in this process; the result as subprocess.run(capture_output=True) gives it
    (str with text=True, else bytes)."""
    argv = [str(a) for a in args]
    saved = sys.stdout, sys.stderr
    for stream in saved:
        stream.flush()
    # O_APPEND: `ffsim events` writes to the file descriptor of sys.stdout, click to sys.stdout
    with tempfile.TemporaryFile("a+b") as out, tempfile.TemporaryFile("a+b") as err:
        sys.stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
        sys.stderr = io.TextIOWrapper(err, encoding="utf-8", errors="backslashreplace", write_through=True)
        code = 0
        try:
            main.main(args=argv, prog_name="ffsim", standalone_mode=True)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
                stream.detach()
            sys.stdout, sys.stderr = saved
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if text:
        return subprocess.CompletedProcess(["ffsim", *argv], code, stdout.decode("utf-8"),
                                           stderr.decode("utf-8", "backslashreplace"))
    return subprocess.CompletedProcess(["ffsim", *argv], code, stdout, stderr)
