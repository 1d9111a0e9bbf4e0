"""Rater calibration against gold-standard sessions, certification and drift (issue 5).

Store layer over :mod:`ipt_training.reliability`: it reads raters' submitted ratings of
gold-standard sessions and the expert (``kind='gold'``) rating of the same session, and hands
plain numbers to ``calibration_agreement``, ``certification_status`` and
``drift``. The thresholds come from the rater-certification policy in
``training/rater_certification.yaml`` (``content.RaterCertificationPolicy``).

Blind rule (DESIGN.md, "rater" row): a rater sees the gold rating of a calibration session and
the expert's reasons only after submitting their own rating of that session. Every function
that returns gold scores or reasons to a rater only looks at the rater's *submitted* ratings,
and :func:`calibration_feedback` refuses before submission.
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from typing import Any, Iterable, Optional

import pandas as pd
from sqlite_utils import Database

from .certification import calibration_agreement, drift, pooled_certification
from .long_data import ReliabilityError
from ..auth import User
from ..content import Library, RaterCertificationPolicy
from ..fidelity.ratings import score_rating
from .report_data import item_labels
from .shared_cache import shared
from ..display import humanize, item_label
from ..store import audit, get_setting, rows, set_setting, transaction
from ..store_changes import GLOBAL

SETTING_COUNT_UNCERTIFIED = "count_uncertified_ratings"

DRIFT_TEXT = ("Drift is judged as certification is: at each calibration session, agreement with the expert is "
              "pooled item by item over the rater's last calibration sessions (the policy's window), and a full "
              "window whose pooled ICC(A,1), exact or within-one agreement falls below the policy's threshold is "
              "flagged. The chart shows the pooled ICC(A,1) of the window ending at each session.")


class CalibrationError(Exception):
    """A calibration request the user can fix or must wait for; the message says what to do."""


# --- policy ------------------------------------------------------------------------------


def policy(library: Library) -> RaterCertificationPolicy:
    """The rater-certification policy in force (the first valid one under ``training/``)."""
    pol = library.certification_policy
    if pol is None:
        raise CalibrationError(
            "No rater-certification policy is loaded. An administrator must add a valid "
            "training/rater_certification.yaml (see Content status for rejected files)."
        )
    return pol


def policy_thresholds(pol: RaterCertificationPolicy) -> dict[str, Any]:
    """The policy as the plain dict ``pooled_certification`` (and ``drift``) take."""
    return {
        "min_sessions": pol.min_sessions,
        "window_sessions": pol.window_sessions,
        "window_months": pol.window_months,
        "min_phases": pol.min_phases,
        "min_icc": pol.min_icc,
        "icc_judged_on": pol.icc_judged_on,
        "min_exact": pol.min_exact,
        "min_within_one": pol.min_within_one,
        "min_pass_fail_agreement": pol.min_pass_fail_agreement,
        "valid_months": pol.valid_months,
    }


def policy_text(pol: RaterCertificationPolicy) -> str:
    """The certification rule in plain words, for the pages."""
    window = f"your most recent {pol.min_sessions}" + (f" to {pol.window_sessions}" if pol.window_sessions else "")
    months = f" of the last {pol.window_months} months" if pol.window_months else ""
    icc = "the lower 95% bound of ICC(A,1)" if pol.icc_judged_on == "lower_ci" else "ICC(A,1)"
    return (f"To be certified: {window} calibration sessions{months}, from at least {pol.min_phases} treatment "
            f"phase(s), pooled item by item against the expert rating (an item you left unscored counts as a "
            f"disagreement): exact agreement at least {pol.min_exact:.0%}, within one point at least "
            f"{pol.min_within_one:.0%}, {icc} at least {pol.min_icc:.2f}, and the same pass/fail decision as the "
            f"expert on at least {pol.min_pass_fail_agreement:.0%} of the sessions. Certification lasts "
            f"{pol.valid_months} months; recalibrate before it expires.")


def _policies(library: Library) -> list[RaterCertificationPolicy]:
    return list(library.policies.values())


# --- reading calibration ratings ---------------------------------------------------------


def _in(ids: Iterable[int]) -> str:
    return ",".join(str(int(i)) for i in ids) or "NULL"


def _item_scores(db: Database, rating_ids: Iterable[int]) -> dict[int, dict[str, dict]]:
    """rating_id -> item_id -> {score, not_applicable, reason}."""
    ids = sorted(set(rating_ids))
    out: dict[int, dict[str, dict]] = defaultdict(dict)
    if not ids:
        return out
    for r in rows(db, f"""SELECT rating_id, item_id, score, not_applicable, reason FROM item_scores
                          WHERE rating_id IN ({_in(ids)})"""):
        out[r["rating_id"]][r["item_id"]] = r
    return out


def _gold_ratings(db: Database, instrument_id: str, session_ids: Iterable[int]) -> dict[int, dict]:
    """The latest submitted gold rating of each session on this instrument."""
    ids = sorted(set(session_ids))
    if not ids:
        return {}
    out: dict[int, dict] = {}
    for r in rows(db, f"""SELECT g.id, g.session_id, g.rater_id, g.instrument_id, g.submitted_at, g.comment,
                                 u.display_name AS expert
                          FROM ratings g LEFT JOIN users u ON u.id = g.rater_id
                          WHERE g.kind = 'gold' AND g.status = 'submitted' AND g.instrument_id = ?
                            AND g.session_id IN ({_in(ids)})
                          ORDER BY g.submitted_at, g.id""", (instrument_id,)):
        out[r["session_id"]] = r  # later rows win: the latest gold rating
    return out


def _submitted_calibration_ratings(db: Database, instrument_id: str, rater_id: Optional[int] = None) -> list[dict]:
    """Submitted rater ratings of (non-deleted) gold-standard sessions on the instrument."""
    where = "AND r.rater_id = ?" if rater_id is not None else ""
    params: tuple = (instrument_id,) + ((int(rater_id),) if rater_id is not None else ())
    return rows(db, f"""SELECT r.id, r.session_id, r.rater_id, r.instrument_id, r.submitted_at, r.updated_at,
                              s.case_pseudonym, s.session_number, s.phase, s.problem_area
                       FROM ratings r JOIN recorded_sessions s ON s.id = r.session_id
                       WHERE r.kind = 'rater' AND r.status = 'submitted' AND r.instrument_id = ?
                         AND s.is_gold_standard = 1 AND s.deleted_at IS NULL {where}
                       ORDER BY r.submitted_at, r.id""", params)


def _score(entry: Optional[dict]) -> Optional[float]:
    if entry is None or entry.get("not_applicable") or entry.get("score") is None:
        return None
    return float(entry["score"])


def _compare(library: Library, instrument_id: str, rating: dict, gold: dict,
             scores: dict[str, dict], gold_scores: dict[str, dict]) -> dict:
    """One calibration: agreement of a rater's item scores with the gold rating, item by item."""
    agreement = calibration_agreement(
        {k: _score(v) for k, v in scores.items()}, {k: _score(v) for k, v in gold_scores.items()}
    )
    labels = item_labels(library, instrument_id)
    names = {it.id: item_label(it) for it in library.instruments[instrument_id].items} \
        if instrument_id in library.instruments else {}
    order = {item_id: n for n, item_id in enumerate(labels)}
    items = []
    for item_id in sorted(set(scores) | set(gold_scores), key=lambda i: (order.get(i, len(order)), i)):
        mine, expert = scores.get(item_id), gold_scores.get(item_id)
        s, g = _score(mine), _score(expert)
        section, text = labels.get(item_id, ("", item_id))
        items.append({
            "item_id": item_id,
            "section": section,
            "item": text,
            "label": names.get(item_id) or humanize(item_id),
            "score": s,
            "gold": g,
            "difference": (s - g) if s is not None and g is not None else None,
            "within_one": (abs(s - g) <= 1) if s is not None and g is not None else None,
            "rater_not_applicable": bool(mine and mine.get("not_applicable")),
            "gold_not_applicable": bool(expert and expert.get("not_applicable")),
            "reason": (expert or {}).get("reason") or "",
        })
    passed = _decisions(library.instruments.get(instrument_id), rating, scores, gold_scores)
    return {
        "session_id": rating["session_id"],
        "rating_id": rating["id"],
        "rater_passed": passed["rater"],
        "gold_passed": passed["gold"],
        "pooled_items": [(it["item_id"], it["score"], it["gold"]) for it in items if it["gold"] is not None],
        "date": (rating["submitted_at"] or rating["updated_at"])[:10],
        "instrument_id": instrument_id,
        "session": f"{rating['case_pseudonym']}, session {rating['session_number']} ({rating['phase']})",
        "phase": rating["phase"],
        "problem_area": rating["problem_area"],
        "expert": gold.get("expert") or "",
        "icc": agreement["icc"],
        "icc_ci95": agreement["icc_ci95"],
        "icc_reason": agreement["icc_reason"],
        "exact": agreement["exact"],
        "within_one": agreement["within_one"],
        "mean_difference": (sum(d["difference"] for d in agreement["differences"]) / len(agreement["differences"])
                            if agreement["differences"] else 0.0),
        "n_items": agreement["n_items"],
        "unscored_items": agreement["unscored_items"],
        "items": items,
    }


