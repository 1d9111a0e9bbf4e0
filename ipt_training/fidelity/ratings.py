"""Fidelity ratings: drafts saved item by item (a draft survives a refresh, a closed tab or a restart), evidence marks, scoring against the instrument's pass rule, submit and reopen.
"""

from __future__ import annotations

import math
from typing import Optional
from sqlite_utils import Database
from ..auth import User, supervisee_ids
from ..content import PROBLEM_AREAS, Instrument, Library
from ..notifications import notify
from ..store import audit, now_iso, one, rows, transaction
from .transcripts import fmt_time
from .base import FidelityError, KINDS, MAX_COMMENT, MAX_NOTE, default_instrument_id, default_library, instrument_of, scale_range
from .pass_rule import session_result
from .recordings import _session, session_label
from .seen import record_seen

NOT_STARTED = "not started"  # the status shown for a rating with no row yet (see find_rating)


def _rating(db: Database, rating_id: int) -> dict:
    row = one(db, "SELECT * FROM ratings WHERE id = ?", (int(rating_id),))
    if row is None:
        raise FidelityError("That rating does not exist; open the session again from your queue.")
    return row


def _may_edit(user: User, rating: dict) -> bool:
    return rating["rater_id"] == user.id or (rating["kind"] == "gold" and user.has("admin"))


def _editable(db: Database, user: User, rating_id: int) -> dict:
    r = _rating(db, rating_id)
    if not _may_edit(user, r):
        raise FidelityError("This rating belongs to someone else; you can change only your own.")
    if r["status"] != "draft":
        raise FidelityError("This rating is submitted and locked; a supervisor can reopen it with a reason.")
    return r


def find_rating(db: Database, user: User, session_id: int, kind: str) -> Optional[dict]:
    """The user's rating of the session of this kind, or None when it is not started yet.

    Refuses (FidelityError) when the user may not rate the session this way: kind 'rater'
    needs an assignment; 'self' needs the session to be the user's own; 'gold' needs an
    administrator (one gold rating per session, shared by admins); a rating not yet started
    cannot be started on a deleted recording. Opening a session reads only: a draft starts at
    the first score, evidence mark or comment (:func:`get_or_create_draft`, issue 17).
    """
    if kind not in KINDS:
        raise FidelityError(f"Unknown kind of rating {kind!r}; choose rater, self or gold.")
    s = _session(db, session_id)
    if kind == "gold":
        if not user.has("admin"):
            raise FidelityError("Only an administrator can enter the gold-standard rating.")
        if not s["is_gold_standard"]:
            raise FidelityError("Mark the session as a gold-standard (calibration) session first.")
        existing = one(db, "SELECT * FROM ratings WHERE session_id = ? AND kind = 'gold' ORDER BY id LIMIT 1", (s["id"],))
        record_seen(db, user.id, s["id"])  # whoever writes the expert rating cannot calibrate on it
    else:
        existing = one(db, "SELECT * FROM ratings WHERE session_id = ? AND rater_id = ? AND kind = ?",
                       (s["id"], user.id, kind))
    if existing:
        return existing
    if kind == "rater":
        if not one(db, "SELECT 1 AS x FROM assignments WHERE session_id = ? AND rater_id = ?", (s["id"], user.id)):
            raise FidelityError("This session is not assigned to you; only assigned raters can rate it.")
    elif kind == "self" and s["trainee_id"] != user.id:
        raise FidelityError("Only the trainee whose session this is can self-rate it.")
    if s["deleted_at"]:
        raise FidelityError("The recording of this session was deleted; a new rating cannot be started.")
    return None


def unstarted_rating(db: Database, session_id: int, kind: str, *, library: Optional[Library] = None) -> dict:
    """What the workspace shows for a rating not started yet: no id, status 'not started', no
    scores, marks or comment, on the instrument a new draft would use."""
    library = library or default_library()
    return {"id": None, "session_id": int(session_id), "kind": kind, "status": NOT_STARTED,
            "instrument_id": default_instrument_id(db, library), "comment": "", "scores": {}, "marks": [],
            "mean": None, "passed": None, "submitted_at": None}


