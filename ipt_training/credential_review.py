"""Credential review for a training body: cohort readiness, decisions, certificates (issue 6).

* ``cohort_readiness``: every candidate's readiness for a standard, "ready for review" first.
  Candidates are the active users whose roles fit what the standard certifies
  (``CANDIDATE_ROLES``): trainees for a therapist standard; trainees and supervisors for a
  supervisor standard; trainees, raters and supervisors for a rater standard.
* ``record_decision``: award, defer (with reasons) or refuse (with reasons), stored with the
  reviewer, the time, the standard's version and content hash, and a JSON snapshot of the
  evaluated readiness and of the evidence it was evaluated on. An award expires
  ``validity_months`` after the day of the decision. Decisions are append-only: the database
  refuses to update or delete one (triggers in store.py); a mistake is corrected by recording
  a new decision. Awarding while requirements are unmet needs reasons (the body's exception is
  then on record). Nobody decides on their own credential.
* Which award a person holds is :func:`evidence.standing_awards`: the latest award for the
  standard, unless a later refusal withdrew it.
* ``renewal_reminders``, ``readiness_pdf``, ``certificate_pdf``, ``cohort_csv`` and the
  ``python -m ipt_training readiness`` command (:func:`cli_readiness`).
"""

from __future__ import annotations

import argparse
import calendar
import dataclasses
import datetime as _dt
import json
import sys
from typing import Any, Optional, Sequence

import pandas as pd
from fpdf.enums import XPos, YPos
from sqlite_utils import Database

from . import calibration, reliability_data
from .auth import User, get_user, visible_trainee_ids
from .content import CredentialStandard, Library
from .credentials import evaluate, format_missing, readiness_to_dict, status_label
from .evidence import award_day, build_evidence, build_evidence_many, standing_awards
from .fidelity import blind_session_ids
from .reports import Report, _latin1, dataframe_to_csv
from .store import audit, get_setting, now_iso, one, rows, transaction

DECISIONS = ("award", "defer", "refuse")
STATUS_ORDER = {"ready for review": 0, "nearly ready": 1, "in progress": 2}
CANDIDATE_ROLES = {"therapist": ("trainee",), "supervisor": ("trainee", "supervisor"),
                   "rater": ("trainee", "rater", "supervisor")}


class ReviewError(Exception):
    """A review request the user can fix; the message says what to do."""


# --- helpers -----------------------------------------------------------------------------


def add_months(day: _dt.date, months: int) -> _dt.date:
    """``day`` plus whole months; the 31st becomes the last day of a shorter month."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return _dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def standard_of(library: Library, standard_id: str) -> CredentialStandard:
    std = library.standards.get(standard_id)
    if std is None:
        known = ", ".join(sorted(library.standards)) or "none loaded"
        raise ReviewError(f"Unknown credential standard '{standard_id}'; choose one of: {known}.")
    return std


def cohort_id_by_name(db: Database, name: str) -> int:
    row = one(db, "SELECT id FROM cohorts WHERE name = ?", (name,)) or \
        one(db, "SELECT id FROM cohorts WHERE lower(name) = lower(?)", (name.strip(),))
    if row is None:
        known = ", ".join(r["name"] for r in rows(db, "SELECT name FROM cohorts ORDER BY name")) or "none yet"
        raise ReviewError(f"Unknown cohort '{name}'; choose one of: {known}.")
    return row["id"]


def _cohort_names(db: Database) -> dict[int, str]:
    out: dict[int, list[str]] = {}
    for r in rows(db, """SELECT m.user_id, c.name FROM cohort_members m JOIN cohorts c ON c.id = m.cohort_id
                         ORDER BY c.name"""):
        out.setdefault(r["user_id"], []).append(r["name"])
    return {k: ", ".join(v) for k, v in out.items()}


def candidates(db: Database, standard: CredentialStandard, cohort_id: Optional[int] = None) -> list[dict]:
    """Active users who may hold ``standard`` (CANDIDATE_ROLES), optionally only one cohort's members."""
    roles = CANDIDATE_ROLES.get(standard.certifies, ("trainee",))
    marks = ",".join("?" for _ in roles)
    sql = f"""SELECT DISTINCT u.id, u.username, u.display_name FROM users u JOIN user_roles r ON r.user_id = u.id
              WHERE u.active = 1 AND r.role IN ({marks})"""
    params: tuple = tuple(roles)
    if cohort_id is not None:
        sql += " AND u.id IN (SELECT user_id FROM cohort_members WHERE cohort_id = ?)"
        params += (int(cohort_id),)
    return rows(db, sql + " ORDER BY u.display_name, u.id", params)


