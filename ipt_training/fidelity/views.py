"""What the fidelity pages need, assembled from the modules above: workspace choices, the item catalogue, a session's results and a trainee's own sessions.
"""

from __future__ import annotations

from typing import Optional
from sqlite_utils import Database
from ..auth import User
from ..display import item_label
from ..content import Library
from ..finding import PAGE_SIZE
from ..store import rows
from .assignments import _status_of, rater_queue
from .base import default_instrument_id, default_library, instrument_of, pass_rule_text
from .blind import GOLD_HIDDEN, blind_reason, may_see_gold, ratings_visible_to
from .ratings import _applicable, _short, can_reopen, score_rating
from .recordings import _session, accessible_sessions, get_session, session_label


def workspace_choices(db: Database, user: User, text: str = "", limit: Optional[int] = PAGE_SIZE,
                      keep: Optional[int] = None) -> list[dict]:
    """What the rating workspace offers this user: (session, kind) pairs with labels.

    kind 'rater' for assigned sessions, 'self' for own sessions, 'gold' for gold-standard
    sessions (admins), 'view' for sessions a supervisor or admin may look at without rating:
    of those, the newest ``limit`` whose label, therapist or ``#number`` hold every word of
    ``text`` (searched in SQL: an administrator of 30,000 sessions is sent 50), and the session
    ``keep`` (the one open) wherever it falls. ``limit=None`` offers every one.
    """
    out, seen = [], set()

    def add(sid: int, kind: str, label: str) -> None:
        if (sid, kind) not in seen:
            seen.add((sid, kind))
            out.append({"session_id": sid, "kind": kind, "label": label})

    for q in rater_queue(db, user) if user.has("rater", "supervisor", "admin") else []:
        add(q["session_id"], "rater", f"Rate: {q['label']} [{q['status']}]")
    for s in accessible_sessions(db, user, trainee_id=user.id):
        add(s["id"], "self", f"Self-rate: {s['label']}")
    if user.has("admin"):
        for s in accessible_sessions(db, user, gold_only=True):
            add(s["id"], "gold", f"Gold standard: {s['label']}")
    if user.has("admin", "supervisor"):
        viewable = accessible_sessions(db, user, text=text, limit=limit, other_than_trainee=user.id)
        if keep is not None and all(s["id"] != keep for s in viewable):
            viewable += accessible_sessions(db, user, other_than_trainee=user.id, session_id=int(keep))
        for s in viewable:
            if (s["id"], "rater") not in seen:
                add(s["id"], "view", f"View: {s['trainee_name']}, {s['label']}")
    return out


def item_catalogue(library: Library, instrument_id: str, session: dict) -> list[dict]:
    """The applicable items of a session with their anchors, in instrument order."""
    inst = instrument_of(library, instrument_id)
    out = []
    for it in _applicable(inst, session):
        scale = library.scales[inst.scale_of(it)]
        out.append({"id": it.id, "section": it.section, "text": " ".join(it.text.split()), "short": item_label(it),
                    "critical": it.critical, "proscribed": it.proscribed, "na_allowed": it.na_allowed,
                    "anchors": [{"score": p, "label": scale.labels[p], "text": " ".join(it.anchors[p].split())}
                                for p in scale.points]})
    return out


def rating_progress(library: Library, rating: dict, session: dict) -> dict:
    """How far a rating has got: ``done`` items (scored or N/A) of ``total`` that apply to the
    session, and the session score so far as the instrument's pass rule defines it
    (:func:`.pass_rule.session_result`: the mean of the IPT items scored, N/A and proscribed
    items left out, minus the proscribed deduction), None while no IPT item is scored."""
    inst = instrument_of(library, rating["instrument_id"])
    applicable = _applicable(inst, session)
    result = score_rating(inst, session, rating["scores"], library.scales[inst.scale].min)
    total = len(applicable)
    done = total - len(result["missing"]) - len(result["na_refused"])
    return {"done": done, "total": total, "n_scored": result["n_scored"],
            "n_not_applicable": result["n_not_applicable"], "mean": result["mean"],
            "adherence_mean": result["adherence_mean"], "deduction": result["deduction"],
            "failed_by": result["failed_by"]}


