"""The display-name helper (issue 17, human words): ids and stored values as a reader reads them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ipt_training import display


@pytest.mark.parametrize("raw, shown", [
    ("supervised-clinical-hours", "Supervised clinical hours"),
    ("locked_until", "Locked until"),
    ("display_name", "Display name"),
    ("ipt-training", "IPT training"),
    ("rater-calibration", "Rater calibration"),
    ("icc_1_1", "ICC 1 1"),
    (None, "—"),
    ("", "—"),
])
def test_humanize_names_an_id_that_has_no_title(raw, shown):
    assert display.humanize(raw) == shown


@pytest.mark.parametrize("raw, shown", [
    (None, "—"), (float("nan"), "—"), (np.float64("nan"), "—"),
    (np.float64(4.0), "4"), (np.float64(3.456), "3.46"), (2.50, "2.5"), (0.0, "0"), (-0.001, "0"),
    (True, "yes"), (False, "no"), (np.bool_(True), "yes"), ("text", "text"), (7, "7"), (np.int64(7), "7"),
])
def test_value_never_shows_a_raw_python_or_numpy_value(raw, shown):
    assert display.value(raw) == shown


def test_value_reads_a_stored_flag_as_yes_or_no_only_when_asked():
    assert display.value(1, flag=True) == "yes" and display.value(0, flag=True) == "no"
    assert display.value(1) == "1"


def test_number_keeps_the_digits_asked_for():
    assert display.number(np.float64(0.123456), 3) == "0.123"
    assert display.number(math.pi, 0) == "3"
    assert "np." not in display.number(np.float64(4.0))


def test_item_label_prefers_the_content_label_then_the_head_of_the_text(library):
    items = {i.id: i for i in library.instruments["ipt-session-fidelity"].items}
    assert display.item_label(items["focus_fit"]) == "Fit of the chosen focus"
    assert display.item_label(items["tech_role_play"]) == "Role play"
    assert display.item_label(items["init_symptom_review"]) == "Reviews the current depressive symptoms"
    for item in items.values():
        label = display.item_label(item)
        assert 0 < len(label) <= 61 and "_" not in label, (item.id, label)
    labelled = items["focus_fit"].model_copy(update={"label": "Focus"})
    assert display.item_label(labelled) == "Focus"


def test_requirement_title_prefers_the_content_title(library):
    req = library.standards["ipt-therapist-example"].requirements[0]
    assert req.id == "supervised-clinical-hours"
    assert display.requirement_title(req) == "Supervised clinical hours"
    assert display.requirement_title(req.model_copy(update={"title": "Clinical practice"})) == "Clinical practice"


def test_name_of_looks_up_the_title_and_names_an_unknown_id(library):
    assert display.name_of(library.instruments, "ipt-session-fidelity") == library.instruments["ipt-session-fidelity"].name
    assert display.name_of(library.vignettes, "case-a01", "title") == library.vignettes["case-a01"].title
    assert display.name_of(library.instruments, "retired-scale") == "Retired scale"


def test_headers_rename_columns():
    assert display.headers(["display_name", "active"], {"active": "Active"}) == {
        "display_name": "Display name", "active": "Active"}


def test_readable_table_names_columns_and_shows_missing_and_flags_in_words():
    import pandas as pd

    df = pd.DataFrame({"display_name": ["Ada", "Ravi"], "active": [1, 0], "locked_until": [None, "2026-12-01"],
                       "icc": [0.81234, float("nan")], "n": [3, 4]})
    out = display.readable(df, flags=["active"])
    assert list(out.columns) == ["Display name", "Active", "Locked until", "ICC", "N"]
    assert out["Active"].tolist() == ["yes", "no"]
    assert out["Locked until"].tolist() == ["—", "2026-12-01"]
    assert out["ICC"].tolist() == ["0.812", "—"]
    assert out["N"].tolist() == [3, 4]  # nothing missing: numbers stay numbers (sortable)