def _reviewer_names(db: Database) -> dict[int, str]:
    return {r["id"]: r["display_name"] for r in rows(db, "SELECT id, display_name FROM users")}


def decision_text(d: Optional[dict]) -> str:
    """'award on 2026-03-01 by Ada Admin, expires 2029-03-01' (or '' without a decision)."""
    if not d:
        return ""
    text = f"{d['decision']} on {d['decided_at'][:10]}"
    if d.get("reviewer"):
        text += f" by {d['reviewer']}"
    if d["decision"] == "award" and d.get("expires_on"):
        text += f", expires {d['expires_on']}"
    return text


def _latest_decisions(db: Database, standard_id: str) -> dict[int, dict]:
    names = _reviewer_names(db)
    out = {}
    for d in rows(db, "SELECT * FROM credential_decisions WHERE standard_id = ? ORDER BY decided_at, id", (standard_id,)):
        d["reviewer"] = names.get(d["reviewer_id"], "")
        out[d["trainee_id"]] = d
    return out


# --- readiness ---------------------------------------------------------------------------


def readiness_for(db: Database, library: Library, trainee_id: int, standard: CredentialStandard, today: _dt.date,
                  certified: Optional[dict] = None, viewer: Optional[User] = None):
    """(Readiness, Evidence) of one person for one standard, with the body's setting on
    uncertified raters' ratings (:func:`calibration.count_uncertified_ratings`); ratings the
    ``viewer`` is still blind to are left out."""
    hidden = frozenset(blind_session_ids(db, viewer)) if viewer is not None else frozenset()
    ev = build_evidence(db, library, trainee_id, today, certified=certified, hide_sessions=hidden)
    return evaluate(standard, ev, today, calibration.count_uncertified_ratings(db, library)), ev


def my_readiness(db: Database, library: Library, viewer: User, person_id: int, today: _dt.date) -> list[dict]:
    """One person's readiness for every loaded standard (evidence read once): a list of
    {standard, readiness, status, next_steps}, in the order of the standards' names."""
    if not (viewer.has("admin") or viewer.id == int(person_id) or int(person_id) in visible_trainee_ids(db, viewer)):
        raise ReviewError("You may see only your own readiness or your supervisees'.")
    ev = build_evidence(db, library, person_id, today, hide_sessions=frozenset(blind_session_ids(db, viewer)))
    count = calibration.count_uncertified_ratings(db, library)
    out = []
    for std in sorted(library.standards.values(), key=lambda s: s.name):
        r = evaluate(std, ev, today, count)
        out.append({"standard": std, "readiness": r, "status": status_label(r), "next_steps": format_missing(r)})
    return out


def evidence_stamp(db: Database) -> str:
    """A cheap fingerprint of everything readiness reads; it changes whenever evidence does.

    Pages pass it to ``st.cache_data`` with the filter values, so a rerun of the cohort table
    costs a few aggregate queries instead of evaluating every trainee again.
    """
    parts = [reliability_data.data_stamp(db), get_setting(db, calibration.SETTING_COUNT_UNCERTIFIED, "")]
    for table in ("training_events", "clinical_hours", "clinical_cases", "supervision_sessions"):
        r = one(db, f"SELECT COUNT(*) AS n, MAX(id) AS m, COUNT(confirmed_by) AS c, MAX(confirmed_at) AS a FROM {table}")
        parts.append(f"{r['n']}/{r['m']}/{r['c']}/{r['a']}")
    r = one(db, "SELECT COUNT(*) AS n, MAX(id) AS m, SUM(score) AS s FROM symptom_scores")
    parts.append(f"{r['n']}/{r['m']}/{r['s']}")
    # each aggregate on its own so that every one is answered from an index (idx_attempts_*)
    r = one(db, """SELECT (SELECT COUNT(*) FROM vignette_attempts) AS n, (SELECT MAX(id) FROM vignette_attempts) AS m,
                          (SELECT MAX(updated_at) FROM vignette_attempts) AS u,
                          (SELECT COUNT(*) FROM vignette_attempts WHERE status = 'graded') AS g""")
    parts.append(f"{r['n']}/{r['m']}/{r['u']}/{r['g']}")
    r = one(db, "SELECT COUNT(*) AS n, MAX(id) AS m FROM credential_decisions")
    parts.append(f"{r['n']}/{r['m']}")
    return "|".join(parts)