def _calibration_pairs(db: Database, instrument_id: str, rater_id: Optional[int] = None):
    """Each submitted calibration rating (of ``rater_id``, or of everyone) with its session's gold
    rating and the item scores of both: ``(rating, gold, scores, gold_scores)``, read in three
    queries; a session without an expert rating yet, and the expert's own practice rating, skipped."""
    ratings = _submitted_calibration_ratings(db, instrument_id, rater_id)
    golds = _gold_ratings(db, instrument_id, (r["session_id"] for r in ratings))
    scores = _item_scores(db, [r["id"] for r in ratings] + [g["id"] for g in golds.values()])
    for r in ratings:
        gold = golds.get(r["session_id"])
        if gold is not None and gold["rater_id"] != r["rater_id"]:
            yield r, gold, scores.get(r["id"], {}), scores.get(gold["id"], {})


def _decisions(inst, rating: dict, scores: dict, gold_scores: dict) -> dict:
    """The pass rule's decision on the rater's and the expert's scores (None without the instrument)."""
    if inst is None:
        return {"rater": None, "gold": None}
    session = {"phase": rating["phase"], "problem_area": rating["problem_area"]}
    return {who: score_rating(inst, session, sc)["passed"] for who, sc in (("rater", scores), ("gold", gold_scores))}


