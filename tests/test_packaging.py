import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    return next(out.glob("restore-*.whl"))


def test_wheel_installs_only_under_the_restore_namespace(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"restore"}
    assert "restore/models/__init__.py" in names and "restore/train/__init__.py" in names
    assert not any(n.startswith(("models/", "train/", "tests/")) for n in names)


def test_wheel_carries_examples_weights_and_configs(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "restore/examples/denoise/camera.png" in names
    assert "restore/examples/masks/astronaut.png" in names
    shipped = sorted((ROOT / "models" / "weights").glob("*.safetensors"))
    for path in shipped:
        assert f"restore/models/weights/{path.name}" in names
    for path in sorted((ROOT / "train" / "configs").glob("*.yaml")):
        assert f"restore/train/configs/{path.name}" in names