def get_or_create_draft(db: Database, user: User, session_id: int, kind: str, *,
                        library: Optional[Library] = None) -> dict:
    """The user's rating of the session of this kind, created as a draft when missing (the
    rules of :func:`find_rating` apply). Called when the first score, mark or comment is saved."""
    existing = find_rating(db, user, session_id, kind)
    if existing:
        return existing
    s = _session(db, session_id)
    library = library or default_library()
    inst = instrument_of(library, default_instrument_id(db, library))
    now = now_iso()
    with transaction(db):
        db.conn.execute(
            """INSERT OR IGNORE INTO ratings (session_id, rater_id, kind, instrument_id, instrument_hash, status,
                   comment, created_at, updated_at) VALUES (?,?,?,?,?,'draft','',?,?)""",
            (s["id"], user.id, kind, inst.id, inst.content_hash, now, now),
        )
        row = one(db, "SELECT * FROM ratings WHERE session_id = ? AND rater_id = ? AND kind = ?", (s["id"], user.id, kind))
        audit(db, user.id, "start_rating", "rating", row["id"], {"session_id": s["id"], "kind": kind})
    return row


def _applicable(inst: Instrument, session: dict):
    return inst.applicable_items(session["phase"], session["problem_area"])


def _touch(db: Database, rating_id: int) -> None:
    db.conn.execute("UPDATE ratings SET updated_at = ? WHERE id = ?", (now_iso(), rating_id))


def save_item(db: Database, user: User, rating_id: int, item_id: str, score: Optional[int],
              not_applicable: bool, reason: Optional[str] = None, *, library: Optional[Library] = None) -> None:
    """Save one item of a draft at once: a score on the instrument's scale, or N/A, or (both
    empty) clear it. Refuses out-of-range scores and items that do not apply to the session."""
    library = library or default_library()
    r = _editable(db, user, rating_id)
    inst = instrument_of(library, r["instrument_id"])
    s = _session(db, r["session_id"])
    known = {it.id: it for it in inst.items}
    if item_id not in known:
        raise FidelityError(f"'{item_id}' is not an item of {inst.name}; reload the page.")
    if item_id not in {it.id for it in _applicable(inst, s)}:
        raise FidelityError(
            f"Item '{item_id}' does not apply to a {s['phase']}-phase session on "
            f"{PROBLEM_AREAS.get(s['problem_area'], s['problem_area'])}; it is not rated for this session."
        )
    lo, hi = scale_range(library, inst)
    if not_applicable and score is not None:
        raise FidelityError("An item is either scored or marked N/A, not both; choose one.")
    if not_applicable and not known[item_id].na_allowed:
        raise FidelityError(
            f"Item '{item_id}' cannot be N/A: every session gives occasion for it. Score it"
            + (f" ({lo} means it did not happen)." if known[item_id].proscribed else "."))
    if score is not None:
        if isinstance(score, bool) or not isinstance(score, (int, float)) or float(score) != int(score):
            raise FidelityError(f"Scores are whole numbers from {lo} to {hi}; {score!r} is not one.")
        score = int(score)
        if not lo <= score <= hi:
            raise FidelityError(
                f"A score of {score} is outside the scale ({lo} to {hi}); choose a whole number from {lo} to {hi}, "
                "or N/A if the session gave no occasion for this item."
            )
    reason = (reason or "").strip()[:MAX_NOTE] or None
    with transaction(db):
        if score is None and not not_applicable and not reason:
            # cleared: keep a gold reason already written, drop the row otherwise
            db.conn.execute("UPDATE item_scores SET score = NULL, not_applicable = 0 WHERE rating_id = ? AND item_id = ?",
                            (r["id"], item_id))
            db.conn.execute("""DELETE FROM item_scores WHERE rating_id = ? AND item_id = ? AND reason IS NULL""",
                            (r["id"], item_id))
        else:
            db.conn.execute(
                """INSERT INTO item_scores (rating_id, item_id, score, not_applicable, reason) VALUES (?,?,?,?,?)
                   ON CONFLICT(rating_id, item_id) DO UPDATE SET score = excluded.score,
                   not_applicable = excluded.not_applicable,
                   reason = COALESCE(excluded.reason, item_scores.reason)""",
                (r["id"], item_id, score, int(bool(not_applicable)), reason),
            )
        _touch(db, r["id"])


def set_item_reason(db: Database, user: User, rating_id: int, item_id: str, reason: str) -> None:
    """Save the reason for one item (used for the gold-standard rating's per-item reasons)."""
    r = _editable(db, user, rating_id)
    with transaction(db):
        db.conn.execute(
            """INSERT INTO item_scores (rating_id, item_id, score, not_applicable, reason) VALUES (?,?,NULL,0,?)
               ON CONFLICT(rating_id, item_id) DO UPDATE SET reason = excluded.reason""",
            (r["id"], item_id, reason.strip()[:MAX_NOTE] or None),
        )
        _touch(db, r["id"])


