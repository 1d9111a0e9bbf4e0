"""Rater calibration against gold-standard ratings, certification, drift and the blind rule (issue 5).

The databases here are built by hand (``Builder``), so every expected value can be worked out
from the scores written in the test.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from ipt_training.reliability import calibration
from ipt_training.auth import User
from ipt_training.content import Library
from ipt_training.store import rows

INSTRUMENT = "ipt-session-fidelity"
# six items of a middle-phase role-dispute session
ITEMS = ["area_role_dispute", "tech_exploratory", "tech_affect", "tech_clarification", "link_mood_events",
         "quality_alliance"]
GOLD = dict(zip(ITEMS, [4, 2, 5, 3, 1, 4]))
REASONS = {i: f"expert reason for {i}" for i in ITEMS}


class Builder:
    """Insert users, sessions, assignments and ratings straight into a fresh store."""

    def __init__(self, db):
        self.db = db
        self._n = 0

    def user(self, name: str, *roles: str) -> int:
        uid = self.db.conn.execute(
            "INSERT INTO users (username, display_name, password_hash, created_at) VALUES (?,?,?,?)",
            (name, name.capitalize(), "x", "2025-01-01T00:00:00+00:00")).lastrowid
        for role in roles or ("rater",):
            self.db.conn.execute("INSERT INTO user_roles (user_id, role) VALUES (?, ?)", (uid, role))
        return uid

    def as_user(self, uid: int) -> User:
        from ipt_training.auth import get_user

        return get_user(self.db, uid)

    def session(self, trainee: int, gold: bool = False, phase: str = "middle", area: str = "role_dispute",
                number: int = 5) -> int:
        self._n += 1
        return self.db.conn.execute(
            """INSERT INTO recorded_sessions (trainee_id, added_by, case_pseudonym, session_number, phase,
               problem_area, consent_confirmed, is_gold_standard, created_at) VALUES (?,?,?,?,?,?,1,?,?)""",
            (trainee, trainee, f"Case {self._n}", number, phase, area, int(gold), "2025-01-01T00:00:00+00:00"),
        ).lastrowid

    def assign(self, session: int, rater: int, purpose: str = "calibration") -> None:
        self.db.conn.execute(
            "INSERT INTO assignments (session_id, rater_id, purpose, created_at) VALUES (?,?,?,?)",
            (session, rater, purpose, "2025-01-01T00:00:00+00:00"))

    def rating(self, session: int, rater: int, scores: dict, kind: str = "rater", status: str = "submitted",
               day: str = "2026-01-10", reasons: dict | None = None, instrument: str = INSTRUMENT) -> int:
        """``scores``: item -> 1..5, or None for N/A."""
        stamp = f"{day}T10:00:00+00:00"
        rid = self.db.conn.execute(
            """INSERT INTO ratings (session_id, rater_id, kind, instrument_id, instrument_hash, status,
               created_at, updated_at, submitted_at) VALUES (?,?,?,?,?,?,?,?,?)""",
            (session, rater, kind, instrument, "hash", status, stamp, stamp,
             stamp if status == "submitted" else None)).lastrowid
        for item, score in scores.items():
            self.db.conn.execute(
                "INSERT INTO item_scores (rating_id, item_id, score, not_applicable, reason) VALUES (?,?,?,?,?)",
                (rid, item, score, int(score is None), (reasons or {}).get(item)))
        return rid

    def submit(self, rating_id: int, day: str) -> None:
        stamp = f"{day}T10:00:00+00:00"
        self.db.conn.execute("UPDATE ratings SET status = 'submitted', submitted_at = ?, updated_at = ? WHERE id = ?",
                             (stamp, stamp, rating_id))

    def gold_session(self, trainee: int, expert: int, gold: dict = GOLD) -> int:
        sid = self.session(trainee, gold=True)
        self.rating(sid, expert, gold, kind="gold", day="2025-12-01", reasons=REASONS)
        return sid


@pytest.fixture
def b(db):
    return Builder(db)


@pytest.fixture
def people(b):
    return {"trainee": b.user("trainee", "trainee"), "expert": b.user("expert", "admin"),
            "rater": b.user("rater"), "rater2": b.user("rater2"), "sup": b.user("sup", "supervisor", "rater"),
            "admin": b.user("boss", "admin")}


def with_policy(library: Library, **changes) -> Library:
    """A copy of the shipped library whose certification policy has ``changes``."""
    pol = library.certification_policy.model_copy(update=changes)
    return Library(instruments=library.instruments, scales=library.scales, policies={pol.id: pol})


@pytest.fixture
def library(library):
    """The shipped policy's rules on two sessions of one phase (the builder's gold sessions),
    without the exact and pass/fail rules, so each test isolates the rule it is about."""
    return with_policy(library, min_sessions=2, window_sessions=None, window_months=None, min_phases=1,
                       min_exact=0.0, min_within_one=0.80, min_pass_fail_agreement=0.0)


GOOD = dict(zip(ITEMS, [4, 2, 4, 3, 1, 4]))      # one item off by one
POOR = dict(zip(ITEMS, [1, 5, 2, 5, 4, 1]))      # far from the expert


# --- calibration against gold ----------------------------------------------------------------


def test_calibration_compares_each_item_with_the_gold_rating(b, people, library):
    sid = b.gold_session(people["trainee"], people["expert"])
    mine = dict(zip(ITEMS, [4, 3, 3, 3, 1, 5]))  # differences 0, +1, -2, 0, 0, +1
    b.rating(sid, people["rater"], mine, day="2026-01-10")

    cals = calibration.rater_calibrations(b.db, library, people["rater"])

    assert len(cals) == 1
    cal = cals[0]
    assert cal["session_id"] == sid and cal["date"] == "2026-01-10"
    assert cal["exact"] == pytest.approx(3 / 6)
    assert cal["within_one"] == pytest.approx(5 / 6)
    # ICC(2,1) of the six (rater, gold) pairs, from R: psych::ICC (tests/reliability/r/issue18_values.R)
    ref = json.loads((Path(__file__).parent / "r" / "issue18_values.json").read_text())["calibration"]["icc2"]
    assert cal["icc"] == pytest.approx(ref["value"], abs=1e-9)
    by_item = {it["item_id"]: it for it in cal["items"]}
    instrument_order = [x.id for x in library.instruments[INSTRUMENT].items if x.id in ITEMS]
    assert [it["item_id"] for it in cal["items"]] == instrument_order
    assert by_item["tech_affect"]["score"] == 3 and by_item["tech_affect"]["gold"] == 5
    assert by_item["tech_affect"]["difference"] == -2 and by_item["tech_affect"]["within_one"] is False
    assert by_item["tech_affect"]["reason"] == "expert reason for tech_affect"
    assert by_item["tech_exploratory"]["difference"] == 1


def test_not_applicable_items_are_shown_but_not_compared(b, people, library):
    sid = b.gold_session(people["trainee"], people["expert"])
    mine = dict(GOLD, tech_clarification=None)  # rater marks one item N/A that the expert scored
    b.rating(sid, people["rater"], mine)

    cal = calibration.rater_calibrations(b.db, library, people["rater"])[0]

    assert cal["n_items"] == 5 and cal["unscored_items"] == ["tech_clarification"]
    item = next(it for it in cal["items"] if it["item_id"] == "tech_clarification")
    assert item["score"] is None and item["rater_not_applicable"] and item["difference"] is None
    table = calibration.calibration_items_table(cal)
    assert table.loc[table["Item"] == "Clarification", "Your score"].item() == "N/A"


def test_only_submitted_ratings_of_gold_sessions_with_a_gold_rating_count(b, people, library):
    gold_sid = b.gold_session(people["trainee"], people["expert"])
    no_gold_yet = b.session(people["trainee"], gold=True)
    ordinary = b.session(people["trainee"])
    deleted = b.gold_session(people["trainee"], people["expert"])
    b.db.conn.execute("UPDATE recorded_sessions SET deleted_at = '2026-01-01', deleted_by = ? WHERE id = ?",
                      (people["admin"], deleted))
    b.rating(gold_sid, people["rater"], GOOD, status="draft")
    b.rating(no_gold_yet, people["rater"], GOOD)
    b.rating(ordinary, people["rater"], GOOD)
    b.rating(deleted, people["rater"], GOOD)
    b.rating(gold_sid, people["rater"], GOOD, kind="self")  # a self-rating is not a calibration

    assert calibration.rater_calibrations(b.db, library, people["rater"]) == []


# --- blind rule ----------------------------------------------------------------------------


def test_gold_rating_and_reasons_hidden_until_own_rating_is_submitted(b, people, library):
    sid = b.gold_session(people["trainee"], people["expert"])
    b.assign(sid, people["rater"])
    rater = b.as_user(people["rater"])

    queue = calibration.calibration_queue(b.db, library, people["rater"])
    assert [(q["session_id"], q["status"], q["feedback_available"]) for q in queue] == [(sid, "not started", False)]
    with pytest.raises(calibration.CalibrationError, match="Submit your own rating"):
        calibration.calibration_feedback(b.db, library, rater, sid)

    rid = b.rating(sid, people["rater"], GOOD, status="draft")
    assert calibration.calibration_queue(b.db, library, people["rater"])[0]["status"] == "draft"
    with pytest.raises(calibration.CalibrationError, match="Submit your own rating"):
        calibration.calibration_feedback(b.db, library, rater, sid)
    assert calibration.rater_calibrations(b.db, library, people["rater"]) == []
    assert calibration.drift_view(b.db, library, dt.date(2026, 3, 1), rater)["series"] == []

    b.submit(rid, "2026-01-12")
    q = calibration.calibration_queue(b.db, library, people["rater"])[0]
    assert q["status"] == "submitted" and q["feedback_available"]
    fb = calibration.calibration_feedback(b.db, library, rater, sid)
    assert {it["reason"] for it in fb["items"]} == set(REASONS.values())


def test_feedback_waits_for_the_expert_rating(b, people, library):
    sid = b.session(people["trainee"], gold=True)
    b.assign(sid, people["rater"])
    b.rating(sid, people["rater"], GOOD)
    with pytest.raises(calibration.CalibrationError, match="not available yet"):
        calibration.calibration_feedback(b.db, library, b.as_user(people["rater"]), sid)
    assert calibration.calibration_queue(b.db, library, people["rater"])[0]["feedback_available"] is False


def test_another_raters_calibration_is_not_feedback_for_me(b, people, library):
    sid = b.gold_session(people["trainee"], people["expert"])
    b.rating(sid, people["rater2"], GOOD)
    with pytest.raises(calibration.CalibrationError, match="Submit your own rating"):
        calibration.calibration_feedback(b.db, library, b.as_user(people["rater"]), sid)


# --- certification -------------------------------------------------------------------------


def _two_calibrations(b, people, rater_key="rater", scores=(GOOD, GOOD), days=("2026-01-10", "2026-02-01")):
    for sc, day in zip(scores, days):
        sid = b.gold_session(people["trainee"], people["expert"])
        b.rating(sid, people[rater_key], sc, day=day)


def test_two_good_calibrations_certify_until_expiry(b, people, library):
    _two_calibrations(b, people)
    cert = calibration.certification(b.db, library, people["rater"], dt.date(2026, 3, 1))
    assert cert["certified"] is True, cert["reasons"]
    assert cert["certified_on"] == dt.date(2026, 2, 1)
    assert cert["expires_on"] == dt.date(2027, 2, 1)  # valid_months: 12 in training/rater_certification.yaml
    assert cert["status"] == "certified until 2027-02-01"
    assert cert["n_sessions"] == 2 and cert["instrument_id"] == INSTRUMENT


def test_certification_expires(b, people, library):
    _two_calibrations(b, people)
    day_before = calibration.certification(b.db, library, people["rater"], dt.date(2027, 1, 31))
    on_expiry = calibration.certification(b.db, library, people["rater"], dt.date(2027, 2, 1))
    assert day_before["certified"] is True
    assert on_expiry["certified"] is False
    assert on_expiry["status"] == "certification expired on 2027-02-01"
    assert any("expired" in r for r in on_expiry["reasons"])


def test_too_few_or_poor_calibrations_leave_a_rater_uncertified(b, people, library):
    sid = b.gold_session(people["trainee"], people["expert"])
    b.rating(sid, people["rater"], GOOD)
    one = calibration.certification(b.db, library, people["rater"], dt.date(2026, 3, 1))
    assert one["certified"] is False and one["status"] == "not certified"
    assert one["reasons"] == ["1 calibration session(s) in the policy's window; 2 are needed."]

    _two_calibrations(b, people, "rater2", scores=(GOOD, POOR))
    poor = calibration.certification(b.db, library, people["rater2"], dt.date(2026, 3, 1))
    assert poor["certified"] is False
    assert any("ICC(A,1)" in r and "below" in r for r in poor["reasons"])

    nobody = calibration.certification(b.db, library, people["sup"], dt.date(2026, 3, 1))
    assert nobody["certified"] is False and nobody["calibrations"] == []


def test_within_one_exactly_at_threshold_certifies(b, people, library):
    """Ten items, eight within one point of the expert: 0.80 exactly, the policy's minimum."""
    items = [it.id for it in library.instruments[INSTRUMENT].items][:10]
    gold = dict(zip(items, [1, 2, 3, 4, 5, 1, 2, 3, 4, 5]))
    at = dict(zip(items, [1, 2, 3, 4, 5, 1, 2, 3, 2, 3]))      # 8/10 within one
    below = dict(zip(items, [1, 2, 3, 4, 5, 1, 2, 1, 2, 3]))   # 7/10 within one
    lib = with_policy(library, min_icc=0.0)                     # isolate the within-one rule
    for rater, scores in (("rater", at), ("rater2", below)):
        for day in ("2026-01-10", "2026-02-01"):
            sid = b.gold_session(people["trainee"], people["expert"], gold=gold)
            b.rating(sid, people[rater], scores, day=day)
    at_cal = calibration.rater_calibrations(b.db, lib, people["rater"])
    assert [c["within_one"] for c in at_cal] == [0.8, 0.8]
    assert calibration.certification(b.db, lib, people["rater"], dt.date(2026, 3, 1))["certified"] is True
    assert calibration.certification(b.db, lib, people["rater2"], dt.date(2026, 3, 1))["certified"] is False