def _calibrations_by_rater(db: Database, library: Library, instrument_id: str,
                           rater_id: Optional[int] = None) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = defaultdict(list)
    for r, gold, mine, expert in _calibration_pairs(db, instrument_id, rater_id):
        try:
            out[r["rater_id"]].append(_compare(library, instrument_id, r, gold, mine, expert))
        except ReliabilityError:
            continue  # no item scored by both: nothing to compare (shown as such in the queue)
    return out


def _pooled_by_rater(db: Database, library: Library, instrument_id: str) -> dict[int, list[dict]]:
    """What certification reads of each calibration (:func:`_pooled_sessions`: date, phase, the
    pooled (item, score, gold) triples in the instrument's order, both pass/fail decisions), for
    every rater at once: the calibrations :func:`_calibrations_by_rater` compares, without the
    per-session agreement figures and labels only the pages show (issue 16: each session's ICC
    through pandas cost about 6 ms, so a body of 100 raters with 8 calibrations each paid about
    5 s whenever a calibration changed)."""
    inst = library.instruments.get(instrument_id)
    order = {item_id: n for n, item_id in enumerate(item_labels(library, instrument_id))}
    out: dict[int, list[dict]] = defaultdict(list)
    for r, _gold, mine, expert in _calibration_pairs(db, instrument_id):
        pooled = [(item_id, _score(mine.get(item_id)), _score(expert.get(item_id)))
                  for item_id in sorted(set(mine) | set(expert), key=lambda i: (order.get(i, len(order)), i))
                  if _score(expert.get(item_id)) is not None]
        if all(score is None for _, score, _ in pooled):
            continue  # no item scored by both: :func:`.certification.calibration_agreement` refuses it
        passed = _decisions(inst, r, mine, expert)
        out[r["rater_id"]].append({"date": (r["submitted_at"] or r["updated_at"])[:10], "phase": r["phase"],
                                   "pooled_items": pooled, "rater_passed": passed["rater"],
                                   "gold_passed": passed["gold"]})
    return out


def rater_calibrations(db: Database, library: Library, rater_id: int,
                       instrument_id: Optional[str] = None) -> list[dict]:
    """Each submitted calibration of ``rater_id`` compared with the session's gold rating.

    Only SUBMITTED rater ratings of gold-standard sessions that have a submitted gold rating
    count, oldest first. Each entry: session_id, date (ISO day of submission), icc (ICC(2,1)
    over items with the gold rating as second rater, or None with icc_reason), exact,
    within_one, and ``items``: per item the rater's score, the gold score, the difference
    (rater - gold) and the expert's reason. ``instrument_id`` defaults to the policy's.
    """
    instrument_id = instrument_id or policy(library).instrument
    return _calibrations_by_rater(db, library, instrument_id, rater_id).get(int(rater_id), [])