def cohort_readiness(db: Database, library: Library, standard_id: str, cohort_id: Optional[int], today: _dt.date,
                     *, viewer: Optional[User] = None, certified: Optional[dict] = None) -> list[dict]:
    """Every candidate's readiness for ``standard_id``: "ready for review" first, then by progress.

    Each row: trainee_id, username, trainee, cohort, progress (0..1), status, met, total,
    latest_decision (text), latest_decision_id, next_steps (list) and ``readiness`` (the
    Readiness itself). ``viewer``: when given and not an administrator, only the people they
    may see (their supervisees, themselves). Unknown standard or cohort: ReviewError.
    """
    standard = standard_of(library, standard_id)
    if cohort_id is not None and one(db, "SELECT 1 AS x FROM cohorts WHERE id = ?", (int(cohort_id),)) is None:
        raise ReviewError("This cohort does not exist any more; choose another.")
    people = candidates(db, standard, cohort_id)
    if viewer is not None and not viewer.has("admin"):
        allowed = set(visible_trainee_ids(db, viewer))
        people = [p for p in people if p["id"] in allowed]
    if certified is None:
        certified = calibration.certified_raters(db, library, today)
    count_uncertified = calibration.count_uncertified_ratings(db, library)
    cohorts = _cohort_names(db)
    latest = _latest_decisions(db, standard.id)
    hidden = frozenset(blind_session_ids(db, viewer)) if viewer is not None else frozenset()
    evidence = build_evidence_many(db, library, [p["id"] for p in people], today, certified=certified,
                                   hide_sessions=hidden)
    out = []
    for p in people:
        r = evaluate(standard, evidence[p["id"]], today, count_uncertified)
        d = latest.get(p["id"])
        out.append({
            "trainee_id": p["id"], "username": p["username"], "trainee": p["display_name"],
            "cohort": cohorts.get(p["id"], ""), "standard_id": standard.id, "standard_version": standard.version,
            "progress": r.progress, "status": status_label(r), "met": r.met_count, "total": r.total,
            "latest_decision": decision_text(d), "latest_decision_id": d["id"] if d else None,
            "next_steps": format_missing(r), "readiness": r,
        })
    out.sort(key=lambda row: (STATUS_ORDER.get(row["status"], 9), -row["progress"], row["trainee"].lower()))
    return out


def supervisee_readiness(db: Database, library: Library, supervisor: User, standard_id: str,
                         today: _dt.date) -> list[dict]:
    """:func:`cohort_readiness` of a supervisor's own supervisees only."""
    rows_ = cohort_readiness(db, library, standard_id, None, today, viewer=supervisor)
    return [r for r in rows_ if r["trainee_id"] != supervisor.id]


def cohort_table(rows_: Sequence[dict]) -> pd.DataFrame:
    """The cohort rows as a display/CSV table (one row per person, one column per requirement)."""
    out = []
    for r in rows_:
        row = {"trainee": r["trainee"], "username": r["username"], "cohort": r["cohort"],
               "standard": r["standard_id"], "version": r["standard_version"], "status": r["status"],
               "requirements met": f"{r['met']} of {r['total']}", "progress %": round(r["progress"] * 100),
               "latest decision": r["latest_decision"]}
        for req in r["readiness"].requirements:
            row[req.requirement_id] = ("met: " if req.met else "not met: ") + req.current
        row["next steps"] = "; ".join(r["next_steps"])
        out.append(row)
    return pd.DataFrame(out)


def cohort_csv(rows_: Sequence[dict]) -> bytes:
    """CSV export of :func:`cohort_readiness` rows (UTF-8)."""
    return dataframe_to_csv(cohort_table(rows_))


# --- decisions ---------------------------------------------------------------------------


def _jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return _jsonable(dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (_dt.date, _dt.datetime)):
        return obj.isoformat()
    return obj


