#!/usr/bin/env python3
"""Set everything up and run: ``python3 dev.py demo`` or ``python3 dev.py test``.

Needs only Python 3.11+ and a C compiler. Creates ``.venv`` beside this file,
installs the project (again only when ``setup.cfg`` or ``pyproject.toml`` changed),
then runs the demo service or the whole test suite (pytest, ruff, mypy).
Pass ``--python 3.12`` (or a path) to use another interpreter for the venv.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def venv_dir(python: str | None) -> Path:
    return ROOT / (".venv" if not python else f".venv-{Path(python).name}")


def ensure_environment(python: str | None, extras: str) -> Path:
    """Create the venv and install the project with ``extras``; return its bin folder."""
    venv = venv_dir(python)
    bindir = venv / "bin"
    if not (bindir / "python").exists():
        interpreter = shutil.which(python) if python and os.sep not in python else python
        interpreter = interpreter or (f"python{python}" if python else sys.executable)
        print(f"[dev] creating {venv} with {interpreter}", flush=True)
        subprocess.run([interpreter, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(bindir / "python"), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True
        )
    digest = hashlib.sha256()
    for name in ("setup.cfg", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    digest.update(extras.encode())
    stamp = venv / f".installed-{extras}"
    if not stamp.exists() or stamp.read_text() != digest.hexdigest():
        print(
            f"[dev] installing mlservice[{extras}] (first time takes a few minutes: LightFM compiles)",
            flush=True,
        )
        subprocess.run(
            [str(bindir / "python"), "-m", "pip", "install", "-q", "-e", f".[{extras}]"],
            cwd=ROOT,
            check=True,
        )
        stamp.write_text(digest.hexdigest())
    return bindir


def run(bindir: Path, *command: str, env: dict[str, str] | None = None) -> int:
    print(f"[dev] {' '.join(command)}", flush=True)
    return subprocess.run([str(bindir / command[0]), *command[1:]], cwd=ROOT, env=env).returncode


def test(bindir: Path, pytest_args: list[str]) -> int:
    status = run(bindir, "ruff", "check", "mlcore", "plugins", "service", "tests", "benchmarks")
    status |= run(bindir, "mypy", "mlcore", "plugins")
    status |= run(bindir, "pytest", *pytest_args)
    return status


def demo(bindir: Path, extra: list[str]) -> int:
    return run(bindir, "mlservice", "demo", *extra)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=("demo", "test", "setup"))
    parser.add_argument("--python", default=None, help="interpreter for the venv, e.g. 3.12")
    args, rest = parser.parse_known_args()
    extras = "test" if args.what == "test" else "implicit"
    bindir = ensure_environment(args.python, extras)
    if args.what == "test":
        return test(bindir, rest)
    if args.what == "demo":
        return demo(bindir, rest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
