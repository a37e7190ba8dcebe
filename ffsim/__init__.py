"""ffsim: the camera side of CAMMRA / AXIS License Plate Verifier FF-Events, simulated."""

import importlib.machinery
import warnings
from pathlib import Path

__version__ = "0.1.0"

_HERE = Path(__file__).resolve().parent
# the modules setup.py compiles with mypyc
_COMPILED = ("engine/frames", "engine/geometry", "engine/lists", "engine/loop", "engine/plates", "engine/traffic",
             "engine/vehicle", "protocol/crops", "protocol/jsonwire", "protocol/payload")


def _extensions() -> dict[str, Path]:
    found = {}
    for name in _COMPILED:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            candidate = _HERE / f"{name}{suffix}"
            if candidate.exists():
                found[name] = candidate
                break
    return found


_BUILT = _extensions()
COMPILED = len(_BUILT) == len(_COMPILED)
# An edited .py next to an older compiled module would be silently ignored.
_STALE = [name for name, ext in _BUILT.items() if (_HERE / f"{name}.py").stat().st_mtime > ext.stat().st_mtime]
if _STALE:
    warnings.warn(
        f"ffsim: compiled modules older than their source: {', '.join(_STALE)}; "
        "run `pip install -e .` again (or FFSIM_PURE_PYTHON=1 pip install -e . while developing)",
        stacklevel=2,
    )
