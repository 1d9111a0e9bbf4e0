"""Assigning sessions to raters (first, second and calibration ratings), the random second-rating draw, and each rater's queue.
"""

from __future__ import annotations

import datetime as _dt
import math
import random
from typing import Any, Optional
from sqlite_utils import Database
from ..auth import User, get_user, supervisee_ids
from ..finding import PAGE_SIZE, sql_words, text_matches
from ..notifications import notify
from ..store import audit, now_iso, one, rows, transaction
from .base import FidelityError, PURPOSES
from .seen import has_seen_ratings, seen_by
from .recordings import _session, accessible_sessions, session_label, session_label_sql


def _due(due_date: Any) -> Optional[str]:
    if due_date in (None, ""):
        return None
    if isinstance(due_date, _dt.datetime):
        return due_date.date().isoformat()
    if isinstance(due_date, _dt.date):
        return due_date.isoformat()
    try:
        return _dt.date.fromisoformat(str(due_date).strip()[:10]).isoformat()
    except ValueError:
        raise FidelityError(f"{due_date!r} is not a date; give the due date as YYYY-MM-DD.") from None


def raters(db: Database) -> list[dict]:
    """People who can be assigned to rate: rater or supervisor role, active."""
    return rows(db, """SELECT DISTINCT u.id, u.username, u.display_name FROM users u JOIN user_roles r ON r.user_id = u.id
                       WHERE r.role IN ('rater', 'supervisor') AND u.active = 1 ORDER BY u.display_name""")


def assignable_sessions(db: Database, actor: User) -> list[dict]:
    """Sessions ``actor`` may assign: all (admin) or their supervisees' (supervisor); not deleted."""
    if actor.has("admin"):
        return accessible_sessions(db, actor, include_deleted=False)
    if not actor.has("supervisor"):
        return []
    mine = set(supervisee_ids(db, actor.id))
    return [s for s in accessible_sessions(db, actor, include_deleted=False) if s["trainee_id"] in mine]


def _assignable_where(actor: User, text: str) -> tuple[str, list]:
    if actor.has("admin"):
        conds, params = ["s.deleted_at IS NULL"], []
    elif actor.has("supervisor"):
        conds = ["s.deleted_at IS NULL", "s.trainee_id IN (SELECT trainee_id FROM supervision_links WHERE supervisor_id = ?)"]
        params = [actor.id]
    else:
        conds, params = ["0"], []
    match, found = sql_words(text, f"{session_label_sql('s')} || char(10) || t.display_name || char(10) || '#' || s.id")
    if match:
        conds.append(match)
        params += found
    return " WHERE " + " AND ".join(conds), params


def find_assignable_sessions(db: Database, actor: User, text: str = "", limit: Optional[int] = PAGE_SIZE) -> list[dict]:
    """The sessions of :func:`assignable_sessions` whose label, therapist or ``#number`` hold
    every word of ``text`` (ignoring ASCII case, :func:`finding.sql_words`), newest first, at most
    ``limit`` of them: searched and cut in SQL, so a body with 30,000 sessions lists 50."""
    where, params = _assignable_where(actor, text)
    cut = "" if limit is None else f" LIMIT {int(limit)}"
    return rows(db, f"""SELECT s.id, s.trainee_id, t.display_name AS trainee_name, {session_label_sql('s')} AS label
                        FROM recorded_sessions s JOIN users t ON t.id = s.trainee_id{where}
                        ORDER BY s.created_at DESC, s.id DESC{cut}""", params)


def count_assignable_sessions(db: Database, actor: User, text: str = "") -> int:
    """How many sessions :func:`find_assignable_sessions` finds without a limit."""
    where, params = _assignable_where(actor, text)
    return db.conn.execute(f"SELECT COUNT(*) FROM recorded_sessions s JOIN users t ON t.id = s.trainee_id{where}",
                           params).fetchone()[0]


