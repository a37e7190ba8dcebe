"""Build: the engine and protocol modules are compiled with mypyc when possible.

They are plain, type-annotated Python; mypyc turns them into C extensions that
run the same code two to three times faster (see benchmarks/). Set
FFSIM_PURE_PYTHON=1 to install without compiling (no C compiler needed); the
behaviour is the same, only slower.
"""

import os

from setuptools import setup

COMPILED = [
    "ffsim/engine/frames.py",
    "ffsim/engine/geometry.py",
    "ffsim/engine/lists.py",
    "ffsim/engine/loop.py",
    "ffsim/engine/plates.py",
    "ffsim/engine/traffic.py",
    "ffsim/engine/vehicle.py",
    "ffsim/protocol/crops.py",
    "ffsim/protocol/jsonwire.py",
    "ffsim/protocol/payload.py",
]

ext_modules = []
if os.environ.get("FFSIM_PURE_PYTHON", "") not in ("1", "true", "yes"):
    from mypyc.build import mypycify

    ext_modules = mypycify(COMPILED, opt_level="3")

setup(ext_modules=ext_modules)