def test_icc_exactly_at_threshold_certifies(b, people, library):
    _two_calibrations(b, people, scores=(GOOD, GOOD))
    icc = calibration.certification(b.db, library, people["rater"], dt.date(2026, 3, 1))["figures"]["icc"]
    at = with_policy(library, min_icc=icc, min_within_one=0.0)
    above = with_policy(library, min_icc=min(1.0, icc + 1e-9), min_within_one=0.0)
    assert calibration.certification(b.db, at, people["rater"], dt.date(2026, 3, 1))["certified"] is True
    assert calibration.certification(b.db, above, people["rater"], dt.date(2026, 3, 1))["certified"] is False


def test_certified_raters_maps_every_rater_to_instrument_status(b, people, library):
    _two_calibrations(b, people, "rater")
    _two_calibrations(b, people, "rater2", scores=(POOR, POOR))
    result = calibration.certified_raters(b.db, library, dt.date(2026, 3, 1))
    assert result[people["rater"]] == {INSTRUMENT: True}
    assert result[people["rater2"]] == {INSTRUMENT: False}
    assert result[people["sup"]] == {INSTRUMENT: False}  # a supervisor rates too, but never calibrated
    assert people["trainee"] not in result
    assert all(isinstance(k, int) for k in result)
    later = calibration.certified_raters(b.db, library, dt.date(2027, 6, 1))
    assert later[people["rater"]] == {INSTRUMENT: False}  # expired


