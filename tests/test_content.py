"""Content: every shipped file validates; broken files give precise path:line: field messages."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ipt_training.content import FOLDERS, load_file, load_library, validate

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted(p for folder in FOLDERS for p in (ROOT / folder).rglob("*.y*ml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_file_validates(path, library):
    rel = str(path.relative_to(ROOT))
    assert [str(e) for e in library.errors if e.path == rel] == []
    served = {m.source_path for bucket in (library.vignettes, library.rubrics, library.scales, library.instruments,
                                           library.standards, library.policies) for m in bucket.values()}
    assert rel in served


def test_content_hash_changes_with_the_file(tmp_path):
    shutil.copytree(ROOT / "rubrics", tmp_path / "rubrics")
    before = load_library(tmp_path).rubrics["vignette-core"].content_hash
    f = tmp_path / "rubrics" / "vignette_core.yaml"
    f.write_text(f.read_text().replace("pass_mark: 0.70", "pass_mark: 0.75"))
    after = load_library(tmp_path).rubrics["vignette-core"]
    assert after.pass_mark == 0.75 and after.content_hash != before and len(before) == 64


RUBRIC_OK = (ROOT / "rubrics" / "vignette_core.yaml").read_text()


def _tree(tmp_path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return tmp_path


BROKEN = {
    "yaml_syntax": (
        {"rubrics/bad.yaml": "kind: vignette_rubric\nid: x\nname: [unclosed\n"},
        "rubrics/bad.yaml", 4, "(yaml)", "YAML syntax error",
    ),
    "missing_field": (
        {"rubrics/bad.yaml": RUBRIC_OK.replace("pass_mark: 0.70", "").replace("id: vignette-core", "id: other")},
        "rubrics/bad.yaml", 4, "pass_mark", "required but missing",
    ),
    "wrong_type": (
        {"rubrics/bad.yaml": RUBRIC_OK.replace("weight: 12\n    description: >-\n      Which", "weight: lots\n    description: >-\n      Which", 1)},
        "rubrics/bad.yaml", 13, "criteria[0].weight", "valid number",
    ),
    "duplicate_id": (
        {"rubrics/a.yaml": RUBRIC_OK, "rubrics/b.yaml": RUBRIC_OK},
        "rubrics/b.yaml", 5, "id", "already used by rubrics/a.yaml",
    ),
    "dangling_scale": (
        {"rubrics/inst.yaml": "kind: fidelity_instrument\nid: i\nname: I\nversion: '1'\ndescription: d\n"
                              "scale: no-such-scale\nitems:\n  - id: a\n    section: s\n    text: t\n    phases: [initial]\n"
                              "    anchors: {1: a, 2: b}\n"},
        "rubrics/inst.yaml", 6, "scale", "does not exist",
    ),
    "python_tag": (
        {"rubrics/evil.yaml": "kind: vignette_rubric\nid: !!python/object/apply:os.system ['echo pwned']\n"},
        "rubrics/evil.yaml", 2, "(yaml)", "no !!python tags",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_file_gives_path_line_field(tmp_path, case):
    files, path, line, field, message = BROKEN[case]
    root = _tree(tmp_path, files)
    errors = validate(root)
    assert errors, "broken content must be reported"
    err = next(e for e in errors if e.path == path)
    assert (err.line, err.field) == (line, field), str(err)
    assert message in err.message
    assert str(err).startswith(f"{path}:{line}: {field}: ")


def test_broken_vignette_reference_is_rejected_and_others_still_served(tmp_path, library):
    vig = next(iter(library.vignettes.values()))
    shutil.copytree(ROOT / "rubrics", tmp_path / "rubrics")
    (tmp_path / "vignettes").mkdir()
    src = (ROOT / vig.source_path).read_text()
    (tmp_path / "vignettes" / "good.yaml").write_text(src)
    (tmp_path / "vignettes" / "dangling.yaml").write_text(
        src.replace(f"id: {vig.id}", "id: another-one", 1).replace("rubric: vignette-core", "rubric: no-such-rubric"))
    lib = load_library(tmp_path)
    assert list(lib.vignettes) == [vig.id]
    [err] = lib.errors
    assert err.path == "vignettes/dangling.yaml" and err.field == "rubric" and "no-such-rubric" in err.message


def test_validate_command_exit_codes(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "ipt_training", "validate"], cwd=ROOT, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "All content is valid" in ok.stdout
    files, path, line, field, _ = BROKEN["missing_field"]
    root = _tree(tmp_path, files)
    (root / "vignettes").mkdir()
    (root / "training").mkdir()
    bad = subprocess.run([sys.executable, "-m", "ipt_training", "validate", "--content-dir", str(root)],
                         cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 1
    assert bad.stdout.splitlines()[0].startswith(f"{path}:{line}: {field}: ")


def test_load_file_refuses_wrong_kind_for_folder(tmp_path):
    p = tmp_path / "training" / "x.yaml"
    p.parent.mkdir()
    p.write_text(RUBRIC_OK)
    model, errors = load_file(p, tmp_path, FOLDERS["training"])
    assert model is None and errors[0].field == "kind" and errors[0].line == 4


def test_a_numeric_version_is_read_as_text(tmp_path):
    root = _tree(tmp_path, {"rubrics/r.yaml": RUBRIC_OK.replace('version: "2.0"', "version: 2")})
    lib = load_library(root)
    assert lib.rubrics["vignette-core"].version == "2"


# --- fidelity instrument: critical and proscribed items (issue 13) ----------------------------

SCALE = (ROOT / "rubrics" / "scale_fidelity_1to5.yaml").read_text()
OCCURRENCE = SCALE.replace("id: fidelity-1to5", "id: occurrence-1to5")
ANCHORS = "    anchors: {1: a, 2: b, 3: c, 4: d, 5: e}\n"


def _instrument(pass_rule: str, items: str, extra: str = "proscribed_scale: occurrence-1to5\n") -> str:
    return ("kind: fidelity_instrument\nid: i\nname: I\nversion: '1'\ndescription: d\nscale: fidelity-1to5\n"
            + extra + pass_rule + "items:\n" + items)


GOOD_ITEMS = ("  - id: risk\n    section: s\n    text: t\n    phases: [initial]\n    critical: true\n" + ANCHORS
              + "  - id: cbt\n    section: p\n    text: t\n    phases: [initial]\n    proscribed: true\n" + ANCHORS)
GOOD_RULE = "pass_rule:\n  threshold: 3.0\n  critical_min: 3\n  proscribed_deduction: 0.25\n"

INSTRUMENT_BROKEN = {
    "critical_item_without_phase": (
        _instrument(GOOD_RULE, GOOD_ITEMS.replace("phases: [initial]\n    critical", "phases: []\n    critical")),
        13, "items[0]", "critical item 'risk' applies to no phase",
    ),
    "proscribed_item_without_anchors": (
        _instrument(GOOD_RULE, GOOD_ITEMS[: GOOD_ITEMS.rindex(ANCHORS)]),
        19, "items[1]", "proscribed item 'cbt' has no anchors",
    ),
    "critical_min_outside_scale": (
        _instrument(GOOD_RULE.replace("critical_min: 3", "critical_min: 6"), GOOD_ITEMS),
        10, "pass_rule.critical_min", "6 is outside scale 'fidelity-1to5' (1-5)",
    ),
    "critical_items_without_critical_min": (
        _instrument(GOOD_RULE.replace("  critical_min: 3\n", ""), GOOD_ITEMS),
        1, "(file)", "pass_rule.critical_min is not set",
    ),
    "proscribed_items_without_effect": (
        _instrument(GOOD_RULE.replace("  proscribed_deduction: 0.25\n", ""), GOOD_ITEMS),
        1, "(file)", "gives them no effect",
    ),
    "proscribed_scale_missing": (
        _instrument(GOOD_RULE, GOOD_ITEMS, extra="proscribed_scale: no-such-scale\n"),
        7, "proscribed_scale", "'no-such-scale', which does not exist",
    ),
    "proscribed_item_allowing_na": (
        _instrument(GOOD_RULE, GOOD_ITEMS.replace("proscribed: true\n", "proscribed: true\n    allow_na: true\n")),
        19, "items[1]", "cannot allow N/A",
    ),
}


@pytest.mark.parametrize("case", sorted(INSTRUMENT_BROKEN))
def test_instrument_critical_and_proscribed_rules_are_validated(tmp_path, case):
    text, line, field, message = INSTRUMENT_BROKEN[case]
    root = _tree(tmp_path, {"rubrics/scale.yaml": SCALE, "rubrics/occ.yaml": OCCURRENCE, "rubrics/inst.yaml": text})
    errors = [e for e in validate(root) if e.path == "rubrics/inst.yaml"]
    assert len(errors) == 1, [str(e) for e in errors]
    assert str(errors[0]).startswith(f"rubrics/inst.yaml:{line}: {field}: "), str(errors[0])
    assert message in errors[0].message


def test_instrument_with_critical_and_proscribed_items_loads(tmp_path):
    root = _tree(tmp_path, {"rubrics/scale.yaml": SCALE, "rubrics/occ.yaml": OCCURRENCE,
                            "rubrics/inst.yaml": _instrument(GOOD_RULE, GOOD_ITEMS)})
    lib = load_library(root)
    assert lib.errors == []
    risk, cbt = lib.instruments["i"].items
    assert risk.critical and risk.na_allowed and not risk.proscribed
    assert cbt.proscribed and not cbt.na_allowed and lib.instruments["i"].scale_of(cbt) == "occurrence-1to5"
    assert lib.instruments["i"].pass_rule.critical_min == 3


def test_a_rubric_gate_on_a_machine_criterion_or_an_unknown_type_is_refused_with_path_line(tmp_path):
    """Issue 12: `min_level` belongs to supervisor-graded criteria; criterion types are a closed set."""
    gated = RUBRIC_OK.replace("    type: area_identification\n", "    type: area_identification\n    min_level: 1\n", 1)
    unknown = RUBRIC_OK.replace("    type: dispute_stage\n", "    type: empathy_meter\n", 1)
    for text, needle in ((gated, "allowed only on supervisor_graded"), (unknown, "empathy_meter")):
        root = _tree(tmp_path / needle[:8], {"rubrics/bad.yaml": text})
        [err] = [e for e in validate(root) if e.path == "rubrics/bad.yaml"]
        assert err.line > 1 and err.field.startswith("criteria[") and needle in str(err), str(err)
        assert str(err).startswith(f"rubrics/bad.yaml:{err.line}: criteria[")
    shipped = load_library(ROOT).rubrics["vignette-core"]
    gates = {c.id: c.min_level for c in shipped.criteria if getattr(c, "min_level", None)}
    assert gates == {"formulation": 2, "responses": 2}
    assert "dispute_stage" in {c.type for c in shipped.criteria}


def test_shipped_instrument_anchors_describe_what_the_therapist_did(library):
    """Issue 13: anchors raters can agree on: the therapist as the actor, one condition per
    level (no 'or'), no level carried by an adjective alone."""
    inst = library.instruments["ipt-session-fidelity"]
    vague = re.compile(r"\b(skilful|skillful|outstanding|excellent|thoughtful|sensitive|warmly|thorough|"
                       r"well-paced|plainly|adequate|poorly)\b", re.I)
    for item in inst.items:
        for point, anchor in item.anchors.items():
            text = " ".join(anchor.split())
            where = f"{item.id} anchor {point}: {text}"
            assert "the therapist" in text.lower(), where
            assert not re.search(r"\bor\b", text, re.I), where
            assert not vague.search(text), where
    assert "little on safety" not in " ".join(inst.items[0].anchors.values())
    assert "Adherence and Quality" not in inst.name and "Quality and Adherence" not in inst.name


def test_shipped_instrument_marks_safety_focus_and_area_strategy_critical(library):
    inst = library.instruments["ipt-session-fidelity"]
    critical = {it.id for it in inst.items if it.critical}
    assert {"init_risk_review", "risk_review_when_raised", "quality_focus"} <= critical
    for phase, areas in (("middle", "area_"), ("termination", "term_area_")):
        for area in ("grief", "role_dispute", "role_transition", "interpersonal_deficits"):
            shown = {it.id for it in inst.applicable_items(phase, area) if it.critical}
            assert f"{areas}{area}" in shown, (phase, area)
    proscribed = {it.id for it in inst.items if it.proscribed}
    assert len(proscribed) == 5 and all(not it.na_allowed for it in inst.items if it.proscribed)
    assert all(it.phases == ["initial", "middle", "termination"] for it in inst.items if it.proscribed)


def _nodes(node):
    """(tag, value or None, line, column) of every node of a composed YAML tree, depth first."""
    import yaml

    out, todo = [], [node]
    while todo:
        n = todo.pop()
        out.append((n.tag, n.value if isinstance(n, yaml.ScalarNode) else None, n.start_mark.line, n.start_mark.column))
        if isinstance(n, yaml.MappingNode):
            todo.extend(x for pair in reversed(n.value) for x in reversed(pair))
        elif isinstance(n, yaml.SequenceNode):
            todo.extend(reversed(n.value))
    return out


def test_content_is_read_as_the_pure_python_parser_reads_it():
    """Issue 16: the content is parsed once, by libyaml where installed; every shipped file gives
    the data and the line numbers PyYAML's own parser gives, and a refused file keeps PyYAML's
    message (which names the character at fault)."""
    import yaml

    from ipt_training.content_errors import YAMLProblem, parse_yaml

    shipped = [p for folder in FOLDERS for p in sorted((ROOT / folder).rglob("*.y*ml"))]
    assert len(shipped) > 20
    for path in shipped:
        text = path.read_text("utf-8")
        node, data = parse_yaml(text)
        assert data == yaml.load(text, Loader=yaml.SafeLoader), path
        assert _nodes(node) == _nodes(yaml.compose(text, Loader=yaml.SafeLoader)), path
    with pytest.raises(YAMLProblem) as refused:
        parse_yaml("title: fine\nnotes: a @mention\nkey: @x\n")
    assert refused.value.line == 3 and "'@'" in refused.value.message