def add_evidence_mark(db: Database, user: User, rating_id: int, time_s: float, item_id: Optional[str] = None,
                      note: str = "", *, library: Optional[Library] = None) -> int:
    """A moment in the recording (seconds from the start), optionally tied to an item, with a note."""
    r = _editable(db, user, rating_id)
    try:
        t = float(time_s)
    except (TypeError, ValueError):
        raise FidelityError("Give the time of the evidence mark in seconds from the start of the recording.") from None
    if not math.isfinite(t) or t < 0:
        raise FidelityError("The time of an evidence mark cannot be negative; use seconds from the start.")
    _check_mark_item(db, r, item_id, library)
    with transaction(db):
        mid = db.conn.execute(
            "INSERT INTO evidence_marks (rating_id, time_s, item_id, note, created_at) VALUES (?,?,?,?,?)",
            (r["id"], round(t, 3), item_id or None, (note or "").strip()[:MAX_NOTE], now_iso()),
        ).lastrowid
        _touch(db, r["id"])
    return mid


def _check_mark_item(db: Database, rating: dict, item_id: Optional[str], library: Optional[Library]) -> None:
    if item_id:
        inst = instrument_of(library or default_library(), rating["instrument_id"])
        if item_id not in {it.id for it in _applicable(inst, _session(db, rating["session_id"]))}:
            raise FidelityError("That item does not apply to this session; choose another item or none.")


def update_evidence_mark(db: Database, user: User, mark_id: int, item_id: Optional[str] = None, note: str = "", *,
                         library: Optional[Library] = None) -> None:
    """Change the item and note of a mark of one's own draft (a mark made with "Mark this moment"
    has neither at first); its time stays."""
    m = one(db, "SELECT * FROM evidence_marks WHERE id = ?", (int(mark_id),))
    if m is None:
        raise FidelityError("That evidence mark is gone; reload the page.")
    r = _editable(db, user, m["rating_id"])
    _check_mark_item(db, r, item_id, library)
    with transaction(db):
        db.conn.execute("UPDATE evidence_marks SET item_id = ?, note = ? WHERE id = ?",
                        (item_id or None, (note or "").strip()[:MAX_NOTE], m["id"]))
        _touch(db, r["id"])


def delete_evidence_mark(db: Database, user: User, mark_id: int) -> None:
    m = one(db, "SELECT * FROM evidence_marks WHERE id = ?", (int(mark_id),))
    if m is None:
        raise FidelityError("That evidence mark is already gone.")
    _editable(db, user, m["rating_id"])
    with transaction(db):
        db.conn.execute("DELETE FROM evidence_marks WHERE id = ?", (m["id"],))
        _touch(db, m["rating_id"])


def set_comment(db: Database, user: User, rating_id: int, text: str) -> None:
    r = _editable(db, user, rating_id)
    with transaction(db):
        db.conn.execute("UPDATE ratings SET comment = ?, updated_at = ? WHERE id = ?",
                        ((text or "")[:MAX_COMMENT], now_iso(), r["id"]))


def _scores(db: Database, rating_id: int) -> dict[str, dict]:
    return {r["item_id"]: r for r in rows(db, "SELECT item_id, score, not_applicable, reason FROM item_scores WHERE rating_id = ?",
                                           (rating_id,))}


def _marks(db: Database, rating_id: int) -> list[dict]:
    out = rows(db, "SELECT id, time_s, item_id, note, created_at FROM evidence_marks WHERE rating_id = ? ORDER BY time_s, id",
               (rating_id,))
    for m in out:
        m["time"] = fmt_time(m["time_s"])
    return out


def score_rating(inst: Instrument, session: dict, scores: dict[str, dict], scale_min: int = 1) -> dict:
    """Pure: the instrument's pass rule over the items that apply to the session
    (:func:`.pass_rule.session_result`: missing items, the session score, pass/fail and the
    items that failed it)."""
    return session_result(inst, _applicable(inst, session), scores, scale_min)