def test_no_policy_means_nobody_is_certified(b, people, library):
    _two_calibrations(b, people)
    bare = Library(instruments=library.instruments, scales=library.scales)
    assert calibration.certified_raters(b.db, bare, dt.date(2026, 3, 1)) == {}
    with pytest.raises(calibration.CalibrationError, match="rater_certification.yaml"):
        calibration.certification(b.db, bare, people["rater"], dt.date(2026, 3, 1))
    assert calibration.count_uncertified_ratings(b.db, bare) is False


# --- the setting ---------------------------------------------------------------------------


def test_count_uncertified_setting_overrides_policy_and_is_audited(b, people, library):
    assert library.certification_policy.count_uncertified_ratings is False
    assert calibration.count_uncertified_ratings(b.db, library) is False
    assert calibration.count_uncertified_ratings(b.db, with_policy(library, count_uncertified_ratings=True)) is True

    calibration.set_count_uncertified_ratings(b.db, b.as_user(people["admin"]), True)
    assert calibration.count_uncertified_ratings(b.db, library) is True
    calibration.set_count_uncertified_ratings(b.db, b.as_user(people["admin"]), False)
    assert calibration.count_uncertified_ratings(b.db, with_policy(library, count_uncertified_ratings=True)) is False
    log = rows(b.db, "SELECT actor_id, detail FROM audit_log WHERE action = 'set_count_uncertified_ratings' ORDER BY id")
    assert [(r["actor_id"], r["detail"]) for r in log] == [(people["admin"], '{"value": true}'),
                                                          (people["admin"], '{"value": false}')]