def assign(db: Database, actor: User, session_id: int, rater_id: int, due_date: Any = None,
           purpose: str = "rating") -> int:
    """Assign a session to a rater; returns the assignment id."""
    if not actor.has("supervisor", "admin"):
        raise FidelityError("Only a supervisor or an administrator can assign sessions.")
    if purpose not in PURPOSES:
        raise FidelityError(f"Choose the purpose of the assignment: {', '.join(PURPOSES)}.")
    s = _session(db, session_id)
    if s["deleted_at"]:
        raise FidelityError("The recording of this session was deleted; it cannot be assigned.")
    if not actor.has("admin") and s["trainee_id"] not in supervisee_ids(db, actor.id):
        raise FidelityError("You can assign only your supervisees' sessions; ask an administrator for others.")
    if purpose == "calibration" and not s["is_gold_standard"]:
        raise FidelityError("Only a gold-standard session can be assigned for calibration; mark it first.")
    rater = get_user(db, int(rater_id))
    if rater is None or not rater.active or not rater.has("rater", "supervisor"):
        raise FidelityError("Choose a rater: the person must hold the rater or supervisor role.")
    if rater.id == s["trainee_id"]:
        raise FidelityError("A trainee cannot rate their own session as a rater; the self-rating is for that.")
    if rater.id == actor.id:
        raise FidelityError("You cannot assign a session to yourself; another supervisor or an administrator "
                            "chooses who rates it.")
    if has_seen_ratings(db, rater.id, s["id"]):
        raise FidelityError("This rater has already seen other ratings of this session, so their rating would not "
                            "be independent; choose another rater.")
    if one(db, "SELECT 1 AS x FROM assignments WHERE session_id = ? AND rater_id = ?", (s["id"], rater.id)):
        raise FidelityError(f"{rater.display_name} is already assigned to this session.")
    due = _due(due_date)
    with transaction(db):
        aid = db.conn.execute(
            "INSERT INTO assignments (session_id, rater_id, assigned_by, due_date, purpose, created_at) VALUES (?,?,?,?,?,?)",
            (s["id"], rater.id, actor.id, due, purpose, now_iso()),
        ).lastrowid
        audit(db, actor.id, "assign_rating", "recorded_session", s["id"],
              {"rater_id": rater.id, "due_date": due, "purpose": purpose})
        _tell_rater(db, actor, rater.id, s, due, purpose)
    return aid


def _tell_rater(db: Database, actor: User, rater_id: int, s: dict, due: Optional[str], purpose: str) -> None:
    what = {"rating": "a session to rate", "second_rating": "a session for a second, independent rating",
            "calibration": "a gold-standard session to calibrate on"}[purpose]
    notify(db, rater_id, "rating_assigned",
           f"{actor.display_name} assigned you {what}: {session_label(s)}"
           + (f", due {due}." if due else ", no due date."), "rating_queue.py")


