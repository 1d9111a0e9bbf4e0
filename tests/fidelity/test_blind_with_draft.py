"""The blind rule with an assignee who has a *draft* (issue 18): starting a rating is not
submitting it. A supervisor and an administrator are assigned to a double-rated demo session and
each saves one item; the trainee starts, but does not submit, her self-rating of another session.
Every view must still hide the other ratings of those sessions from them: the core rule, the
rating page, readiness (supervisee table, cohort table and CSV, my readiness, readiness PDF), the
reliability report (figures, CSV, the page) and the audit log (core and page).
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from types import SimpleNamespace

import pandas as pd
import pytest

from ipt_training import auth, credentials, fidelity
from ipt_training.credentials.review import cohort_readiness, my_readiness, supervisee_readiness
from ipt_training.reliability import report_data as rd, report_export
from ipt_training.store import rows

from apphelp import app_as, texts
from pdfhelp import pdf_text

STANDARD = "ipt-therapist-example"
INSTRUMENT = "ipt-session-fidelity"
TODAY = _dt.date.today()


def _sid(db, case, number):
    return rows(db, "SELECT id FROM recorded_sessions WHERE case_pseudonym = ? AND session_number = ?",
                (case, number))[0]["id"]


def _start_draft(db, user, sid):
    """Open the rating and score one item: a draft with content, not a submission."""
    r = fidelity.get_or_create_draft(db, user, sid, "rater" if user.username != "trainee.ready" else "self")
    session = fidelity.get_session(db, user, sid)
    item = fidelity.item_catalogue(fidelity.default_library(), r["instrument_id"], session)[0]
    fidelity.save_item(db, user, r["id"], item["id"], 4, False)
    assert rows(db, "SELECT status FROM ratings WHERE id = ?", (r["id"],))[0]["status"] == "draft"
    return r["id"]


def _rated_refs(readiness) -> set[str]:
    return {e.id for q in readiness.requirements for e in q.evidence + q.not_counted if e.kind == "rated_session"}


_pdf_text = pdf_text  # the PDF's text layer (pypdf)


@pytest.fixture
def drafted(demo_db, library):
    db = demo_db
    admin = auth.find_user(db, "admin")
    auth.set_roles(db, admin.id, ("admin", "rater"), admin.id)  # an administrator who also rates
    admin, sup = auth.find_user(db, "admin"), auth.find_user(db, "supervisor")
    rosa = auth.find_user(db, "trainee.ready")
    sid = _sid(db, "Case R1", 7)  # Rosa's session, rated and submitted by 'rater' and 'rater2'
    own = _sid(db, "Case R3", 3)  # Rosa's session rated by 'rater'; Rosa has not self-rated it
    # what each viewer saw before taking part, for the comparisons below
    before = SimpleNamespace(
        sup=_rated_refs(next(r for r in supervisee_readiness(db, library, sup, STANDARD, TODAY)
                             if r["trainee_id"] == rosa.id)["readiness"]),
        report=rd.reliability_report(db, library, INSTRUMENT))
    assert str(sid) in before.sup, "the demo counts this session in Rosa's readiness"
    for who, by in ((sup, admin), (admin, sup)):  # nobody assigns themself
        fidelity.assign(db, by, sid, who.id, None, "second_rating")
        _start_draft(db, who, sid)
    _start_draft(db, rosa, own)
    return SimpleNamespace(db=db, library=library, admin=admin, sup=sup, rosa=rosa, sid=sid, own=own, before=before)


def test_a_draft_is_not_a_submission_in_the_core_rule(drafted):
    d = drafted
    for who in (d.sup, d.admin):
        assert d.sid in fidelity.blind_session_ids(d.db, who)
        assert fidelity.blind_reason(d.db, who, fidelity.get_session(d.db, who, d.sid)) is not None
        seen = fidelity.ratings_visible_to(d.db, who, d.sid)
        assert [(r["rater_id"], r["status"]) for r in seen] == [(who.id, "draft")]
    assert d.own in fidelity.blind_session_ids(d.db, d.rosa)
    seen = fidelity.ratings_visible_to(d.db, d.rosa, d.own)
    assert [(r["kind"], r["status"]) for r in seen] == [("self", "draft")]


def test_rating_page_hides_the_other_ratings_from_a_drafting_supervisor(drafted, app_demo):
    d = drafted
    at = app_as(d.sup.id)
    at.session_state["rating_session_id"] = d.sid
    at.session_state["rating_kind"] = "rater"
    at.switch_page("ipt_training/app_pages/rating_workspace.py")
    at.run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert "until you submit your own" in shown
    assert "Rater: Ravi Rater" not in shown and "Rater: Rita Second" not in shown


def test_readiness_views_leave_out_the_drafted_session(drafted):
    d = drafted
    after = _rated_refs(next(r for r in supervisee_readiness(d.db, d.library, d.sup, STANDARD, TODAY)
                             if r["trainee_id"] == d.rosa.id)["readiness"])
    assert after == d.before.sup - {str(d.sid)}
    # the administrator's cohort table (its CSV is built from these rows) is computed without the session
    blind_rows = cohort_readiness(d.db, d.library, STANDARD, None, TODAY, viewer=d.admin)
    open_rows = cohort_readiness(d.db, d.library, STANDARD, None, TODAY)
    blind_rosa = next(r for r in blind_rows if r["trainee_id"] == d.rosa.id)["readiness"]
    open_rosa = next(r for r in open_rows if r["trainee_id"] == d.rosa.id)["readiness"]
    assert str(d.sid) in _rated_refs(open_rosa) and str(d.sid) not in _rated_refs(blind_rosa)
    # the trainee's own readiness: the session she is self-rating shows no rater result
    mine = next(r for r in my_readiness(d.db, d.library, d.rosa, d.rosa.id, TODAY)
                if r["standard"].id == STANDARD)["readiness"]
    assert str(d.own) not in _rated_refs(mine)
    theirs = next(r for r in my_readiness(d.db, d.library, d.admin, d.rosa.id, TODAY)
                  if r["standard"].id == STANDARD)["readiness"]
    assert str(d.own) in _rated_refs(theirs) and str(d.sid) not in _rated_refs(theirs)


def test_readiness_pdf_for_a_drafting_admin_lacks_the_session(drafted):
    d = drafted
    std = d.library.standards[STANDARD]
    r_open, _ = credentials.review.readiness_for(d.db, d.library, d.rosa.id, std, TODAY)
    labels = [e.label for q in r_open.requirements for e in q.evidence + q.not_counted
              if e.kind == "rated_session" and e.id == str(d.sid)]
    assert labels
    open_text = _pdf_text(credentials.readiness_pdf(d.db, d.library, d.rosa.id, std, TODAY))
    blind_text = _pdf_text(credentials.readiness_pdf(d.db, d.library, d.rosa.id, std, TODAY, viewer=d.admin))
    label = labels[0].split(" (")[0]  # "Case 'Case R1', <phase> phase, mean x.xx"
    assert open_text.count(label) > blind_text.count(label)


def test_reliability_report_and_csv_leave_out_the_drafted_session(drafted):
    d = drafted
    blind = frozenset(fidelity.blind_session_ids(d.db, d.sup))
    seen = rd.reliability_report(d.db, d.library, INSTRUMENT, exclude_sessions=blind)
    assert str(d.sid) not in set(seen["long_total"]["target"].astype(str))
    full = rd.reliability_report(d.db, d.library, INSTRUMENT)  # now with the two drafts: drafts never count
    assert full["n_double_rated"] == d.before.report["n_double_rated"]
    assert seen["n_double_rated"] == full["n_double_rated"] - 1
    total = [ln for ln in report_export.report_csv(seen).decode().splitlines() if ln.startswith("total,")]
    assert total and all(f",{seen['n_double_rated']}," in ln for ln in total)


def test_reliability_report_page_for_a_drafting_supervisor(drafted, app_demo):
    d = drafted
    at = app_as(d.sup.id, "reliability_report.py", timeout=90)
    assert not at.exception, at.exception
    shown = {m.label: m.value for m in at.metric}
    assert int(shown["Double-rated sessions"]) == d.before.report["n_double_rated"] - 1


def test_audit_log_withholds_the_drafted_sessions_details(drafted, app_demo):
    d = drafted
    submits = [e for e in fidelity.audit_entries_for(d.db, d.admin, "submit_rating", 5000)]
    about = [e for e in submits if e["detail"] == fidelity.blind.BLIND_DETAIL]
    raters_ratings = rows(d.db, "SELECT id FROM ratings WHERE session_id = ? AND status = 'submitted'", (d.sid,))
    assert {int(e["object_id"]) for e in about} == {r["id"] for r in raters_ratings}
    others = [e for e in submits if e not in about]
    assert others and all("mean" in json.loads(e["detail"]) for e in others)
    # 'rater' has submitted this session's rating: its lines are open to them (they are withheld only
    # for the sessions 'rater' is still blind to)
    rater = auth.find_user(d.db, "rater")
    withheld = {int(e["object_id"]) for e in fidelity.audit_entries_for(d.db, rater, "submit_rating", 5000)
                if e["detail"] == fidelity.blind.BLIND_DETAIL}
    assert not withheld & {r["id"] for r in raters_ratings}
    assert withheld == {r["id"] for r in rows(d.db, "SELECT id, session_id FROM ratings WHERE status = 'submitted'")
                        if r["session_id"] in fidelity.blind_session_ids(d.db, rater)}
    # the page shows what the core hands it
    at = app_as(d.admin.id, "audit_log.py")
    at.text_input(key="al_action").input("submit_rating").run()
    assert not at.exception, at.exception
    tables = [at.dataframe[0].value]
    pages = [n for n in at.number_input if n.key == "al_page"]  # 50 lines a page (issue 17)
    for page in range(2, int(pages[0].max) + 1 if pages else 1):
        at.number_input(key="al_page").set_value(page).run()
        tables.append(at.dataframe[0].value)
    table = pd.concat(tables)
    hidden = table[table["Object ID"].astype(int).isin([r["id"] for r in raters_ratings])]
    assert len(hidden) == len(raters_ratings) and set(hidden["Detail"]) == {fidelity.blind.BLIND_DETAIL}


def test_a_supervisor_of_other_trainees_takes_no_part(demo_db):
    """A supervisor who neither supervises the trainee nor rates the session: the rule says
    they do not take part, and the session's ratings are out of their reach."""
    db = demo_db
    admin = auth.find_user(db, "admin")
    other = auth.create_user(db, "sup.other", "Violet-harbour-lantern-42", ["supervisor"], "Other Supervisor")
    sid = _sid(db, "Case R1", 7)
    session = rows(db, "SELECT * FROM recorded_sessions WHERE id = ?", (sid,))[0]
    assert fidelity.blind_reason(db, other, session) == "You do not take part in rating this session."
    with pytest.raises(fidelity.FidelityError, match="do not have access"):
        fidelity.ratings_visible_to(db, other, sid)
    # linked as the trainee's supervisor, they read the submitted ratings
    auth.link_supervisor(db, other.id, session["trainee_id"], admin.id)
    assert fidelity.blind_reason(db, other, session) is None
    assert {r["status"] for r in fidelity.ratings_visible_to(db, other, sid)} == {"submitted"}