def test_only_an_admin_may_change_the_setting(b, people, library):
    with pytest.raises(calibration.CalibrationError, match="administrator"):
        calibration.set_count_uncertified_ratings(b.db, b.as_user(people["sup"]), True)
    assert calibration.count_uncertified_ratings(b.db, library) is False


# --- drift ---------------------------------------------------------------------------------


def test_drift_flags_a_rater_whose_recent_agreement_falls(b, people, library):
    _two_calibrations(b, people, "rater", scores=(GOOD, GOOD, POOR, POOR),
                      days=("2026-01-10", "2026-02-01", "2026-03-01", "2026-04-01"))
    _two_calibrations(b, people, "rater2", scores=(GOOD, GOOD))
    view = calibration.drift_view(b.db, library, dt.date(2026, 5, 1), b.as_user(people["admin"]))
    by = {r["rater_id"]: r for r in view["raters"]}
    assert by[people["rater"]]["drift_flag"] is True
    assert "below" in by[people["rater"]]["drift_detail"]
    assert by[people["rater"]]["certified"] is False and by[people["rater"]]["n_sessions"] == 4
    assert by[people["rater2"]]["drift_flag"] is False and by[people["rater2"]]["certified"] is True
    assert view["policy"]["min_icc"] == 0.75
    series = [s for s in view["series"] if s["rater_id"] == people["rater"] and s["metric"] == "icc"]
    assert [s["date"] for s in series] == ["2026-01-10", "2026-02-01", "2026-03-01", "2026-04-01"]
    table = calibration.raters_table(view)
    assert table.loc[table["Rater"] == "Rater", "Drift"].item().startswith("flagged")


