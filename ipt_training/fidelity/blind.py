"""The blind rule, at the data-access layer so that no page can show what it hides.

* Anyone taking part as a rater in a session (assigned, or holding a rater-kind rating of it) sees nothing of the other ratings of that session (other raters', the self-rating, the gold rating) until their own rating is submitted; this holds for supervisors and administrators who are assigned too.
* A supervisor who is not rating the session sees the submitted ratings of their supervisees' sessions.
* An administrator who is not rating the session sees every submitted rating.
* A trainee sees the raters' and the gold rating of their own session once those are submitted and their own self-rating is submitted.
* Nobody ever sees another person's draft.
* The gold (expert) rating of a calibration session is seen only by administrators and, once
  their own rating of the session is submitted, by the raters calibrating on it: a supervisor
  or the session's trainee who read it could copy it into a calibration (issue 15, finding 2).
* Whoever is shown another person's rating of a session is recorded (``ratings_seen``, and one
  ``see_ratings`` audit line), and can no longer be assigned to rate that session.
* The audit log follows the same rule: the details of a session's lines (a submitted rating's mean)
  are withheld from an administrator who is still blind to that session.
"""

from __future__ import annotations

import json
from typing import Optional
from sqlite_utils import Database
from ..auth import User, supervisee_ids
import pandas as pd

from ..reports import dataframe_to_csv
from ..store import audit, audit_entries, one, rows, transaction
from .base import FidelityError
from .ratings import _marks, _scores
from .recordings import _is_participant, _session, can_access_session
from .seen import record_seen


def blind_reason(db: Database, user: User, session: dict) -> Optional[str]:
    """Why ``user`` may not (yet) see other people's ratings of the session, or None if they may.

    See the module docstring for the rule and why it is so.
    """
    if _is_participant(db, user.id, session["id"]):
        own = one(db, "SELECT status FROM ratings WHERE session_id = ? AND rater_id = ? AND kind = 'rater'",
                  (session["id"], user.id))
        if own and own["status"] == "submitted":
            return None
        return "Other ratings of this session stay hidden until you submit your own (blind rating)."
    if session["trainee_id"] == user.id:
        own = one(db, "SELECT status FROM ratings WHERE session_id = ? AND rater_id = ? AND kind = 'self'",
                  (session["id"], user.id))
        if own and own["status"] == "submitted":
            return None
        return "The raters' results appear here once you have submitted your self-rating of this session."
    if user.has("admin"):
        return None
    if user.has("supervisor") and session["trainee_id"] in supervisee_ids(db, user.id):
        return None
    return "You do not take part in rating this session."


def blind_session_ids(db: Database, user: User) -> set[int]:
    """Sessions whose ratings ``user`` may not see yet (the bulk form of :func:`blind_reason`):
    those they are assigned to rate and have not submitted, and their own sessions they have
    not self-rated. Readiness views leave these sessions' ratings out for that viewer."""
    found = rows(db, """SELECT a.session_id FROM assignments a WHERE a.rater_id = :me AND NOT EXISTS (
                            SELECT 1 FROM ratings r WHERE r.session_id = a.session_id AND r.rater_id = :me
                            AND r.kind = 'rater' AND r.status = 'submitted')
                        UNION
                        SELECT s.id FROM recorded_sessions s WHERE s.trainee_id = :me AND NOT EXISTS (
                            SELECT 1 FROM ratings r WHERE r.session_id = s.id AND r.rater_id = :me
                            AND r.kind = 'self' AND r.status = 'submitted')""", {"me": user.id})
    return {r["session_id"] for r in found}


GOLD_HIDDEN = ("The expert (gold-standard) rating of a calibration session is shown only to administrators and, "
               "once they submit, to the raters calibrating on it.")


def may_see_gold(db: Database, user: User, session: dict) -> bool:
    """Who may (once :func:`blind_reason` is None) see a session's gold rating: administrators
    and the raters calibrating on it."""
    return user.has("admin") or _is_participant(db, user.id, session["id"])


def _rater_label(kind: str, name: str) -> str:
    return {"rater": f"Rater: {name}", "self": f"Self-rating: {name}", "gold": "Gold standard (expert consensus)"}[kind]


