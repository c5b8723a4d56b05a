"""Every setting a user can change is in the README's configuration tables."""

from __future__ import annotations

from pathlib import Path

from mlcore.config import VARIABLES

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_used_setting_is_documented() -> None:
    text = README.read_text(encoding="utf-8")
    used = [name for name, (field_name, _, _) in VARIABLES.items() if field_name]
    assert [name for name in used if f"`{name}`" not in text] == []