def calibration_feedback(db: Database, library: Library, viewer: User, session_id: int) -> dict:
    """The viewer's own calibration on one gold-standard session (blind rule enforced).

    Raises CalibrationError until the viewer has submitted their own rating of the session,
    and while the expert rating is still missing.
    """
    submitted = rows(db, """SELECT 1 FROM ratings WHERE session_id = ? AND rater_id = ? AND kind = 'rater'
                            AND status = 'submitted'""", (int(session_id), viewer.id))
    if not submitted:
        raise CalibrationError(
            "Submit your own rating of this calibration session first; the expert's scores and "
            "reasons are shown only after that, so your rating stays independent."
        )
    for cal in rater_calibrations(db, library, viewer.id):
        if cal["session_id"] == int(session_id):
            return cal
    raise CalibrationError(
        "The expert (gold-standard) rating of this session is not available yet; check again "
        "once an administrator has submitted it."
    )


def calibration_queue(db: Database, library: Library, rater_id: int) -> list[dict]:
    """The gold-standard sessions assigned to (or rated by) this rater, with their status.

    status: 'not started', 'draft' or 'submitted'; ``feedback_available`` is True once the
    rater has submitted and the expert rating exists (the blind rule).
    """
    instrument_id = policy(library).instrument if library.certification_policy else None
    sessions = rows(db, """
        SELECT s.id AS session_id, s.case_pseudonym, s.session_number, s.phase, s.problem_area,
               a.due_date, a.created_at AS assigned_at,
               r.status AS rating_status, r.submitted_at
        FROM recorded_sessions s
        LEFT JOIN assignments a ON a.session_id = s.id AND a.rater_id = :rid
        LEFT JOIN ratings r ON r.session_id = s.id AND r.rater_id = :rid AND r.kind = 'rater'
        WHERE s.is_gold_standard = 1 AND s.deleted_at IS NULL
          AND (a.id IS NOT NULL OR r.id IS NOT NULL)
        ORDER BY COALESCE(a.due_date, '9999'), s.id""", {"rid": int(rater_id)})
    golds = _gold_ratings(db, instrument_id, (s["session_id"] for s in sessions)) if instrument_id else {}
    out = []
    for s in sessions:
        status = s["rating_status"] or "not started"
        out.append({
            "session_id": s["session_id"],
            "session": f"{s['case_pseudonym']}, session {s['session_number']}",
            "phase": s["phase"],
            "problem_area": s["problem_area"],
            "due_date": s["due_date"],
            "status": status,
            "submitted_on": (s["submitted_at"] or "")[:10] or None,
            "feedback_available": status == "submitted" and s["session_id"] in golds,
        })
    return out


# --- certification ------------------------------------------------------------------------


def _status_text(result: dict, today: _dt.date) -> str:
    if result["certified"]:
        return f"certified until {result['expires_on'].isoformat()}"
    if result["expires_on"] is not None and today >= result["expires_on"]:
        return f"certification expired on {result['expires_on'].isoformat()}"
    return "not certified"


def _certify(calibrations: list[dict], pol: RaterCertificationPolicy, today: _dt.date) -> dict:
    result = pooled_certification(_pooled_sessions(calibrations), policy_thresholds(pol), today)
    result["status"] = _status_text(result, today)
    result["instrument_id"] = pol.instrument
    result["n_sessions"] = len(calibrations)
    result["policy"] = {"id": pol.id, "name": pol.name, **policy_thresholds(pol)}
    return result


def certification(db: Database, library: Library, rater_id: int, today: _dt.date) -> dict:
    """Whether ``rater_id`` is certified on the policy's instrument on ``today``.

    The result of ``certification_status`` (certified, certified_on, expires_on,
    reasons) plus status (a sentence), instrument_id, n_sessions, policy and calibrations.
    """
    pol = policy(library)
    cals = rater_calibrations(db, library, rater_id, pol.instrument)
    result = _certify(cals, pol, today)
    result["calibrations"] = cals
    return result


