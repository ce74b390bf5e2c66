"""Regenerate requirements.lock (and requirements-otel.lock) from pyproject.toml's dependencies.

Resolves with pip's own resolver (`pip install --dry-run --ignore-installed --report`), so
nothing is installed and the result is what a clean venv would get today. Run it on Python
3.11 (the image's), from the repository root:  python deploy/lock.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = ("# Pinned runtime dependencies of hotline, resolved from pyproject.toml by deploy/lock.py.\n"
          "# The Dockerfile installs exactly these (pip install --no-deps -r requirements.lock).\n")


def resolve(requirements: list[str]) -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
         "--report", "-", *requirements],
        check=True, capture_output=True, text=True).stdout
    report = json.loads(out)
    return {i["metadata"]["name"].lower().replace("_", "-"): i["metadata"]["version"]
            for i in report["install"]}


def write(path: Path, header: str, pins: dict[str, str]) -> None:
    lines = [f"{name}=={version}" for name, version in sorted(pins.items())]
    path.write_text(header + "\n".join(lines) + "\n")
    print(f"{path.name}: {len(lines)} packages")


def main() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = resolve(project["dependencies"])
    write(ROOT / "requirements.lock", HEADER, runtime)
    otel = resolve(project["dependencies"] + project["optional-dependencies"]["otel"])
    extra = {n: v for n, v in otel.items() if runtime.get(n) != v}
    write(ROOT / "requirements-otel.lock",
          "# The `otel` extra on top of requirements.lock (deploy/lock.py); "
          "docker build --build-arg WITH_OTEL=1.\n", extra)


if __name__ == "__main__":
    main()
