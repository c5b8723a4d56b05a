"""Import directions: ``plugins -> mlcore <- service``, and serving imports only the kernel.

Walks every module's imports with ``ast`` (imports inside functions included) and
fails on an arrow against the layering of ``../shared/docs/architecture.md``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: (folder whose modules are checked, imported top-level names or module prefixes refused)
RULES: list[tuple[str, tuple[str, ...]]] = [
    (
        "mlcore",
        ("plugins", "service", "falcon", "gunicorn", "requests", "lightfm", "implicit"),
    ),
    ("plugins", ("service",)),
    ("service", ("plugins",)),
    (
        "mlcore/serving",
        ("mlcore.training", "mlcore.legacy", "mlcore.demo", "mlcore.totara"),
    ),
    (
        "mlcore/storage",
        ("mlcore.training", "mlcore.legacy", "mlcore.demo", "mlcore.totara", "mlcore.serving"),
    ),
]


def imported_modules(root: Path, path: Path) -> list[tuple[int, str]]:
    """(line, dotted module) of every import in ``path``, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found.append((node.lineno, base))
            # ``from mlcore import training`` imports the subpackage mlcore.training.
            found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names)
    return found


def violations(root: Path, folder: str, refused: tuple[str, ...]) -> list[str]:
    """``file:line imports module`` for every import under ``root/folder`` that ``refused``
    forbids."""
    problems = []
    for path in sorted((root / folder).rglob("*.py")):
        for line, module in imported_modules(root, path):
            for prefix in refused:
                if module == prefix or module.startswith(prefix + "."):
                    problems.append(f"{path.relative_to(root)}:{line} imports {module}")
    return sorted(set(problems))


@pytest.mark.parametrize(("folder", "refused"), RULES, ids=[rule[0] for rule in RULES])
def test_no_import_runs_against_the_layers(folder: str, refused: tuple[str, ...]) -> None:
    assert violations(ROOT, folder, refused) == []


def test_a_reversed_arrow_is_caught_even_inside_a_function(tmp_path: Path) -> None:
    (tmp_path / "mlcore" / "serving").mkdir(parents=True)
    (tmp_path / "mlcore" / "serving" / "probe.py").write_text(
        "import numpy\n\ndef late():\n    from ..training import trainer\n"
    )
    (tmp_path / "service").mkdir()
    (tmp_path / "service" / "probe.py").write_text("from plugins.filesystem_store import x\n")
    assert violations(tmp_path, "mlcore/serving", RULES[3][1]) == [
        "mlcore/serving/probe.py:4 imports mlcore.training",
        "mlcore/serving/probe.py:4 imports mlcore.training.trainer",
    ]
    assert violations(tmp_path, "service", ("plugins",)) == [
        "service/probe.py:1 imports plugins.filesystem_store",
        "service/probe.py:1 imports plugins.filesystem_store.x",
    ]


def test_mlcore_root_holds_only_the_kernel() -> None:
    root_modules = sorted(p.name for p in (ROOT / "mlcore").glob("*.py"))
    assert len(root_modules) <= 12, root_modules
