from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from tests.plugin_packages import ROOT


@pytest.mark.slow
def test_wheel_installs_bundled_plugins_under_zentropy_plugins_not_a_generic_name(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("zentropy-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top_level == {"zentropy", "zentropy_plugins"}
    assert "zentropy_plugins/sources/adzuna.py" in names
    assert any(n.startswith("zentropy/db/migrations/versions/0001") for n in names)
    assert "zentropy/db/migrations/script.py.mako" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "zentropy_plugins.sources.adzuna" in zipfile.ZipFile(wheel).read(entry_points).decode()