def ratings_visible_to(db: Database, user: User, session_id: int) -> list[dict]:
    """The ratings of a session that ``user`` may see, with scores and evidence marks.

    Always the user's own ratings (drafts too); other people's *submitted* ratings only when
    :func:`blind_reason` is None. Others' drafts never. The trainee of the session sees the
    rater and gold ratings (the self-rating is their own).
    """
    s = _session(db, session_id)
    if not can_access_session(db, user, s):
        raise FidelityError("You do not have access to this session.")
    open_to_user = blind_reason(db, user, s) is None
    found = rows(db, """SELECT r.*, u.display_name AS rater_name FROM ratings r JOIN users u ON u.id = r.rater_id
                        WHERE r.session_id = ? ORDER BY CASE r.kind WHEN 'gold' THEN 0 WHEN 'rater' THEN 1 ELSE 2 END,
                        r.submitted_at, r.id""", (s["id"],))
    gold_open = open_to_user and may_see_gold(db, user, s)
    out = []
    for r in found:
        own = r["rater_id"] == user.id
        if not own and not (open_to_user and r["status"] == "submitted"):
            continue
        if r["kind"] == "gold" and not (gold_open or (own and user.has("admin"))):
            continue
        r = dict(r)
        r["is_own"] = own
        r["label"] = _rater_label(r["kind"], r["rater_name"])
        r["scores"] = _scores(db, r["id"])
        r["marks"] = _marks(db, r["id"])
        out.append(r)
    if any(not r["is_own"] or r["kind"] == "gold" for r in out):
        record_seen(db, user.id, s["id"])
    return out


def own_rating(db: Database, user: User, session_id: int, kind: str) -> Optional[dict]:
    """The user's rating of this kind with scores and marks (None if not started)."""
    if kind == "gold":
        r = one(db, "SELECT * FROM ratings WHERE session_id = ? AND kind = 'gold' ORDER BY id LIMIT 1", (int(session_id),))
        if r is None or not user.has("admin"):
            return None
    else:
        r = one(db, "SELECT * FROM ratings WHERE session_id = ? AND rater_id = ? AND kind = ?",
                (int(session_id), user.id, kind))
    if r is None:
        return None
    r = dict(r)
    r["scores"] = _scores(db, r["id"])
    r["marks"] = _marks(db, r["id"])
    return r


BLIND_DETAIL = "(withheld: you are still to submit your own rating of this session)"


def audit_entries_for(db: Database, user: User, action: str = "", limit: Optional[int] = 200, **filters) -> list[dict]:
    """:func:`store.audit_entries` as ``user`` may read them: the detail of every line about a
    session they are still blind to (:func:`blind_session_ids`) is withheld. ``filters`` are
    those of :func:`store.audit_entries` (who, text, since, until, offset)."""
    hidden = blind_session_ids(db, user)
    out = []
    for e in audit_entries(db, action, limit, **filters):
        try:
            detail = json.loads(e["detail"]) if e["detail"] else None
        except ValueError:
            detail = None
        sid = detail.get("session_id") if isinstance(detail, dict) else None
        if e["object_type"] == "recorded_session" and str(e["object_id"]).isdigit():
            sid = sid if sid is not None else int(e["object_id"])
        if isinstance(sid, int) and sid in hidden:
            e = {**e, "detail": BLIND_DETAIL}
        out.append(e)
    return out


def export_audit_log(db: Database, user: User, action: str = "", **filters) -> bytes:
    """Every audit-log line matching the filters, as ``user`` may read them, as CSV (formula
    cells neutralised, :func:`reports.dataframe_to_csv`). The export is itself an audit line,
    ``export_audit_log``, recording the filters and the number of lines, as the log records
    other reads of sensitive records (``view_recording``, ``see_ratings``)."""
    if not user.has("admin"):
        raise FidelityError("Only an administrator can export the audit log.")
    entries = audit_entries_for(db, user, action, None, **{k: v for k, v in filters.items() if k != "offset"})
    detail = {"action": action, **{k: (v.isoformat() if hasattr(v, "isoformat") else v)
                                   for k, v in filters.items() if k != "offset"}, "lines": len(entries)}
    with transaction(db):
        audit(db, user.id, "export_audit_log", "audit_log", "", detail)
    frame = pd.DataFrame(entries, columns=["at", "who", "action", "object_type", "object_id", "detail"])
    return dataframe_to_csv(frame)