def test_drift_view_shows_a_plain_rater_only_themselves(b, people, library):
    _two_calibrations(b, people, "rater")
    _two_calibrations(b, people, "rater2")
    mine = calibration.drift_view(b.db, library, dt.date(2026, 3, 1), b.as_user(people["rater"]))
    assert [r["rater_id"] for r in mine["raters"]] == [people["rater"]]
    assert {s["rater_id"] for s in mine["series"]} == {people["rater"]}
    sup = calibration.drift_view(b.db, library, dt.date(2026, 3, 1), b.as_user(people["sup"]))
    assert {people["rater"], people["rater2"], people["sup"]} <= {r["rater_id"] for r in sup["raters"]}


# --- the page ------------------------------------------------------------------------------


def test_calibration_page_shows_agreement_item_by_item(app_env, library):
    import streamlit as st

    from ipt_training.config import get_settings
    from ipt_training.store import open_store

    from apphelp import app_as, texts

    db = open_store(get_settings().db_path)
    b = Builder(db)
    trainee, expert, rater = b.user("trainee", "trainee"), b.user("expert", "admin"), b.user("rater")
    today = dt.date.today()
    # the shipped policy pools the six most recent sessions, covering the three phases
    for days_ago, scores, phase in ((60, GOOD, "initial"), (50, GOLD, "initial"), (40, GOOD, "middle"),
                                    (30, GOOD, "middle"), (20, GOLD, "termination"), (5, GOLD, "termination")):
        sid = b.gold_session(trainee, expert)
        db.conn.execute("UPDATE recorded_sessions SET phase = ? WHERE id = ?", (phase, sid))
        b.assign(sid, rater)
        b.rating(sid, rater, scores, day=(today - dt.timedelta(days=days_ago)).isoformat())
    pending = b.session(trainee, gold=True)
    b.assign(pending, rater)
    st.cache_resource.clear()

    at = app_as(rater, "calibration.py")
    assert not at.exception, at.exception
    shown = texts(at)
    expires = calibration.certification(db, library, rater, today)["expires_on"]
    assert "Certification status: certified as a rater on" in shown, [t for t in shown.splitlines() if "status" in t]
    assert f"until {expires.isoformat()}" in shown
    assert "expert reason for tech_affect" in shown  # the expert's reasons, after submission
    assert "My agreement over time" in shown
    assert "Status: not started" in shown
    button = at.button(key=f"cal_rate_{pending}")
    assert button.label == "Rate this session"
    button.click().run()
    assert not at.exception, at.exception
    assert at.session_state["rating_session_id"] == pending
    assert at.session_state["rating_kind"] == "rater"
    assert at.title[0].value == "Rating workspace"  # switched to the fidelity feature's workspace


