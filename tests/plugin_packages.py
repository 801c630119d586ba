"""Make installable-looking plugin distributions in a folder, for subprocess tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def fake_distribution(folder: Path, dist: str, version: str, entry_name: str, module: str, source: str) -> Path:
    """A module plus a .dist-info declaring it under the `zentropy` entry-point group."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{module}.py").write_text(source)
    info = folder / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[zentropy]\n{entry_name} = {module}\n")
    return folder


def run_cli(*args: str, path: list[Path] = (), env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ZENTROPY_")}
    environ["PYTHONPATH"] = os.pathsep.join(str(p) for p in path)
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "zentropy.cli", *args], capture_output=True, text=True,
                          env=environ, cwd=ROOT, timeout=120)
