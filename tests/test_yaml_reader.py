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


# --- the reader builds objects straight from the parser's events ------------------------------

def test_an_anchor_merged_after_its_use_keeps_its_content():
    """The node-tree reader lost the inside of an anchor that a merge used after an alias had."""
    data, errors, _ = _read("k0: {d: &a1 [{b: &a2 {a: ~}}], c: [*a1], <<: *a1}\n")
    assert errors == []
    assert data == {"k0": {"d": [{"b": {"a": None}}], "c": [[{"b": {"a": None}}]], "b": {"a": None}}}


def test_an_alias_is_an_object_of_its_own():
    data, errors, _ = _read("a: &a {x: [1]}\nb: *a\n")
    assert errors == [] and data["a"] == data["b"] and data["a"] is not data["b"]
    data["b"]["x"].append(2)
    assert data["a"]["x"] == [1]


def test_locations_inside_aliases_and_merges():
    text = ("base: &b\n  radar: {range_km: 100}\n  sites: [s1, s2]\n"
            "use:\n  <<: *b\n  sites: [s3]\nlist: [*b]\n")
    _, errors, doc = _read(text)
    assert errors == []
    loc = doc.locations
    assert loc[("use", "radar")].line == 2 and loc[("use", "radar", "range_km")].line == 2
    assert loc[("use", "sites")].line == 6 and loc[("use", "sites", 0)].line == 6
    assert ("use", "sites", 1) not in loc  # the merged list was overridden whole
    assert loc[("list", 0)].line == 1  # where the anchor is set
    assert loc[("list", 0, "sites", 1)].line == 3


@pytest.mark.parametrize("tag", ["set", "omap", "pairs", "map", "seq"])
def test_a_collection_tag_on_a_scalar_is_a_located_message(tag):
    """PyYAML's constructors for these give a generator for a scalar: it never reaches the data."""
    _, errors, _ = _read(f"a: 1\nb: !!{tag} x\n")
    [error] = errors
    assert "f.yaml:2:4: b: unreadable value" in error and tag in error


def test_a_duplicate_anchor_names_its_first_line():
    _, errors, _ = _read("a: &x 1\nb: &x 2\n")
    [error] = errors
    assert "f.yaml:2:4" in error and "duplicate anchor 'x' (first at line 1)" in error


def test_a_refused_key_s_value_is_neither_placed_nor_checked():
    data, errors, doc = _read("a: 1\na: {b: !!binary x}\n[1]: {c: 2}\n")
    assert data == {"a": 1}
    assert len(errors) == 2 and "duplicate key 'a'" in errors[0] and "plain name" in errors[1]
    assert set(doc.locations) == {(), ("a",)}


def test_aliases_deeper_than_the_limit_are_refused():
    deep = "[" * 40 + "1" + "]" * 40
    _, errors, _ = _read(f"a: &a {deep}\nb: {'[' * 30}*a{']' * 30}\n")
    [error] = errors
    assert "nest more than 64 levels" in error


def _scenario_like(n: int) -> str:
    return "places:\n" + "".join(
        f"  p{i}: {{name: P{i}, lat_deg: {50 + i % 1000 / 1000}, lon_deg: 25.5, source: [GeoNames]}}\n"
        for i in range(n))


def test_reading_is_linear_in_the_number_of_records():
    """CPU time of 40,000 records against 10,000: about 4 if linear (16 if quadratic)."""
    def cpu(n: int) -> float:
        text = _scenario_like(n)
        start = time.process_time()
        doc, errors = read_yaml_text(text, "f.yaml")
        assert doc is not None and not errors and len(doc.data["places"]) == n
        return time.process_time() - start

    cpu(2_000)  # warm up
    assert cpu(40_000) / cpu(10_000) < 7


# Nested lists and mappings with anchors, aliases and merge keys, written as flow YAML; compared
# with PyYAML's own loader where PyYAML is right (no merge key: its flattening of merges that
# merge other merges gives the wrong precedence), and their locations all point into the data.

_SCALARS = st.sampled_from(["1", "x", "2.5", "2020-01-01", "'q'", "~", "true", "name", '"<<"', "-3"])


@st.composite
def _flow_yaml(draw: st.DrawFn, merges: bool) -> str:
    anchors: list[str] = []  # those complete, which an alias may refer to
    names = iter(range(10**6))

    def node(depth: int) -> str:
        kind = draw(st.sampled_from(["scalar", "alias", "list", "map"] if depth < 4 else ["scalar", "alias"]))
        if kind == "alias" and anchors:
            return "*" + draw(st.sampled_from(anchors))
        if kind in ("scalar", "alias"):
            return draw(_SCALARS)
        anchor = f"a{next(names)}" if draw(st.booleans()) else None
        if kind == "list":
            text = "[" + ", ".join(node(depth + 1) for _ in range(draw(st.integers(0, 3)))) + "]"
        else:
            keys = draw(st.lists(st.sampled_from(["a", "b", "c", "<<"] if merges else ["a", "b", "c"]),
                                 unique=True, max_size=4))
            parts = []
            for key in keys:
                if key == "<<":
                    maps = [a for a in anchors if a.startswith("m")]
                    if not maps:
                        continue
                    value = "[" + ", ".join("*" + draw(st.sampled_from(maps))
                                            for _ in range(draw(st.integers(1, 2)))) + "]"
                else:
                    value = node(depth + 1)
                parts.append(f"{key}: {value}")
            text = "{" + ", ".join(parts) + "}"
            if anchor:
                anchor = "m" + anchor
        if anchor:
            anchors.append(anchor)
            return f"&{anchor} {text}"
        return text

    return "".join(f"k{i}: {node(0)}\n" for i in range(draw(st.integers(1, 4))))


def _locations_in_data(doc) -> None:
    for path in doc.locations:
        value = doc.data
        for part in path:
            value = value[part]  # a KeyError or IndexError: a location of nothing


@FUZZ
@given(_flow_yaml(merges=False))
def test_fuzz_same_data_as_pyyaml_and_locations_inside_it(text):
    data, errors, doc = _read(text)
    assert errors == [] and data == yaml.safe_load(text)
    _locations_in_data(doc)


@FUZZ
@given(_flow_yaml(merges=True))
def test_fuzz_merges_give_yaml_1_1_data_and_locations_inside_it(text):
    """Merges of mappings that themselves merge: checked against a direct reading of YAML 1.1
    (own keys first, then each merged mapping in order, resolved first), not PyYAML's."""
    data, errors, doc = _read(text)
    assert errors == []
    assert data == _merged(yaml.compose(text))
    _locations_in_data(doc)


def _merged(node):
    """The YAML 1.1 value of a composed node, merge keys resolved as https://yaml.org/type/merge.html
    says (the mapping's own keys win; of merged mappings, the first listed)."""
    if isinstance(node, yaml.ScalarNode):
        return yaml.SafeLoader("").construct_object(node) if node.tag != "tag:yaml.org,2002:str" \
            else node.value
    if isinstance(node, yaml.SequenceNode):
        return [_merged(item) for item in node.value]
    own, sources = {}, []
    for key, value in node.value:
        if key.tag == "tag:yaml.org,2002:merge":
            sources += value.value if isinstance(value, yaml.SequenceNode) else [value]
        else:
            own[key.value] = _merged(value)
    out = {}
    for source in sources:
        for k, v in _merged(source).items():
            out.setdefault(k, v)
    return {**out, **own}