def _rater_people(db: Database, extra_ids: Iterable[int] = ()) -> list[dict]:
    """Everyone who rates: users holding the rater or supervisor role, plus anyone with calibrations."""
    return rows(db, f"""SELECT DISTINCT u.id, u.username, u.display_name FROM users u
                        LEFT JOIN user_roles r ON r.user_id = u.id
                        WHERE r.role IN ('rater', 'supervisor') OR u.id IN ({_in(extra_ids)})
                        ORDER BY u.display_name, u.id""")


def certified_raters(db: Database, library: Library, today: _dt.date) -> dict[int, dict[str, bool]]:
    """rater_id -> {instrument_id: certified on ``today``} for every rater and every policy.

    Used by credential readiness: a rating counts toward a credential only when its rater is
    certified on the instrument (unless :func:`count_uncertified_ratings` says otherwise).
    Without a policy the result is empty (nobody is certified).
    """
    out: dict[int, dict[str, bool]] = {}
    for pol in _policies(library):
        by_rater = _pooled_by_rater(db, library, pol.instrument)  # every rater's calibrations, read once
        for person in _rater_people(db, by_rater):
            out.setdefault(person["id"], {})[pol.instrument] = bool(
                _certify(by_rater.get(person["id"], []), pol, today)["certified"]
            )
    return out


def count_uncertified_ratings(db: Database, library: Library) -> bool:
    """Whether ratings by uncertified raters count toward credentials.

    The settings-table key ``count_uncertified_ratings`` (set by an admin) overrides the
    policy YAML's ``count_uncertified_ratings``; without either the answer is False.
    """
    pol = library.certification_policy
    default = bool(pol.count_uncertified_ratings) if pol is not None else False
    value = get_setting(db, SETTING_COUNT_UNCERTIFIED, "")
    if value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes")


def set_count_uncertified_ratings(db: Database, admin: User, value: bool) -> None:
    """Admin setting: do uncertified raters' ratings count toward credentials? (audited)"""
    if not admin.has("admin"):
        raise CalibrationError("Only an administrator can change whether uncertified raters' ratings count.")
    with transaction(db):
        set_setting(db, SETTING_COUNT_UNCERTIFIED, "1" if value else "0")
        audit(db, admin.id, "set_count_uncertified_ratings", "setting", SETTING_COUNT_UNCERTIFIED,
              {"value": bool(value)})


# --- drift -------------------------------------------------------------------------------


def _pooled_sessions(calibrations: list[dict]) -> list[dict]:
    return [{"date": c["date"], "phase": c["phase"], "items": c["pooled_items"], "rater_passed": c["rater_passed"],
             "gold_passed": c["gold_passed"]} for c in calibrations]


def drift_view(db: Database, library: Library, today: _dt.date, viewer: Optional[User] = None) -> dict:
    """Every rater's calibration agreement over time, certification and drift flag.

    Drift is judged as certification is (issue 11.3): at each calibration session the rater's
    agreement with the gold ratings is pooled over the (session, item) targets of their last
    ``min_sessions`` calibration sessions (:func:`.certification.drift`), and a full window whose
    pooled ICC(A,1), exact or within-one agreement falls below the policy's threshold is
    flagged. ``viewer``: admins and supervisors see every rater; anyone else only themselves.

    Returns
    -------
    dict
        policy (thresholds), raters (one summary row per rater), series (one row per rater,
        calibration session and metric ("icc" = pooled ICC(A,1), "exact", "within_one",
        "mean_difference"): rater_id, rater, date, session_id, metric, value, n_sessions).
    """
    pol = policy(library)
    thresholds = policy_thresholds(pol)
    only_self = viewer is not None and not viewer.has("admin", "supervisor")
    by_rater = _calibrations_by_rater(db, library, pol.instrument, viewer.id if only_self else None)
    people = _rater_people(db, by_rater)
    if only_self:
        people = [p for p in people if p["id"] == viewer.id]
    raters, series = [], []
    for person in people:
        cals = by_rater.get(person["id"], [])
        cert = _certify(cals, pol, today)
        result = drift(_pooled_sessions(cals), thresholds) if cals else {"points": [], "flags": []}
        last = result["points"][-1] if result["points"] else None
        recent = [f for f in result["flags"] if last is not None and f["date"] == last["date"]]
        raters.append({
            "rater_id": person["id"],
            "rater": person["display_name"],
            "n_sessions": len(cals),
            "last_calibration": cals[-1]["date"] if cals else None,
            "window_icc": last["icc"] if last else None,
            "window_exact": last["exact"] if last else None,
            "window_within_one": last["within_one"] if last else None,
            "window_mean_difference": last["mean_difference"] if last else None,
            "window_sessions": last["n_sessions"] if last else 0,
            "certified": bool(cert["certified"]),
            "status": cert["status"],
            "expires_on": cert["expires_on"].isoformat() if cert["expires_on"] else None,
            "drift_flag": bool(recent),
            "drift_detail": "; ".join(f"{f['label']} over the last {f['window']} sessions {f['value']:.2f} is below "
                                      f"{f['threshold']:.2f}" for f in recent),
        })
        for c, point in zip(cals, result["points"]):
            for metric in ("icc", "exact", "within_one", "mean_difference"):
                if point[metric] is not None:
                    series.append({"rater_id": person["id"], "rater": person["display_name"], "date": c["date"],
                                   "session_id": c["session_id"], "metric": metric, "value": point[metric],
                                   "n_sessions": point["n_sessions"]})
    return {"policy": {"instrument": pol.instrument, **thresholds}, "raters": raters, "series": series}


