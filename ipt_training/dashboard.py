"""What each role should do next: the items on Home (issue 17).

Home shows next steps, not only counts: each :class:`NextStep` says what to do in words, names
the page that does it and the session-state selection that opens that page on the right item
(``params``). This module composes the domain packages' own queries (the open attempt, the
readiness, the rater's queue, the entries to confirm, the grading queue, the review queue and
expiring awards), so Home counts exactly what those pages list.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Optional

from sqlite_utils import Database

from . import notifications
from .auth import User
from .content import Library
from .store import one, rows

SHOWN = 5  # items listed per kind; the page holds the rest


@dataclass(frozen=True)
class NextStep:
    role: str        # the role section of Home it belongs to
    text: str        # what to do, in words (may hold user text: show it as plain text)
    page: str        # app_pages file that acts on it
    params: dict = field(default_factory=dict)  # session state that selects the item there
    action: str = "Open"
    urgent: bool = False
    note_id: Optional[int] = None  # the inbox notification it comes from (marked read when opened)


def _more(n: int, what: str, role: str, page: str) -> list[NextStep]:
    return [NextStep(role, f"{n} more {what}", page)] if n > 0 else []


def _trainee(db: Database, user: User, library: Library, today: _dt.date) -> list[NextStep]:
    from .credentials import review

    out = []
    drafts = rows(db, """SELECT vignette_id FROM vignette_attempts WHERE trainee_id = ? AND status = 'draft'
                         ORDER BY updated_at DESC, id DESC""", (user.id,))
    for d in [d for d in drafts if d["vignette_id"] in library.vignettes][:SHOWN]:  # a withdrawn case cannot go on
        out.append(NextStep("trainee", f"Continue: {library.vignettes[d['vignette_id']].title}", "vignette_workspace.py",
                            {"vignette_id": d["vignette_id"]}, action="Continue"))
    sid = review.default_standard_id(library, user)
    if sid is not None:
        mine = next(r for r in review.my_readiness(db, library, user, user.id, today) if r["standard"].id == sid)
        r = mine["readiness"]
        step = f" Next: {mine['next_steps'][0]}." if mine["next_steps"] else ""
        out.append(NextStep("trainee", f"{mine['standard'].name}: {r.met_count} of {r.total} requirements met "
                                       f"({mine['status']}).{step}", "my_readiness.py", {"mr_standard": sid},
                            action="Readiness"))
    for note in notifications.recent_unread(db, user.id, ("attempt_graded", "session_rated"))[:SHOWN]:
        out.append(NextStep("trainee", f"New: {note['text']}", note["page"], note["params"], action="Read",
                            note_id=note["id"]))
    waiting = one(db, "SELECT COUNT(*) AS n FROM vignette_attempts WHERE trainee_id = ? AND status = 'submitted'",
                  (user.id,))["n"]
    if waiting:
        out.append(NextStep("trainee", f"{waiting} attempt{'s' if waiting > 1 else ''} awaiting your supervisor's "
                                       "grading; the feedback on the machine-scored parts is there already.",
                            "progress.py"))
    to_self_rate = one(db, """SELECT COUNT(*) AS n FROM recorded_sessions s WHERE s.trainee_id = ? AND s.deleted_at IS NULL
            AND s.is_gold_standard = 0 AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.session_id = s.id
            AND r.kind = 'self' AND r.status = 'submitted')""", (user.id,))["n"]
    if to_self_rate:
        out.append(NextStep("trainee", f"Self-rate {to_self_rate} of your recorded sessions.", "my_sessions.py"))
    return out


def _rater(db: Database, user: User) -> list[NextStep]:
    from .fidelity import rater_queue

    due = [q for q in rater_queue(db, user) if q["status"] != "submitted" and not q["deleted_at"]]
    due.sort(key=lambda q: (not q["overdue"], q["due_date"] or "9999-12-31", q["session_id"]))
    out = []
    for q in due[:SHOWN]:
        when = (f"overdue since {q['due_date']}" if q["overdue"] else
                f"due {q['due_date']}" if q["due_date"] else "no due date")
        what = "Calibrate on" if q["purpose"] == "calibration" else "Rate"
        out.append(NextStep("rater", f"{what} {q['label']} ({when})", "rating_workspace.py",
                            {"rating_session_id": q["session_id"], "rating_kind": "rater"},
                            action="Continue" if q["status"] == "draft" else "Rate", urgent=q["overdue"]))
    return out + _more(len(due) - SHOWN, "sessions to rate", "rater", "rating_queue.py")


def _supervisor(db: Database, user: User) -> list[NextStep]:
    from .credentials import entries_to_confirm
    from .vignettes import count_grading, find_grading

    out = []
    pending = entries_to_confirm(db, user)
    per: dict[int, list] = {}
    for e in pending:
        per.setdefault(e["trainee_id"], []).append(e)
    for tid, entries in per.items():
        n = len(entries)
        out.append(NextStep("supervisor", f"Confirm {n} log entr{'ies' if n > 1 else 'y'} of {entries[0]['trainee']}",
                            "supervisees.py", {"sv_trainee": tid}, action="Confirm"))
    # an admin's own section counts all; read the first few and the count, not the whole queue
    queue = [] if user.has("admin") else find_grading(db, user, limit=SHOWN)
    for q in queue:
        out.append(NextStep("supervisor", f"Grade {q['trainee']}'s attempt at '{q['vignette_title']}' "
                                          f"(submitted {(q['submitted_at'] or '')[:10]})", "grading_queue.py",
                            {"gq_attempt": q["attempt_id"]}, action="Grade"))
    n = count_grading(db, user) if len(queue) == SHOWN else len(queue)
    return out + _more(n - SHOWN, "attempts to grade", "supervisor", "grading_queue.py")


def _admin(db: Database, user: User, library: Library, today: _dt.date) -> list[NextStep]:
    from .credentials import review
    from .vignettes import count_grading

    out, ready = [], []
    for sid in sorted(library.standards, key=lambda i: library.standards[i].name):
        ready += [r for r in review.cohort_readiness(db, library, sid, None, today)
                  if r["status"] in ("ready for review", "ready for renewal review")]
    for r in ready[:SHOWN]:
        out.append(NextStep("admin", f"Review {r['trainee']} for {library.standards[r['standard_id']].name} "
                                     f"({r['status']})", "credential_review.py",
                            {"cr_standard": r["standard_id"], "cr_trainee": r["trainee_id"]}, action="Review"))
    out += _more(len(ready) - SHOWN, "people ready for review", "admin", "credential_review.py")
    expiring = review.renewal_reminders(db, library, today, within_days=90)
    for r in expiring[:SHOWN]:
        out.append(NextStep("admin", f"{r['trainee']}'s {r['standard']} credential {r['status']} "
                                     f"(valid until {r['expires_on']})", "credential_review.py",
                            {"cr_standard": r["standard_id"], "cr_trainee": r["trainee_id"]}, action="Review",
                            urgent=r["days_left"] < 0))
    out += _more(len(expiring) - SHOWN, "credentials expiring", "admin", "credential_review.py")
    to_grade = count_grading(db, user)
    if to_grade:
        out.append(NextStep("admin", f"{to_grade} vignette attempts await grading (all trainees)",
                            "grading_queue.py"))
    unassigned = one(db, """SELECT COUNT(*) AS n FROM recorded_sessions s WHERE s.deleted_at IS NULL
        AND s.is_gold_standard = 0 AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.session_id = s.id)""")["n"]
    if unassigned:
        out.append(NextStep("admin", f"{unassigned} recorded sessions have no rater assigned", "assignments.py"))
    rejected = len({e.path for e in library.errors})
    if rejected:
        out.append(NextStep("admin", f"{rejected} content files were rejected", "content_status.py", urgent=True))
    return out


def next_steps(db: Database, user: User, library: Library, today: Optional[_dt.date] = None) -> list[NextStep]:
    """What this person should do next, per role they hold, most pressing first within a role."""
    today = today or _dt.date.today()
    out: list[NextStep] = []
    if user.has("trainee"):
        out += _trainee(db, user, library, today)
    if user.has("rater", "supervisor"):
        out += _rater(db, user)
    if user.has("supervisor"):
        out += _supervisor(db, user)
    if user.has("admin"):
        out += _admin(db, user, library, today)
    return out
