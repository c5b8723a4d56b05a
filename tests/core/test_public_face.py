"""The public face: ``from mlcore import ...`` is all a plugin author needs."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import mlcore

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "mlservice-example-plugin" / "src"


def test_every_public_name_resolves_to_its_home() -> None:
    names = set(mlcore.__all__) - {"__version__"}
    assert names == set(mlcore._EXPORTS)
    for name in names:
        home = importlib.import_module(mlcore._EXPORTS[name])
        assert getattr(mlcore, name) is getattr(home, name), name


def test_unknown_names_are_attribute_errors() -> None:
    try:
        mlcore.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("mlcore.NoSuchThing resolved")


def test_importing_the_config_loads_nothing_heavy() -> None:
    code = (
        "import sys, mlcore.config; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'scipy', 'pluggy'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_example_plugin_imports_only_the_public_face() -> None:
    imported = set()
    for path in EXAMPLE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    ours = {name for name in imported if name.split(".")[0] in ("mlcore", "plugins", "service")}
    assert ours == {"mlcore"}