def _insert_decision(db: Database, reviewer_id: int, trainee_id: int, standard: CredentialStandard, decision: str,
                     reasons: str, decided_at: str, expires_on: Optional[str], snapshot: dict) -> int:
    with transaction(db):
        did = db.conn.execute(
            """INSERT INTO credential_decisions (trainee_id, standard_id, standard_version, standard_hash, decision,
                   reasons, reviewer_id, decided_at, expires_on, evidence_snapshot) VALUES (?,?,?,?,?,?,?,?,?,?)""",
            (int(trainee_id), standard.id, standard.version, standard.content_hash, decision, reasons, int(reviewer_id),
             decided_at, expires_on, json.dumps(snapshot, sort_keys=True))).lastrowid
        audit(db, reviewer_id, f"credential_{decision}", "credential_decision", did,
              {"trainee_id": int(trainee_id), "standard_id": standard.id, "standard_version": standard.version,
               "expires_on": expires_on})
    return did


def record_decision(db: Database, reviewer: User, trainee_id: int, standard: CredentialStandard, decision: str,
                    reasons: str, today: _dt.date, *, library: Optional[Library] = None) -> int:
    """Record an award, deferral or refusal; returns the decision id (append-only).

    The readiness is evaluated as of ``today``; an award takes effect on ``today`` (stored as
    ``evaluated_on`` in the snapshot) and expires ``validity_months`` later. ``decided_at`` is
    the actual time of recording.

    ``library`` supplies the rater-certification policy for the evidence snapshot (default:
    the configured content).
    """
    if not reviewer.has("admin"):
        raise ReviewError("Only an administrator of the training body can record a credential decision.")
    if decision not in DECISIONS:
        raise ReviewError("Choose a decision: award, defer or refuse.")
    if int(trainee_id) == reviewer.id:
        raise ReviewError("You cannot decide on your own credential; ask another reviewer.")
    person = get_user(db, trainee_id)
    if person is None:
        raise ReviewError("This person does not exist; choose another.")
    reasons = (reasons or "").strip()
    if decision in ("defer", "refuse") and not reasons:
        raise ReviewError(f"Give the reasons for the decision to {decision}: the trainee reads them to know what to do next.")
    if len(reasons) > 5000:
        raise ReviewError("Keep the reasons under 5000 characters.")
    if library is None:
        from .fidelity import default_library

        library = default_library()
    readiness, ev = readiness_for(db, library, person.id, standard, today)
    if decision == "award" and not readiness.ready and not reasons:
        unmet = readiness.total - readiness.met_count
        raise ReviewError(f"{unmet} requirement(s) are not met yet. To award anyway, give the reasons the body "
                          "accepts the evidence; otherwise defer or refuse.")
    expires = add_months(today, standard.validity_months).isoformat() if decision == "award" else None
    snapshot = {
        "standard": {"id": standard.id, "name": standard.name, "version": standard.version,
                     "issuing_body": standard.issuing_body, "certifies": standard.certifies,
                     "validity_months": standard.validity_months, "content_hash": standard.content_hash},
        "holder": {"id": person.id, "username": person.username, "display_name": person.display_name},
        "evaluated_on": today.isoformat(),
        "count_uncertified_ratings": calibration.count_uncertified_ratings(db, library),
        "readiness": _jsonable(readiness_to_dict(readiness)),
        "evidence": _jsonable(ev),
    }
    return _insert_decision(db, reviewer.id, person.id, standard, decision, reasons, now_iso(), expires, snapshot)


def _decision_state(d: dict, standing: dict[str, dict], today: _dt.date) -> str:
    if d["decision"] != "award":
        return ""
    held = standing.get(d["standard_id"])
    if held is None or held["id"] != d["id"]:
        return "superseded by a later decision"
    if d["expires_on"] and _dt.date.fromisoformat(d["expires_on"]) < today:
        return f"expired on {d['expires_on']}"
    return f"valid until {d['expires_on']}" if d["expires_on"] else "valid"