def calibration_stamp(db: Database) -> Optional[int]:
    """The evidence log's calibration token (:data:`ipt_training.store_changes.GLOBAL`): its
    triggers give it a fresh value whenever a submitted rating, or an item score of one, of a
    gold-standard session changes, a session's gold-standard mark or deletion changes, or a
    name or role changes; that is everything :func:`drift_view` reads. A rating submitted on
    any other session leaves it."""
    row = db.conn.execute("SELECT token FROM evidence_changes WHERE user_id = ?", (GLOBAL,)).fetchone()
    return row[0] if row else None


def shared_drift_view(db: Database, library: Library, today: _dt.date, viewer: User) -> dict:
    """:func:`drift_view` of every rater, computed once per change of calibration data
    (:func:`calibration_stamp`) and shared by every viewer (:mod:`.shared_cache`); a viewer who is
    neither admin nor supervisor gets their own rows of it. Read-only."""
    pol = policy(library)
    view = shared("drift_view", db, (calibration_stamp(db), pol.content_hash,
                                     library.instruments[pol.instrument].content_hash
                                     if pol.instrument in library.instruments else None, today.isoformat()),
                  lambda: drift_view(db, library, today, None))
    if viewer.has("admin", "supervisor"):
        return view
    return {"policy": view["policy"], "raters": [r for r in view["raters"] if r["rater_id"] == viewer.id],
            "series": [s for s in view["series"] if s["rater_id"] == viewer.id]}


# --- display tables ----------------------------------------------------------------------


def _fmt_score(value: Optional[float], na: bool) -> str:
    if value is None:
        return "N/A" if na else "not scored"
    return f"{value:g}"


def calibration_items_table(cal: dict) -> pd.DataFrame:
    """One calibration item by item: your score, the expert's, the difference and the reason."""
    return pd.DataFrame([{
        "Item": it.get("label") or humanize(it["item_id"]),
        "Section": it["section"],
        "Your score": _fmt_score(it["score"], it["rater_not_applicable"]),
        "Expert score": _fmt_score(it["gold"], it["gold_not_applicable"]),
        "Difference": "" if it["difference"] is None else ("0" if it["difference"] == 0 else f"{it['difference']:+g}"),
        "Within one point": "" if it["within_one"] is None else ("yes" if it["within_one"] else "no"),
        "Expert's reason": it["reason"],
    } for it in cal["items"]])


def raters_table(view: dict) -> pd.DataFrame:
    """All raters' certification and drift flags (from :func:`drift_view`); the agreement columns
    are pooled over each rater's latest window of calibration sessions, as certification pools them."""
    def r(x: Optional[float], digits: int = 2) -> Optional[float]:
        return None if x is None else round(x, digits)

    return pd.DataFrame([{
        "Rater": row["rater"],
        "Calibration sessions": row["n_sessions"],
        "Last calibration": row["last_calibration"] or "",
        "Sessions pooled": row["window_sessions"],
        "ICC(A,1) pooled": r(row["window_icc"]),
        "Exact": r(row["window_exact"]),
        "Within one": r(row["window_within_one"]),
        "Mean difference": r(row["window_mean_difference"]),
        "Certification": row["status"],
        "Drift": ("flagged: " + row["drift_detail"]) if row["drift_flag"] else "",
    } for row in view["raters"]])
