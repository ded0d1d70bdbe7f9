"""The README's "How sure is this figure?" tables are recomputed (tools/readme_intervals.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("readme_intervals", ROOT / "tools" / "readme_intervals.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["readme_intervals"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.parametrize("name", ["baltic", "raid"])
def test_readme_interval_table_matches_a_fresh_study(name, tmp_path):
    tool = _tool()
    table = tool.TABLES[name]
    result = tool.run_table(table, jobs=2, work=tmp_path)
    assert tool.render(table, result) == tool.readme_block(name)


def test_readme_interval_tables_are_present_and_name_their_tool():
    tool = _tool()
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in tool.TABLES:
        block = tool.readme_block(name, text)
        assert block.startswith("| figure | value | interval under all ranges |"), name
    assert "tools/readme_intervals.py" in text