def decisions_for(db: Database, trainee_id: int, standard_id: Optional[str] = None, *,
                  viewer: Optional[User] = None, today: Optional[_dt.date] = None) -> list[dict]:
    """A person's decisions, newest first: id, standard_id, standard_name, standard_version,
    standard_hash, decision, reasons, reviewer, decided_at, expires_on and ``state`` (for awards:
    'valid until ...', 'expired on ...' or 'superseded by a later decision').

    ``viewer``: when given, they must be the person, an administrator or a linked supervisor.
    """
    if viewer is not None and not (viewer.has("admin") or viewer.id == int(trainee_id)
                                   or int(trainee_id) in visible_trainee_ids(db, viewer)):
        raise ReviewError("You may see only your own credential decisions or your supervisees'.")
    today = today or _dt.date.today()
    names = _reviewer_names(db)
    standing = standing_awards(db, trainee_id)
    sql = "SELECT * FROM credential_decisions WHERE trainee_id = ?"
    params: tuple = (int(trainee_id),)
    if standard_id:
        sql += " AND standard_id = ?"
        params += (standard_id,)
    out = []
    for d in rows(db, sql + " ORDER BY decided_at DESC, id DESC", params):
        snap = json.loads(d.pop("evidence_snapshot") or "{}")
        d["reviewer"] = names.get(d["reviewer_id"], "")
        d["standard_name"] = snap.get("standard", {}).get("name", d["standard_id"])
        d["state"] = _decision_state(d, standing, today)
        out.append(d)
    return out


def decision_snapshot(db: Database, decision_id: int) -> dict:
    """The readiness and evidence a decision was made on (the stored JSON)."""
    d = one(db, "SELECT evidence_snapshot FROM credential_decisions WHERE id = ?", (int(decision_id),))
    if d is None:
        raise ReviewError("This decision does not exist.")
    return json.loads(d["evidence_snapshot"])


def awards_held(db: Database, trainee_id: int, today: _dt.date) -> list[dict]:
    """The awards a person holds (expired ones too), each with ``expired`` and ``state``."""
    out = []
    names = _reviewer_names(db)
    for d in standing_awards(db, trainee_id).values():
        snap = json.loads(d["evidence_snapshot"] or "{}")
        expired = bool(d["expires_on"]) and _dt.date.fromisoformat(d["expires_on"]) < today
        out.append({"decision_id": d["id"], "standard_id": d["standard_id"],
                    "standard_name": snap.get("standard", {}).get("name", d["standard_id"]),
                    "standard_version": d["standard_version"], "awarded_on": award_day(d).isoformat(),
                    "expires_on": d["expires_on"], "expired": expired, "reviewer": names.get(d["reviewer_id"], ""),
                    "state": f"expired on {d['expires_on']}" if expired else f"valid until {d['expires_on']}"})
    return sorted(out, key=lambda a: a["awarded_on"], reverse=True)


def renewal_reminders(db: Database, library: Library, today: _dt.date, within_days: int = 90) -> list[dict]:
    """Held awards that expire within ``within_days`` of ``today`` or have expired, soonest first.

    An award superseded by a later award (a renewal) or withdrawn by a refusal is not listed.
    """
    horizon = today + _dt.timedelta(days=int(within_days))
    names = {r["id"]: r for r in rows(db, "SELECT id, username, display_name FROM users")}
    out = []
    for t in rows(db, "SELECT DISTINCT trainee_id FROM credential_decisions WHERE decision = 'award'"):
        for d in standing_awards(db, t["trainee_id"]).values():
            if not d["expires_on"]:
                continue
            expires = _dt.date.fromisoformat(d["expires_on"])
            if expires > horizon:
                continue
            days = (expires - today).days
            std = library.standards.get(d["standard_id"])
            person = names.get(d["trainee_id"], {})
            out.append({
                "trainee_id": d["trainee_id"], "trainee": person.get("display_name", ""),
                "username": person.get("username", ""), "standard_id": d["standard_id"],
                "standard": std.name if std else d["standard_id"], "decision_id": d["id"],
                "awarded_on": award_day(d).isoformat(), "expires_on": d["expires_on"], "days_left": days,
                "status": (f"expired {-days} day(s) ago" if days < 0 else
                           "expires today" if days == 0 else f"expires in {days} day(s)"),
            })
    return sorted(out, key=lambda r: (r["expires_on"], r["trainee"]))


# --- PDFs --------------------------------------------------------------------------------


