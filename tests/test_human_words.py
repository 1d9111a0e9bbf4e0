"""Human words (issue 17): no page, for any role, shows an internal id or a raw value.

Every page each demo account may use (``access.PAGES``, so pages added later are covered) is
run with the demo data loaded; everything it shows as text (Markdown, alerts, metrics, widget
labels and options, tables' cells and column names) must be free of the content's ids
(instrument items, requirements, instruments, standards, scales, rubrics, moments, stages,
vignettes), of snake_case identifiers in general, and of ``None``, ``nan`` and ``np.float64``.
"""

from __future__ import annotations

import re

import pytest

from apphelp import app_as, texts
from ipt_training import access
from ipt_training.content_base import PROBLEM_AREAS
from ipt_training.demo import DEMO_ACCOUNTS

# a raw value that leaked through str(): Python's None, pandas' NaN, NumPy's scalar repr, a bare 1/0 flag cell
RAW = re.compile(r"\bNone\b|\bnan\b|\bNaN\b|np\.float64|np\.int64|\bTrue\b|\bFalse\b")
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def content_ids(library) -> set[str]:
    """Every id of the loaded content that is not an ordinary word (ids with ``-`` or ``_``)."""
    ids: set[str] = set(PROBLEM_AREAS)
    for coll in (library.vignettes, library.rubrics, library.scales, library.instruments, library.standards,
                 library.policies):
        ids.update(coll)
    for inst in library.instruments.values():
        ids.update(item.id for item in inst.items)
    for std in library.standards.values():
        ids.update(r.id for r in list(std.requirements) + list(std.renewal_requirements))
    for rubric in library.rubrics.values():
        for name in ("machine_criteria", "graded_criteria", "criteria"):
            ids.update(c.id for c in getattr(rubric, name, []) or [])
    for v in library.vignettes.values():
        ids.update(s.id for s in getattr(v, "stages", []) or [])
        ids.update(m.id for m in getattr(v, "moments", []) or [])
    return {i for i in ids if "-" in i or "_" in i}


def everything_shown(at) -> str:
    """``apphelp.texts`` plus what widgets show: labels, options, metrics, tabs, buttons."""
    parts = [texts(at)]
    for kind in ("selectbox", "radio", "multiselect", "select_slider"):
        for w in getattr(at, kind, []):
            parts.append(str(w.label))
            parts.extend(str(o) for o in (w.options or []))
    for kind in ("text_input", "text_area", "number_input", "checkbox", "toggle", "button", "date_input",
                 "slider"):
        for w in getattr(at, kind, []):
            parts.append(str(w.label))
    for m in at.metric:
        parts.extend([str(m.label), str(m.value)])
    for t in at.tabs:
        parts.append(str(t.label))
    for df in at.dataframe:
        parts.extend(str(c) for c in df.value.columns)
        parts.append(" ".join(str(i) for i in df.value.index if not isinstance(i, int)))
    return "\n".join(parts)


ICON = re.compile(r":material/[a-z0-9_]+:")


def leaks(shown: str, ids: set[str], snake: bool = True) -> list[str]:
    shown = ICON.sub("", shown)  # a Material icon's name is drawn as the icon, not read
    found = [m.group(0) for m in RAW.finditer(shown)]
    found += [m.group(0) for m in SNAKE.finditer(shown)] if snake else []
    found += [i for i in ids if re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", shown)]
    return sorted(set(found))


# Pages whose purpose is to show content ids and stored records as they are: Content status lists
# the content files an admin edits (id, file, hash); the audit log is the verbatim record (actions
# and details as stored). They are still checked for None, nan and NumPy values.
SHOWS_IDS = {"content_status.py", "audit_log.py"}


def test_the_checks_catch_what_they_look_for(library):
    ids = content_ids(library)
    assert "init_symptom_review" in ids and "supervised-clinical-hours" in ids and "ipt-session-fidelity" in ids
    assert leaks("Rated on ipt-session-fidelity; locked_until None, np.float64(4.0)", ids) == [
        "None", "ipt-session-fidelity", "locked_until", "np.float64"]
    assert leaks("Supervised clinical hours: 4.0 of 150, confirmed by Sam Supervisor. Not rated yet.", ids) == []


@pytest.mark.parametrize("account", DEMO_ACCOUNTS, ids=lambda a: a.role)
def test_no_page_shows_an_internal_id_or_raw_value(account, app_demo, demo_db, library):
    from ipt_training import auth

    user = auth.find_user(demo_db, account.username)
    ids = content_ids(library)
    at = app_as(user.id)
    problems = {}
    for spec in access.pages_for(user.roles):
        at.switch_page(f"ipt_training/app_pages/{spec.file}")
        at.run()
        assert not at.exception, f"{spec.title} failed for {account.role}: {at.exception}"
        found = leaks(everything_shown(at), set() if spec.file in SHOWS_IDS else ids, spec.file not in SHOWS_IDS)
        if found:
            text = everything_shown(at)
            problems[spec.title] = {f: text[max(0, text.find(f) - 60):text.find(f) + 40] for f in found[:4]}
    assert not problems, f"internal ids or raw values shown to the {account.role}: {problems}"


def test_the_reliability_csv_shows_no_raw_python_or_numpy_value(demo_db, library):
    """The CSV keeps machine columns (item_id) but its values and notes are written as a reader writes them."""
    from ipt_training.reliability import report_data, report_export

    report = report_data.reliability_report(demo_db, library, "ipt-session-fidelity")
    csv = report_export.report_csv(report).decode("utf-8")
    assert len(csv.splitlines()) > 10
    assert not RAW.findall(csv), sorted(set(RAW.findall(csv)))