def assign_random_second_ratings(db: Database, actor: User, cohort_id: int, share: float = 0.20,
                                 rng_seed: Optional[int] = None, due_date: Any = None) -> list[dict]:
    """Pick a random ``share`` of the cohort's sessions that have exactly one rater and assign
    each to a different rater for an independent second rating.

    The number picked is ``ceil(share * eligible)``; the second rater is the eligible rater
    (not the first rater, not the trainee, not the person asking, nobody who has been shown the
    session's ratings) with the fewest open assignments, ties broken at random. Returns the new assignments ``[{assignment_id, session_id, rater_id, label}]``.
    """
    if not actor.has("supervisor", "admin"):
        raise FidelityError("Only a supervisor or an administrator can ask for second ratings.")
    if not (0 < float(share) <= 1):
        raise FidelityError("The share of sessions to double-rate must be between 1 % and 100 %.")
    allowed = {s["id"] for s in assignable_sessions(db, actor)}
    eligible = rows(db, """
        SELECT s.id, s.trainee_id, MIN(a.rater_id) AS first_rater FROM recorded_sessions s
        JOIN assignments a ON a.session_id = s.id
        WHERE s.deleted_at IS NULL AND s.is_gold_standard = 0
          AND s.trainee_id IN (SELECT user_id FROM cohort_members WHERE cohort_id = ?)
        GROUP BY s.id HAVING COUNT(DISTINCT a.rater_id) = 1 ORDER BY s.id""", (int(cohort_id),))
    eligible = [e for e in eligible if e["id"] in allowed]
    if not eligible:
        raise FidelityError("No session of this cohort has exactly one rater yet; assign first ratings first.")
    rng = random.Random(rng_seed)
    k = min(len(eligible), math.ceil(float(share) * len(eligible) - 1e-9))
    picked = rng.sample(eligible, k)
    pool = raters(db)
    load = {r["rater_id"]: r["n"] for r in rows(db, """
        SELECT a.rater_id, COUNT(*) AS n FROM assignments a WHERE NOT EXISTS (SELECT 1 FROM ratings r
        WHERE r.session_id = a.session_id AND r.rater_id = a.rater_id AND r.kind = 'rater' AND r.status = 'submitted')
        GROUP BY a.rater_id""")}
    seen = seen_by(db, (s["id"] for s in picked))
    due = _due(due_date)
    made = []
    with transaction(db):
        for s in sorted(picked, key=lambda e: e["id"]):
            # never the first rater, the trainee, the one assigning, or anyone shown its ratings
            barred = {s["first_rater"], s["trainee_id"], actor.id} | seen.get(s["id"], set())
            options = [p for p in pool if p["id"] not in barred]
            if not options:
                continue
            rng.shuffle(options)
            chosen = min(options, key=lambda p: load.get(p["id"], 0))
            aid = db.conn.execute(
                "INSERT INTO assignments (session_id, rater_id, assigned_by, due_date, purpose, created_at) VALUES (?,?,?,?,?,?)",
                (s["id"], chosen["id"], actor.id, due, "second_rating", now_iso()),
            ).lastrowid
            load[chosen["id"]] = load.get(chosen["id"], 0) + 1
            session = _session(db, s["id"])
            _tell_rater(db, actor, chosen["id"], session, due, "second_rating")
            made.append({"assignment_id": aid, "session_id": s["id"], "rater_id": chosen["id"],
                         "label": f"{session['case_pseudonym']}, session {session['session_number']}"})
        audit(db, actor.id, "assign_second_ratings", "cohort", cohort_id,
              {"share": share, "eligible": len(eligible), "assigned": [m["session_id"] for m in made], "seed": rng_seed})
    if not made:
        raise FidelityError("No other rater is available for a second rating; add raters first.")
    return made


def _status_of(rating_status: Optional[str]) -> str:
    return rating_status or "not started"


def rater_queue(db: Database, rater: User) -> list[dict]:
    """The sessions assigned to ``rater``: open ones first by due date, then submitted ones."""
    out = rows(db, """
        SELECT a.id AS assignment_id, a.session_id, a.due_date, a.purpose, a.created_at AS assigned_at,
               s.case_pseudonym, s.session_number, s.phase, s.problem_area, s.deleted_at, s.is_gold_standard,
               t.display_name AS trainee_name, r.id AS rating_id, r.status AS rating_status, r.submitted_at
        FROM assignments a JOIN recorded_sessions s ON s.id = a.session_id JOIN users t ON t.id = s.trainee_id
        LEFT JOIN ratings r ON r.session_id = a.session_id AND r.rater_id = a.rater_id AND r.kind = 'rater'
        WHERE a.rater_id = ?""", (rater.id,))
    today = _dt.date.today().isoformat()
    for q in out:
        q["status"] = _status_of(q["rating_status"])
        q["label"] = session_label(q)
        q["overdue"] = bool(q["due_date"] and q["due_date"] < today and q["status"] != "submitted")
    out.sort(key=lambda q: (q["status"] == "submitted", q["due_date"] or "9999-12-31", q["session_id"]))
    return out


QUEUE_DUE = {"overdue": "overdue", "week": "due in the next 7 days", "none": "no due date"}