def readiness_pdf(db: Database, library: Library, trainee_id: int, standard: CredentialStandard, today: _dt.date,
                  *, viewer: Optional[User] = None) -> bytes:
    """A PDF of one person's readiness for a standard: every requirement, its evidence, next
    steps, and the decisions recorded so far."""
    person = get_user(db, trainee_id)
    if person is None:
        raise ReviewError("This person does not exist; choose another.")
    if viewer is not None and not (viewer.has("admin") or viewer.id == person.id
                                   or person.id in visible_trainee_ids(db, viewer)):
        raise ReviewError("You may print only your own readiness or your supervisees'.")
    r, _ = readiness_for(db, library, person.id, standard, today, viewer=viewer)
    pdf = Report(f"Credential readiness: {person.display_name}",
                 f"{standard.name}, version {standard.version} ({standard.issuing_body}). Evaluated on "
                 f"{today.isoformat()}.")
    pdf.paragraph(f"Status: {status_label(r)} - {r.met_count} of {r.total} requirements met, "
                  f"overall progress {round(r.progress * 100)} %.")
    pdf.table(["Requirement", "Met", "Progress", "Where it stands"],
              [[q.requirement_id, "yes" if q.met else "no", f"{round(q.progress * 100)} %", q.current]
               for q in r.requirements], widths=[45, 12, 18, 115])
    for q in r.requirements:
        pdf.heading(f"{q.requirement_id}: {'met' if q.met else 'not met'}")
        pdf.paragraph(q.description, size=9)
        if q.missing:
            pdf.paragraph("Still missing:", size=9)
            for m in q.missing:
                pdf.paragraph(f"- {m}", size=9)
        if q.evidence:
            pdf.paragraph("Evidence that counts:", size=9)
            for e in q.evidence:
                pdf.paragraph(f"- {e.label}", size=9)
        if q.not_counted:
            pdf.paragraph("Shown but not counted:", size=9)
            for e in q.not_counted:
                pdf.paragraph(f"- {e.label} ({e.reason})", size=9)
    decisions = decisions_for(db, person.id, standard.id, today=today)
    pdf.heading("Decisions")
    if decisions:
        pdf.table(["Id", "Decision", "Date", "Reviewer", "Version", "Expires", "Reasons"],
                  [[d["id"], d["decision"], d["decided_at"][:10], d["reviewer"], d["standard_version"],
                    d["expires_on"] or "", d["reasons"]] for d in decisions],
                  widths=[10, 18, 22, 30, 24, 22, 64])
    else:
        pdf.paragraph("No decision recorded yet.")
    return pdf.to_bytes()


def certificate_pdf(db: Database, decision_id: int, today: _dt.date, *, viewer: Optional[User] = None) -> bytes:
    """The certificate of an award in force: issuing body, standard name and version, holder,
    award and expiry dates, decision id. Refused for a deferral, a refusal, an expired award or
    an award a later decision superseded."""
    d = one(db, "SELECT * FROM credential_decisions WHERE id = ?", (int(decision_id),))
    if d is None:
        raise ReviewError("This decision does not exist.")
    if viewer is not None and not (viewer.has("admin") or viewer.id == d["trainee_id"]):
        raise ReviewError("Only the holder or an administrator can download this certificate.")
    if d["decision"] != "award":
        raise ReviewError(f"Decision {d['id']} is a decision to {d['decision']}; a certificate exists only for an award.")
    held = standing_awards(db, d["trainee_id"]).get(d["standard_id"])
    if held is None or held["id"] != d["id"]:
        raise ReviewError(f"Award {d['id']} was superseded by a later decision; download the certificate of the "
                          "current award instead.")
    if d["expires_on"] and _dt.date.fromisoformat(d["expires_on"]) < today:
        raise ReviewError(f"This credential expired on {d['expires_on']}; renew it to receive a new certificate.")
    snap = json.loads(d["evidence_snapshot"])
    std = snap.get("standard", {})
    holder = (get_user(db, d["trainee_id"]).display_name if get_user(db, d["trainee_id"])
              else snap.get("holder", {}).get("display_name", ""))
    body = std.get("issuing_body", "")
    pdf = Report(f"Certificate: {std.get('name', d['standard_id'])}", body)
    pdf.ln(8)
    pdf.paragraph(f"{body} certifies that", size=12)
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 20)
    pdf.multi_cell(0, 12, _latin1(holder), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.paragraph(f"meets the requirements of the credential standard {std.get('name', d['standard_id'])} "
                  f"(id {d['standard_id']}, version {d['standard_version']}).", size=12)
    pdf.ln(4)
    pdf.table(["Certificate detail", ""], [
        ["Holder", holder],
        ["Credential standard", f"{std.get('name', d['standard_id'])}, version {d['standard_version']}"],
        ["Issuing body", body],
        ["Awarded on", award_day(d).isoformat()],
        ["Valid until", d["expires_on"] or "no expiry"],
        ["Decision id", str(d["id"])],
        ["Standard content hash", d["standard_hash"][:16]],
    ], widths=[55, 135])
    pdf.ln(4)
    pdf.paragraph("The training body keeps the decision, the reviewer and the evidence it was based on in its "
                  "append-only decision log; quote the decision id to verify this certificate.", size=9)
    return pdf.to_bytes()


# --- command line ------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ipt_training readiness",
        description="Credential readiness of every matching person: the same evaluation as the review page.")
    p.add_argument("--standard", metavar="ID", help="a credential standard id (default: every standard)")
    p.add_argument("--cohort", metavar="NAME", help="only members of this cohort")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format (default table)")
    p.add_argument("--db", metavar="PATH", help="SQLite file (default: $IPT_TRAINING_DB or <data dir>/ipt_training.db)")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="evaluate as of this day (default today)")
    return p


