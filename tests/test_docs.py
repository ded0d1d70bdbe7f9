"""The examples in README and docs run as written."""

from __future__ import annotations

import re
from pathlib import Path

from iadsim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def _blocks(path: Path, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


def test_readme_yaml_example_loads(write):
    [example] = [b for b in _blocks(ROOT / "README.md", "yaml") if "include: [reference]" in b]
    sc = load_scenario(write(example))
    assert "blr_825_aamr" not in sc.units
    assert not any(u.parent == "blr_825_aamr" for u in sc.units.values())
    assert sc.units["blr_15_aamr_bn1"].alert_duty is False


def test_readme_python_example_runs():
    [example] = [b for b in _blocks(ROOT / "README.md", "python") if "load_scenario" in b]
    exec(compile(example.replace("print(", "(lambda *a: None)("), "README", "exec"), {})


def test_scenario_language_include_example_validates(write):
    [example] = [b for b in _blocks(ROOT / "docs" / "scenario-language.md", "yaml")
                 if b.startswith("include: [reference]")]
    sc = load_scenario(write(example))
    assert "blr_825_aamr" not in sc.units