def test_batched_certification_equals_the_per_rater_computation_on_a_generated_cohort(b, people, library):
    """Issue 16: certified_raters reads every rater's calibrations at once, without the per-session
    agreement figures; on a generated body (good and poor raters, unscored and N/A items, a
    session the expert also rated as a rater, a session without a gold rating, several phases and
    days) every rater's certification equals the one computed from their own calibrations."""
    import random

    from ipt_training.reliability.calibration import _certify, rater_calibrations

    rng = random.Random(16)
    pol = library.certification_policy
    golds = []
    for n, phase in enumerate(["initial", "middle", "termination"] * 3):
        gold = {i: (None if rng.random() < 0.1 else rng.randint(1, 5)) for i in ITEMS}
        sid = b.session(people["trainee"], gold=True, phase=phase)
        b.rating(sid, people["expert"], gold, kind="gold", day=f"2025-12-{n + 1:02d}")
        golds.append((sid, gold))
    no_gold = b.session(people["trainee"], gold=True)
    b.rating(golds[0][0], people["expert"], golds[0][1], day="2026-01-02")  # the expert's own practice rating
    raters = [b.user(f"generated{k}") for k in range(12)]
    for k, rater in enumerate(raters):
        noise = 0 if k % 3 == 0 else 1 if k % 3 == 1 else 3
        for n, (sid, gold) in enumerate(rng.sample(golds, rng.randint(1, len(golds)))):
            scores = {}
            for item, g in gold.items():
                if rng.random() < 0.08:
                    continue  # left unscored
                base = g if g is not None else rng.randint(1, 5)
                scores[item] = None if rng.random() < 0.05 else max(1, min(5, base + rng.randint(-noise, noise)))
            b.rating(sid, rater, scores, day=f"2026-0{1 + n % 6}-{10 + k:02d}")
        b.rating(no_gold, rater, GOOD, day="2026-02-01")
    unscored = b.session(people["trainee"], gold=True)  # a calibration with no item scored by both: skipped
    b.rating(unscored, people["expert"], GOLD, kind="gold", day="2025-12-20")
    b.rating(unscored, raters[0], {i: None for i in ITEMS}, day="2026-03-03")
    today = dt.date(2026, 7, 1)
    batch = calibration.certified_raters(b.db, library, today)
    for rater in raters + [people["expert"]]:
        own = _certify(rater_calibrations(b.db, library, rater, pol.instrument), pol, today)
        lean = _certify(calibration._pooled_by_rater(b.db, library, pol.instrument).get(rater, []), pol, today)
        assert lean == own, rater
        assert batch.get(rater, {}).get(pol.instrument, False) == own["certified"]
    certified = [r for r in raters if batch[r][pol.instrument]]
    assert 0 < len(certified) < len(raters)  # both outcomes occur in the generated body
