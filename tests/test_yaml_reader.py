"""The YAML reader: merge keys as YAML 1.1 defines them, nodes counted while the tree is built,
and no input, however hostile, raising anything but a located message (fuzzed)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from iadsim.scenario import validate_file, yamlio
from iadsim.scenario.errors import ScenarioError
from iadsim.scenario.yamlio import MAX_NODES, read_yaml_text

from .conftest import MINIMAL
from .fuzzing import FUZZ


def _read(text: str):
    doc, errors = read_yaml_text(text, "f.yaml")
    return (doc.data if doc else None), [e.render() for e in errors], doc


def test_merge_then_override_is_allowed():
    data, errors, doc = _read("p: &p {a: 1, b: 2}\nq:\n  <<: *p\n  b: 3\n")
    assert errors == []
    assert data["q"] == {"a": 1, "b": 3}
    assert doc.locations[("q", "b")].line == 4  # the override's own line
    assert doc.locations[("q", "a")].line == 1  # the merged key's line in the anchor


def test_override_before_the_merge_key_also_wins():
    data, errors, _ = _read("p: &p {a: 1, b: 2}\nq:\n  b: 3\n  <<: *p\n")
    assert errors == [] and data["q"] == {"a": 1, "b": 3}


def test_first_of_several_merged_mappings_wins():
    data, errors, _ = _read("x: &x {a: 1}\ny: &y {a: 2, c: 5}\nz:\n  <<: [*x, *y]\n")
    assert errors == [] and data["z"] == {"a": 1, "c": 5}


def test_nested_merge_and_override_drops_the_merged_subtree():
    data, errors, doc = _read("b: &b {inner: {x: 1, y: 2}}\nuse:\n  <<: *b\n  inner: {x: 5}\n")
    assert errors == [] and data["use"] == {"inner": {"x": 5}}
    assert ("use", "inner", "y") not in doc.locations


def test_merge_of_a_merge():
    data, errors, _ = _read("a: &a {x: 1}\nb: &b {<<: *a, y: 2}\nc: {<<: *b, z: 3}\n")
    assert errors == [] and data["c"] == {"x": 1, "y": 2, "z": 3}


@pytest.mark.parametrize(("text", "line", "what"), [
    ("a: 1\nb:\n  <<: 5\n", 3, "not a single value"),
    ("a: 1\n<<: text\n", 2, "not a single value"),
    ("x: &x {a: 1}\nb:\n  <<: [*x, 3]\n", 3, "not a list with something other"),
    ("x: &x [1, 2]\nb:\n  <<: *x\n", 3, "not a list with something other"),
])
def test_merge_of_a_non_mapping_is_a_located_message(text, line, what):
    _, errors, _ = _read(text)
    [error] = errors
    assert f"f.yaml:{line}:" in error and "merge key '<<'" in error and what in error


def test_merge_of_a_non_mapping_in_a_scenario_file(write):
    errors = validate_file(write(MINIMAL + "extra:\n  <<: 5\n"))
    assert any("merge key '<<'" in e.message and e.location.line == MINIMAL.count("\n") + 2
               for e in errors)


def test_duplicate_explicit_keys_are_still_refused():
    _, errors, _ = _read("p: &p {a: 1}\nq:\n  <<: *p\n  a: 2\n  a: 3\n")
    [error] = errors
    assert "duplicate key 'a' (first at line 4)" in error and "f.yaml:5:" in error


def test_a_mapping_merged_into_itself_is_refused():
    _, errors, _ = _read("a: &a {<<: *a}\n")
    [error] = errors
    assert "nest more than 64 levels" in error


def test_an_alias_bomb_is_refused_while_composing_in_bounded_time():
    """Nine levels of ten aliases: 10^9 nodes expanded; refused before any is built."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    start = time.perf_counter()
    _, errors, _ = _read("\n".join(lines) + "\n")
    assert time.perf_counter() - start < 2.0
    [error] = errors
    assert f"more than {MAX_NODES:,} YAML nodes" in error


@pytest.mark.parametrize(("refs", "ok"), [(8, True), (10, False)])
def test_the_node_limit_counts_alias_expansions(monkeypatch, refs, ok):
    """An anchor of 1,000 items referred to ``refs`` times, against a limit of 10,000 nodes."""
    monkeypatch.setattr(yamlio, "MAX_NODES", 10_000)
    text = "a: &a [" + ", ".join(["1"] * 1000) + "]\nb: [" + ", ".join(["*a"] * refs) + "]\n"
    data, errors, _ = _read(text)
    if ok:
        assert errors == [] and len(data["b"]) == refs and data["b"][-1][-1] == 1
    else:
        [error] = errors
        assert "more than 10,000 YAML nodes" in error


# --- fuzzing --------------------------------------------------------------------------------

_TOKENS = ["<<: ", "<<: *a", "&a ", "*a", "*b", "&b ", "[", "]", "{", "}", ": ", "- ", ", ",
           "\n", "\n  ", "\n    ", "? ", "!!python/object:os.system ", "!!binary ", "!!set ",
           "!!merge ", "'", '"', "#", "|", ">", "~", ".inf", "-.inf", ".nan", "1e999", "0x1F",
           "2020-13-45", "1:30", "true", "NO", "\t", "\x00", "\ufeff", "---", "...", "%YAML 1.1",
           "a", "b", "name", "x"]


def _never_raises(text: str) -> None:
    doc, errors = read_yaml_text(text, "f.yaml")
    assert doc is not None or errors
    lines = text.count("\n") + 2
    for e in errors:
        assert isinstance(e, ScenarioError) and e.render()
        assert e.location is not None and 1 <= e.location.line <= lines


@FUZZ
@given(st.lists(st.sampled_from(_TOKENS), max_size=40).map("".join))
def test_fuzz_reader_token_soup(text):
    _never_raises(text)


@FUZZ
@given(st.integers(0, MINIMAL.count("\n")), st.lists(st.sampled_from(_TOKENS), min_size=1,
                                                     max_size=8).map("".join))
def test_fuzz_reader_line_inserted_into_a_scenario(at, line):
    """The fuzzer of the issue: one line inserted into a valid scenario."""
    lines = MINIMAL.split("\n")
    text = "\n".join([*lines[:at], line, *lines[at:]])
    _never_raises(text)


@FUZZ
@given(st.text(max_size=200))
def test_fuzz_reader_any_text(text):
    _never_raises(text)


def test_the_documented_merge_example_validates(write):
    """docs/scenario-language.md's example, added to the test scenario's units."""
    doc = (Path(__file__).parent.parent / "docs" / "scenario-language.md").read_text("utf-8")
    block = doc[doc.index("  units:\n    bn_a: &sam_bn"):]
    block = block[:block.index("  ```")]
    units = "\n".join(line[2:] for line in block.splitlines()[1:])
    text = MINIMAL.replace("units:\n", "units:\n" + units + "\n", 1)
    assert validate_file(write(text)) == []


@pytest.mark.parametrize("text", [
    "x:\n  <<: &p {a: [1, 2], b: {c: 3}}\n  d: 4\ny:\n  <<: *p\n",   # anchored inside a merge
    "x: &p {a: [1, 2], b: {c: 3}}\ny: {<<: *p}\nz: {<<: *p}\n",     # merged twice
    "x: &p [[1], {c: [2]}]\ny: *p\nz: [*p, *p]\n",                   # aliases nested in aliases
])
def test_an_anchor_s_subtree_survives_being_converted(text):
    """The converter drops nodes once converted, except those an alias may still reach."""
    data, errors, _ = _read(text)
    expected = yaml.safe_load(text)
    assert errors == [] and data == expected