def submit_rating(db: Database, user: User, rating_id: int, *, library: Optional[Library] = None) -> dict:
    """Check every applicable item has a score or N/A, compute the mean and pass, lock the rating."""
    library = library or default_library()
    r = _editable(db, user, rating_id)
    inst = instrument_of(library, r["instrument_id"])
    s = _session(db, r["session_id"])
    scores = _scores(db, r["id"])
    result = score_rating(inst, s, scores, scale_range(library, inst)[0])
    texts = {it.id: it.text for it in inst.items}
    if result["na_refused"]:
        raise FidelityError(
            "These items cannot be N/A because every session gives occasion for them: "
            f"{', '.join(result['na_refused'])}. Score them (for a proscribed item, the lowest score means it did "
            "not happen).", missing=result["na_refused"])
    if result["missing"]:
        listed = "; ".join(f"{i} ({_short(texts[i])})" for i in result["missing"])
        raise FidelityError(
            f"Score or mark N/A every item before submitting. Missing ({len(result['missing'])}): {listed}.",
            missing=result["missing"],
        )
    if not result["enough"]:
        raise FidelityError(
            f"Only {result['n_scored']} item(s) are scored and the rest are N/A; the pass rule needs at least "
            f"{inst.pass_rule.min_applicable_items} scored items. Score the items the session gave occasion for."
        )
    if r["kind"] == "gold":
        no_reason = [i.id for i in _applicable(inst, s) if not (scores.get(i.id) or {}).get("reason")]
        if no_reason:
            raise FidelityError(
                "The gold-standard rating needs a reason for every item (raters see them after calibrating). "
                f"Missing a reason: {', '.join(no_reason)}.", missing=no_reason)
    now = now_iso()
    with transaction(db):
        current = one(db, "SELECT status FROM ratings WHERE id = ?", (r["id"],))
        if current["status"] != "draft":
            raise FidelityError("This rating was submitted already.")
        db.conn.execute(
            """UPDATE ratings SET status = 'submitted', mean = ?, passed = ?, instrument_id = ?, instrument_hash = ?,
               submitted_at = ?, updated_at = ? WHERE id = ?""",
            (result["mean"], int(result["passed"]), inst.id, inst.content_hash, now, now, r["id"]),
        )
        audit(db, user.id, "submit_rating", "rating", r["id"],
              {"session_id": s["id"], "kind": r["kind"], "mean": result["mean"], "passed": result["passed"],
               "failed_by": [f["item"] for f in result["failed_by"]],
               "instrument": inst.id, "instrument_hash": inst.content_hash})
        if r["kind"] == "rater" and not s["is_gold_standard"] and s["trainee_id"] != user.id:
            notify(db, s["trainee_id"], "session_rated",
                   f"A rater submitted a rating of your recorded session {session_label(s)}.", "my_sessions.py")
    return {**result, "rating_id": r["id"]}


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def can_reopen(db: Database, user: User, rating: dict) -> bool:
    """Supervisors (of the session's trainee) and admins may reopen others' submitted ratings;
    nobody reopens their own, which would let a rater change a score after seeing the others.
    Ratings of a gold-standard session (the expert rating and the calibrations, which decide
    rater certification) are reopened by administrators only (issue 15, finding 4); the expert
    rating is the panel's, so any administrator may reopen it."""
    if rating["status"] != "submitted":
        return False
    if _session(db, rating["session_id"])["is_gold_standard"] or rating["kind"] == "gold":
        return user.has("admin") and (rating["kind"] == "gold" or rating["rater_id"] != user.id)
    if rating["rater_id"] == user.id:
        return False
    if user.has("admin"):
        return True
    if user.has("supervisor"):
        s = _session(db, rating["session_id"])
        return s["trainee_id"] in supervisee_ids(db, user.id)
    return False


def reopen_rating(db: Database, supervisor: User, rating_id: int, reason: str) -> None:
    """Unlock a submitted rating for correction; the reason goes to the audit log."""
    r = _rating(db, rating_id)
    if not supervisor.has("supervisor", "admin"):
        raise FidelityError("Only a supervisor or an administrator can reopen a rating.")
    if not (reason or "").strip():
        raise FidelityError("Give the reason for reopening the rating; it is kept in the audit log.")
    if r["status"] != "submitted":
        raise FidelityError("This rating is not submitted, so there is nothing to reopen.")
    gold_session = r["kind"] == "gold" or _session(db, r["session_id"])["is_gold_standard"]
    if gold_session and not supervisor.has("admin"):
        raise FidelityError("Only an administrator can reopen the ratings of a gold-standard (calibration) session; "
                            "they decide rater certification.")
    if r["rater_id"] == supervisor.id and r["kind"] != "gold":
        raise FidelityError("You cannot reopen your own rating; ask another supervisor or an administrator.")
    if not can_reopen(db, supervisor, r):
        raise FidelityError("You can reopen ratings only of your supervisees' sessions.")
    with transaction(db):
        db.conn.execute("""UPDATE ratings SET status = 'draft', submitted_at = NULL, mean = NULL, passed = NULL,
                           updated_at = ? WHERE id = ?""", (now_iso(), r["id"]))
        audit(db, supervisor.id, "reopen_rating", "rating", r["id"],
              {"session_id": r["session_id"], "rater_id": r["rater_id"], "kind": r["kind"], "reason": reason.strip()})
