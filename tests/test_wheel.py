"""A wheel install gives the same bytes as the editable one.

The font and the other assets ship inside the package; before they did, an
installed ffsim drew plates with Pillow's built-in font. This builds a wheel from
a copy of the sources (pure Python: FFSIM_PURE_PYTHON=1, no C compiler and no
network: --no-build-isolation --no-index), installs it into a fresh venv that
borrows only this environment's dependencies, and compares the images and the
`ffsim events` output of an image-carrying scenario with this checkout's.
"""

import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.test_images import render_all_digests

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = """\
version: 1
seed: 5
start: 2026-11-24T08:00:00Z
zones: [{id: 1, polygon: [[0, 300], [1280, 300], [1280, 720], [0, 720]], direction: 180}]
camera: {resolution: [1280, 720]}
vehicles:
  - {plate: 5SX 2207, country: CZE, color: RED, at: 0s, path: [[640, 320], [640, 700]], duration: 2s}
profiles:
  - {id: 1, format: json, image: frame, second_image: true}
  - {id: 2, format: json, image: vehicle, image_format: png}
"""


@pytest.fixture(scope="module")
def wheel_python(tmp_path_factory) -> str:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "ffsim", src / "ffsim",
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__", "*.c"))
    env = {**os.environ, "FFSIM_PURE_PYTHON": "1"}
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "-q", "-w", str(tmp / "dist"), str(src)], check=True, env=env, cwd=tmp)
    (wheel,) = (tmp / "dist").glob("ffsim-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "ffsim/render/assets/DejaVuSansMono-Bold.ttf" in names
    assert not [n for n in names if n.endswith((".so", ".pyd"))]
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index",
                    str(wheel)], check=True, cwd=tmp)
    # the dependencies (Pillow, PyYAML...) from this environment, appended after the venv's
    # own site-packages; a path listed in a .pth is not scanned for .pth files, so this
    # environment's editable ffsim (an import hook installed by a .pth) stays out
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    deps = [sysconfig.get_path("purelib"), sysconfig.get_path("platlib"), *site.getsitepackages()]
    Path(purelib, "ffsim-test-deps.pth").write_text("\n".join(dict.fromkeys(deps)) + "\n")
    where = subprocess.run([python, "-c", "import ffsim; print(ffsim.__file__)"], capture_output=True, text=True,
                           check=True, cwd=tmp).stdout
    assert where.startswith(str(venv)), where
    return python


def test_wheel_renders_the_same_images(wheel_python, tmp_path):
    assert render_all_digests(4, wheel_python, cwd=tmp_path) == render_all_digests(4, cwd=tmp_path)


def test_wheel_prints_the_same_events(wheel_python, tmp_path):
    scenario = tmp_path / "images.yaml"
    scenario.write_text(SCENARIO)

    def events(python: str) -> bytes:
        return subprocess.run([python, "-m", "ffsim", "events", str(scenario), "--payload-only"],
                              capture_output=True, check=True, cwd=tmp_path).stdout

    editable = events(sys.executable)
    assert b"BinaryImage" in editable  # the scenario carries its images in the output
    assert events(wheel_python) == editable


PLUGIN_TEST = '''\
import os

import ffsim

VENV = os.environ["FFSIM_WHEEL_VENV"]
SCENARIO = """
version: 1
seed: 1
start: 2026-11-24T08:00:00Z
zones: [{id: 1, polygon: [[0, 300], [1920, 300], [1920, 1080], [0, 1080]], direction: 180}]
vehicles: [{plate: 5SX 2207, at: 0s, path: [[960, 320], [960, 1060]], duration: 1s}]
recognition: {lost_timeout: 2s}
"""


def test_the_installed_plugin(ffsim_camera, ffsim_receiver, pytestconfig):
    # the wheel's ffsim, its plugin found by the wheel's own entry point
    assert ffsim.__file__.startswith(VENV)
    ((plugin, dist),) = [(p, d) for p, d in pytestconfig.pluginmanager.list_plugin_distinfo()
                         if d.project_name == "ffsim"]
    assert plugin.__file__.startswith(VENV) and str(dist.locate_file("")).startswith(VENV)

    run = ffsim_camera(SCENARIO)
    assert [(a.state, a.status) for a in run.attempts] == [("new", 200), ("update", 200), ("lost", 200)]
    assert len(ffsim_receiver.records) == 3
    ffsim_receiver.check()
'''


def test_wheel_installs_the_pytest_plugin(wheel_python, tmp_path):
    # the wheel's venv borrows this environment's site-packages (see wheel_python): pytest is there
    venv = str(Path(wheel_python).parents[1])
    subprocess.run([wheel_python, "-c", "import pytest"], check=True, cwd=tmp_path)
    (tmp_path / "test_uses_ffsim.py").write_text(PLUGIN_TEST)
    env = {**os.environ, "FFSIM_WHEEL_VENV": venv}
    result = subprocess.run([wheel_python, "-m", "pytest", "-p", "no:cacheprovider", "test_uses_ffsim.py"],
                            capture_output=True, text=True, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