def _text_table(headers: list[str], body: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in body])


def _format_table(std: CredentialStandard, rows_: list[dict]) -> str:
    out = [f"{std.id} (version {std.version}): {std.name}"]
    if not rows_:
        return out[0] + "\n  nobody matches\n"
    out.append(_text_table(["Person", "Username", "Cohort", "Status", "Met", "Progress", "Latest decision"],
                           [[r["trainee"], r["username"], r["cohort"], r["status"], f"{r['met']}/{r['total']}",
                             f"{round(r['progress'] * 100)} %", r["latest_decision"] or "-"] for r in rows_]))
    for r in rows_:
        out.append(f"\n{r['trainee']} ({r['username']}): {r['status']}")
        for q in r["readiness"].requirements:
            out.append(f"  [{'x' if q.met else ' '}] {q.requirement_id}: {q.current}")
            out.extend(f"        - {m}" for m in q.missing)
    return "\n".join(out) + "\n"


def _json_row(r: dict) -> dict:
    return {k: v for k, v in r.items() if k != "readiness"} | {"readiness": readiness_to_dict(r["readiness"])}


def cli_readiness(argv: Sequence[str] | None = None) -> int:
    """``python -m ipt_training readiness [--standard ID] [--cohort NAME] [--format table|csv|json] [--db PATH]``.

    Exit status: 0 on success; 2 for an unknown standard or cohort, a bad date, or bad arguments.
    """
    from .config import get_settings
    from .content import load_library
    from .store import open_store

    try:
        args = _parser().parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:  # --help or a usage error; argparse already printed
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        today = _dt.date.fromisoformat(args.date) if args.date else _dt.date.today()
    except ValueError:
        print(f"readiness: error: --date must be a day as YYYY-MM-DD, got {args.date!r}.", file=sys.stderr)
        return 2
    settings = get_settings()
    library = load_library(settings.content_dir)
    db = open_store(args.db or settings.db_path)
    try:
        standards = [standard_of(library, args.standard)] if args.standard else \
            [library.standards[k] for k in sorted(library.standards)]
        cohort_id = cohort_id_by_name(db, args.cohort) if args.cohort else None
    except ReviewError as exc:
        print(f"readiness: error: {exc}", file=sys.stderr)
        return 2
    if not standards:
        print("readiness: error: no credential standard is loaded; run 'python -m ipt_training validate'.",
              file=sys.stderr)
        return 2
    certified = calibration.certified_raters(db, library, today)
    results = [(s, cohort_readiness(db, library, s.id, cohort_id, today, certified=certified)) for s in standards]
    if args.format == "json":
        print(json.dumps([_json_row(r) for _, rs in results for r in rs], indent=2, default=str))
    elif args.format == "csv":
        frames = [cohort_table(rs) for _, rs in results if rs]
        sys.stdout.write(dataframe_to_csv(pd.concat(frames, ignore_index=True)).decode("utf-8") if frames else "")
    else:
        print("\n".join(_format_table(s, rs) for s, rs in results))
    return 0