def _cell(entry: Optional[dict]) -> str:
    if not entry:
        return ""
    if entry["not_applicable"]:
        return "N/A"
    return "" if entry["score"] is None else str(entry["score"])


def session_results(db: Database, user: User, session_id: int, *, library: Optional[Library] = None) -> dict:
    """Per item, the score of each rating the user may see, with its evidence marks; the mean
    against the pass rule; comments; and, when something is hidden, why."""
    library = library or default_library()
    s = get_session(db, user, session_id)
    visible = ratings_visible_to(db, user, session_id)
    inst_id = next((r["instrument_id"] for r in visible), None) or default_instrument_id(db, library)
    inst = instrument_of(library, inst_id)
    items = item_catalogue(library, inst.id, s)
    shown = [r for r in visible if r["status"] == "submitted" or r["is_own"]]
    # the same notice whether or not anyone else has submitted: its presence must not tell a
    # blind rater that another rating exists (issue 15, finding 21)
    raw = _session(db, session_id)
    hidden = blind_reason(db, user, raw)
    if hidden is None and raw["is_gold_standard"] and not may_see_gold(db, user, raw):
        hidden = GOLD_HIDDEN
    table = []
    for it in items:
        row = {"item": it["id"]}
        for r in shown:
            row[r["label"]] = _cell(r["scores"].get(it["id"]))
        row.update({"section": it["section"], "text": _short(it["text"], 90)})
        table.append(row)
    summaries = []
    scale_min = library.scales[inst.scale].min
    for r in shown:
        # the stored mean and verdict are what was submitted; the breakdown says how the pass rule got there
        # a draft (only ever one's own) shows its session score so far, with no verdict
        result = score_rating(inst, s, r["scores"], scale_min)
        summaries.append({
            "rating_id": r["id"], "label": r["label"], "kind": r["kind"], "status": r["status"], "is_own": r["is_own"],
            "mean": r["mean"] if r["status"] == "submitted" else result["mean"],
            "passed": None if r["passed"] is None else bool(r["passed"]),
            "adherence_mean": result["adherence_mean"] if result else None,
            "deduction": result["deduction"] if result else 0.0,
            "failed_by": result["failed_by"] if result else [],
            "comment": r["comment"], "submitted_at": r["submitted_at"], "marks": r["marks"],
            "reasons": {k: v["reason"] for k, v in r["scores"].items() if v.get("reason")},
            "can_reopen": can_reopen(db, user, r),
        })
    return {
        "session": s,
        "deleted": bool(s["deleted_at"]),
        "instrument": {"id": inst.id, "name": inst.name, "version": inst.version},
        "pass_rule": pass_rule_text(inst),
        "items": items,
        "table": table,
        "ratings": summaries,
        "hidden": hidden,
    }


def my_sessions(db: Database, trainee: User) -> list[dict]:
    """A trainee's own sessions, the newest added first, with the status of their self-rating and
    of the raters' ratings."""
    out = rows(db, """
        SELECT s.id, s.case_pseudonym, s.session_number, s.phase, s.problem_area, s.created_at, s.deleted_at,
               s.is_gold_standard,
               (SELECT status FROM ratings r WHERE r.session_id = s.id AND r.rater_id = s.trainee_id AND r.kind = 'self') AS self_status,
               (SELECT COUNT(*) FROM ratings r WHERE r.session_id = s.id AND r.kind = 'rater' AND r.status = 'submitted') AS rater_submitted,
               (SELECT COUNT(*) FROM assignments a WHERE a.session_id = s.id) AS raters_assigned
        FROM recorded_sessions s WHERE s.trainee_id = ? ORDER BY s.created_at DESC, s.id DESC""", (trainee.id,))
    for s in out:
        s["label"] = session_label(s)
        s["self_status"] = _status_of(s["self_status"])
    return out