def filter_queue(queue: list[dict], text: str = "", status: Optional[str] = None, due: Optional[str] = None,
                 today: Optional[_dt.date] = None) -> list[dict]:
    """The rows of :func:`rater_queue` whose session, therapist or number hold every word of
    ``text`` (ignoring case), whose rating is in ``status`` (not started, draft, submitted) and
    whose due date is ``due`` (a key of ``QUEUE_DUE``: overdue; open and due within 7 days,
    today included; no due date). ``None`` keeps all."""
    today = today or _dt.date.today()
    week = (today + _dt.timedelta(days=7)).isoformat()

    def due_ok(q: dict) -> bool:
        if due == "overdue":
            return bool(q["overdue"])
        if due == "week":
            return bool(q["due_date"]) and q["status"] != "submitted" and today.isoformat() <= q["due_date"] <= week
        if due == "none":
            return not q["due_date"]
        return True

    return [q for q in queue
            if text_matches(text, q["label"], q["trainee_name"], f"#{q['session_id']}")
            and (status is None or q["status"] == status) and due_ok(q)]


ASSIGNMENT_STATUSES = ("not started", "draft", "submitted")
_ASSIGNMENTS_FROM = """FROM assignments a JOIN recorded_sessions s ON s.id = a.session_id JOIN users u ON u.id = a.rater_id
        JOIN users t ON t.id = s.trainee_id
        LEFT JOIN ratings r ON r.session_id = a.session_id AND r.rater_id = a.rater_id AND r.kind = 'rater'"""


def _assignments_where(actor: User, text: str, status: Optional[str]) -> tuple[str, list]:
    if not actor.has("supervisor", "admin"):
        raise FidelityError("Only a supervisor or an administrator can list assignments.")
    conds, params = [], []
    if not actor.has("admin"):  # supervisees' sessions, and what the supervisor was given to rate
        conds.append("(s.trainee_id IN (SELECT trainee_id FROM supervision_links WHERE supervisor_id = ?) "
                     "OR a.rater_id = ?)")
        params += [actor.id, actor.id]
    match, found = sql_words(text, f"{session_label_sql('s')} || char(10) || t.display_name || char(10) || "
                                   "u.display_name || char(10) || replace(a.purpose, '_', ' ') || char(10) || '#' || s.id")
    if match:
        conds.append(match)
        params += found
    if status is not None:
        conds.append("COALESCE(r.status, 'not started') = ?")
        params.append(status)
    return (" WHERE " + " AND ".join(conds)) if conds else "", params


def find_assignments(db: Database, actor: User, text: str = "", status: Optional[str] = None,
                     limit: Optional[int] = PAGE_SIZE, offset: int = 0) -> list[dict]:
    """Assignments ``actor`` may see, newest first: all (admin); supervisees' sessions and own
    (supervisor). Only those whose session label, therapist, rater, purpose or ``#session
    number`` hold every word of ``text`` (ignoring ASCII case) and whose rating is ``status``
    (one of ``ASSIGNMENT_STATUSES``; ``None`` keeps all); ``limit`` rows from ``offset``
    (``None``: all). Filtered, ordered and cut in SQL (the ``created_at`` index gives the order),
    so a page of 50 never reads the other 70,000."""
    where, params = _assignments_where(actor, text, status)
    cut = "" if limit is None else " LIMIT ? OFFSET ?"
    params += [] if limit is None else [int(limit), int(offset)]
    out = rows(db, f"""
        SELECT a.id, a.session_id, a.rater_id, u.display_name AS rater, a.due_date, a.purpose, a.created_at,
               s.trainee_id, t.display_name AS trainee, s.case_pseudonym, s.session_number, s.phase, s.problem_area,
               s.deleted_at, r.status AS rating_status, {session_label_sql('s')} AS label
        {_ASSIGNMENTS_FROM}{where} ORDER BY a.created_at DESC, a.id DESC{cut}""", params)
    for a in out:
        a["status"] = _status_of(a["rating_status"])
    return out


def count_assignments(db: Database, actor: User, text: str = "", status: Optional[str] = None) -> int:
    """How many assignments :func:`find_assignments` finds without a limit."""
    where, params = _assignments_where(actor, text, status)
    return db.conn.execute(f"SELECT COUNT(*) {_ASSIGNMENTS_FROM}{where}", params).fetchone()[0]


def list_assignments(db: Database, actor: User) -> list[dict]:
    """Every assignment ``actor`` may see (:func:`find_assignments` without a limit)."""
    return find_assignments(db, actor, limit=None)
