"""Credential review: each candidate's readiness against a standard (cached by an evidence stamp), cohort tables, and the append-only award/defer/refuse decisions with their evidence snapshot, expiry and renewal reminders.
"""

from __future__ import annotations

import bisect
import calendar
import dataclasses
import datetime as _dt
import hashlib
import json
from typing import Any, Optional, Sequence
import pandas as pd
from sqlite_utils import Database
from ..reliability import calibration
from ..auth import User, get_user, visible_trainee_ids
from ..content import CredentialStandard, Library
from .holding import HELD, Holding, assess, holding_from, role_standard_id
from .readiness import HeldCredential, format_missing, readiness_to_dict
from . import readiness_cache
from .evidence import award_day, build_evidence, standing_awards
from .evidence_read import _EVALUATED_ON, _NOT_REVOKED, _award_day, _standing
from ..fidelity.blind import blind_session_ids
from ..finding import text_matches, words
from ..reports import dataframe_to_csv
from ..notifications import notify
from ..store import audit, get_setting, now_iso, one, rows, transaction
from ..store_changes import GLOBAL, PEOPLE


DECISIONS = ("award", "defer", "refuse")


STATUS_ORDER = {"ready for review": 0, "ready for renewal review": 1, "nearly ready": 2, "in progress": 3,
                "renewal due": 4, "expired": 5, "held": 6}


CANDIDATE_ROLES = {"therapist": ("trainee",), "supervisor": ("trainee", "supervisor"),
                   "rater": ("trainee", "rater", "supervisor")}


class ReviewError(Exception):
    """A review request the user can fix; the message says what to do."""


class ConfirmationNeeded(ReviewError):
    """The decision would supersede an award in force; ``supersedes`` names it. Record it again
    with ``supersedes=`` that id to confirm."""

    def __init__(self, message: str, supersedes: int):
        super().__init__(message)
        self.supersedes = supersedes


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


def _latest_decisions(db: Database, standard_id: str, people: Optional[list[int]] = None) -> dict[int, dict]:
    """person id -> their latest decision on ``standard_id`` with its ``reviewer``'s name; only
    ``people``'s when given."""
    only = " AND d.trainee_id IN (SELECT value FROM json_each(?))" if people is not None else ""
    out = {}
    for d in rows(db, f"""SELECT d.*, COALESCE(u.display_name, '') AS reviewer FROM credential_decisions d
                          LEFT JOIN users u ON u.id = d.reviewer_id WHERE d.standard_id = ?{only}
                          ORDER BY d.decided_at, d.id""",
                  (standard_id,) + ((json.dumps(sorted(people)),) if people is not None else ())):
        out[d["trainee_id"]] = d
    return out


def readiness_for(db: Database, library: Library, trainee_id: int, standard: CredentialStandard, today: _dt.date,
                  certified: Optional[dict] = None, viewer: Optional[User] = None):
    """(Readiness, Evidence) of one person for one standard, with the body's setting on
    uncertified raters' ratings (:func:`calibration.count_uncertified_ratings`); ratings the
    ``viewer`` is still blind to are left out. For a holder of the standard the readiness is
    the renewal readiness (:func:`holding.assess`)."""
    r, _, _, ev = assess_for(db, library, trainee_id, standard, today, certified=certified, viewer=viewer)
    return r, ev


def assess_for(db: Database, library: Library, trainee_id: int, standard: CredentialStandard, today: _dt.date,
               certified: Optional[dict] = None, viewer: Optional[User] = None):
    """(Readiness, Holding or None, status, Evidence) of one person for one standard (see
    :func:`readiness_for` and :func:`holding.assess`)."""
    hidden = frozenset(blind_session_ids(db, viewer)) if viewer is not None else frozenset()
    ev = build_evidence(db, library, trainee_id, today, certified=certified, hide_sessions=hidden)
    r, holding, status = assess(standard, ev, today, calibration.count_uncertified_ratings(db, library))
    return r, holding, status, ev


def holding_dict(holding: Optional[Holding]) -> Optional[dict]:
    """A held award as plain data for pages and exports (None when nothing is held)."""
    if holding is None:
        return None
    return {"decision_id": int(holding.decision_id) if holding.decision_id else None, "phase": holding.phase,
            "certified_on": holding.certified_on.isoformat(),
            "valid_until": holding.valid_until.isoformat() if holding.valid_until else None,
            "renewal_due": holding.renewal_due.isoformat() if holding.renewal_due else None, "text": holding.text()}


def default_standard_id(library: Library, user: User) -> Optional[str]:
    """The standard a person's readiness opens on: the one of their own role (rater: the
    fidelity rater standard; supervisor: the supervisor standard; otherwise the therapist one)."""
    return role_standard_id(library.standards, user.roles)


def my_readiness(db: Database, library: Library, viewer: User, person_id: int, today: _dt.date) -> list[dict]:
    """One person's readiness for every loaded standard (evidence read once): a list of
    {standard, readiness, status, next_steps, holding}, in the order of the standards' names.
    ``holding`` (a dict, see :func:`holding_dict`) is set for a standard the person holds; its
    readiness is then the renewal readiness."""
    if not (viewer.has("admin") or viewer.id == int(person_id) or int(person_id) in visible_trainee_ids(db, viewer)):
        raise ReviewError("You may see only your own readiness or your supervisees'.")
    ev = build_evidence(db, library, person_id, today, hide_sessions=frozenset(blind_session_ids(db, viewer)))
    count = calibration.count_uncertified_ratings(db, library)
    out = []
    for std in sorted(library.standards.values(), key=lambda s: s.name):
        r, holding, status = assess(std, ev, today, count)
        out.append({"standard": std, "readiness": r, "status": status, "next_steps": format_missing(r),
                    "holding": holding_dict(holding)})
    return out


def evidence_stamp(db: Database) -> str:
    """A cheap fingerprint of everything the cohort table reads; it changes whenever a person's
    evidence, a name, a role, a cohort, a supervision link or an assignment does, and never on
    a draft save (issue 16: the store's triggers keep ``evidence_changes``,
    :mod:`ipt_training.store_changes`).

    Pages pass it to a cache with the filter values; after a change, :func:`cohort_readiness`
    re-evaluates only the people whose evidence changed (:mod:`.readiness_cache`).
    """
    r = one(db, """SELECT seq, token FROM evidence_changes
                   WHERE seq = (SELECT MAX(seq) FROM evidence_changes) ORDER BY user_id LIMIT 1""") or {}
    return f"{r.get('seq')}:{r.get('token')}|{get_setting(db, calibration.SETTING_COUNT_UNCERTIFIED, '')}"


def cohort_readiness(db: Database, library: Library, standard_id: str, cohort_id: Optional[int], today: _dt.date,
                     *, viewer: Optional[User] = None, certified: Optional[dict] = None) -> list[dict]:
    """Every candidate's readiness for ``standard_id``: "ready for review" first, then by progress,
    holders of the credential last.

    Each row: trainee_id, username, trainee, cohort, progress (0..1), status, met, total,
    latest_decision (text), latest_decision_id, next_steps (list), ``readiness`` (the
    Readiness itself) and ``holding`` (:func:`holding_dict`, None for a candidate who holds no
    award; for a holder the readiness is the renewal readiness and the status 'held',
    'renewal due', 'expired' or 'ready for renewal review'). ``viewer``: when given and not an administrator, only the people they
    may see (their supervisees, themselves). Unknown standard or cohort: ReviewError.
    Only the people whose evidence changed since the last call are evaluated again
    (:func:`readiness_cache.assess_many`), and with nothing changed (same :func:`evidence_stamp`)
    the rows are shared (:func:`readiness_cache.cohort_rows`).
    """
    standard = standard_of(library, standard_id)
    if certified is not None:  # a caller's own certifications: evaluated as asked, not shared
        return _cohort_readiness(db, library, standard, cohort_id, today, viewer, certified)
    key = (evidence_stamp(db), standard.id, standard.content_hash, cohort_id, today,
           (viewer.id, tuple(sorted(viewer.roles))) if viewer is not None else None,
           readiness_cache.policies_key(library))
    return readiness_cache.cohort_rows(
        key, lambda: _cohort_readiness(db, library, standard, cohort_id, today, viewer, certified))


def _cohort_readiness(db: Database, library: Library, standard: CredentialStandard, cohort_id: Optional[int],
                      today: _dt.date, viewer: Optional[User], certified: Optional[dict], patch: bool = True) -> list[dict]:
    """The rows of :func:`cohort_readiness`, patched from the previous build of the same view
    when nobody's listing changed (issue 16: after one trainee's log entry at scale XL, one row
    of 10,000 is built again). A row is kept only when the person's evidence token, the GLOBAL
    and PEOPLE tokens, the body's setting and the person's cached assessment are all the ones it
    was built from; otherwise it is built again (:mod:`.readiness_cache`). ``patch=False``: every
    row built afresh (the tests' reference)."""
    view = (standard.id, standard.content_hash, cohort_id, today,
            (viewer.id, tuple(sorted(viewer.roles))) if viewer is not None else None, readiness_cache.policies_key(library))
    toks = readiness_cache.tokens(db)  # read first: the rows are never older than the tokens kept with them
    shared = (toks.get(GLOBAL), toks.get(PEOPLE), get_setting(db, calibration.SETTING_COUNT_UNCERTIFIED, ""))
    prev = readiness_cache.last_build(view) if certified is None and patch else None
    if prev is not None and prev["shared"] == shared:
        people, cohorts = prev["people"], prev["cohorts"]
    else:
        prev = None
        if cohort_id is not None and one(db, "SELECT 1 AS x FROM cohorts WHERE id = ?", (int(cohort_id),)) is None:
            raise ReviewError("This cohort does not exist any more; choose another.")
        people = candidates(db, standard, cohort_id)
        if viewer is not None and not viewer.has("admin"):
            allowed = set(visible_trainee_ids(db, viewer))
            people = [p for p in people if p["id"] in allowed]
        cohorts = _cohort_names(db)
    hidden = frozenset(blind_session_ids(db, viewer)) if viewer is not None else frozenset()
    ids = [p["id"] for p in people]
    assessed = readiness_cache.assess_many(db, library, standard, ids, today, hide_sessions=hidden,
                                           certified=certified, toks=toks)
    if prev is not None:
        before, was = prev["toks"], prev["assessed"]
        todo = [n for n, p in enumerate(ids) if was.get(p) is not assessed[p] or before.get(p) != toks.get(p)]
        by_id = dict(prev["rows"])
    else:
        todo, by_id = range(len(people)), {}
    latest = _latest_decisions(db, standard.id, [ids[n] for n in todo] if prev is not None else None) if todo else {}
    for n in todo:
        p = people[n]
        r, holding, status, next_steps = assessed[p["id"]]
        d = latest.get(p["id"])
        by_id[p["id"]] = {
            "trainee_id": p["id"], "username": p["username"], "trainee": p["display_name"],
            "cohort": cohorts.get(p["id"], ""), "standard_id": standard.id, "standard_version": standard.version,
            "progress": r.progress, "status": status, "met": r.met_count, "total": r.total,
            "latest_decision": decision_text(d), "latest_decision_id": d["id"] if d else None,
            "next_steps": list(next_steps), "readiness": r, "holding": holding_dict(holding),
        }

    def order(n: int) -> tuple:  # "ready for review" first, then by progress, then by name (then as listed)
        row = by_id[ids[n]]
        return STATUS_ORDER.get(row["status"], 9), -row["progress"], row["trainee"].lower(), n

    if prev is not None and len(todo) <= 64:  # a few rows changed: moved to their place, not all sorted again
        keys = list(prev["keys"])
        for n in todo:
            del keys[bisect.bisect_left(keys, prev["key_of"][n])]
            bisect.insort(keys, order(n))
    else:
        keys = sorted(order(n) for n in range(len(people)))
    out = [by_id[ids[k[-1]]] for k in keys]
    if certified is None:
        key_of = dict(prev["key_of"]) if prev is not None else {}
        key_of.update((n, order(n)) for n in (todo if prev is not None else range(len(people))))
        readiness_cache.keep_build(view, {"shared": shared, "people": people, "cohorts": cohorts, "toks": toks,
                                          "assessed": assessed, "rows": by_id, "keys": keys, "key_of": key_of})
    return out


def supervisee_readiness(db: Database, library: Library, supervisor: User, standard_id: str,
                         today: _dt.date) -> list[dict]:
    """:func:`cohort_readiness` of a supervisor's own supervisees only."""
    rows_ = cohort_readiness(db, library, standard_id, None, today, viewer=supervisor)
    return [r for r in rows_ if r["trainee_id"] != supervisor.id]


def find_in_cohort(rows_: Sequence[dict], text: str = "") -> list[dict]:
    """The :func:`cohort_readiness` rows whose name, username, cohort or status hold every word
    of ``text`` (ignoring case), in their order."""
    if not words(text):
        return list(rows_)
    return [r for r in rows_ if text_matches(text, r["trainee"], r["username"], r["cohort"], r["status"])]


def cohort_table(rows_: Sequence[dict]) -> pd.DataFrame:
    """The cohort rows as a display/CSV table (one row per person, one column per requirement)."""
    out = []
    for r in rows_:
        row = {"trainee": r["trainee"], "username": r["username"], "cohort": r["cohort"],
               "standard": r["standard_id"], "version": r["standard_version"], "status": r["status"],
               "requirements met": f"{r['met']} of {r['total']}", "progress %": round(r["progress"] * 100),
               "held": r["holding"]["text"] if r.get("holding") else "", "latest decision": r["latest_decision"]}
        for req in r["readiness"].requirements:
            row[req.requirement_id] = ("met: " if req.met else "not met: ") + req.current
        row["next steps"] = "; ".join(r["next_steps"])
        out.append(row)
    return pd.DataFrame(out)


def cohort_csv(rows_: Sequence[dict]) -> bytes:
    """CSV export of :func:`cohort_readiness` rows (UTF-8)."""
    return dataframe_to_csv(cohort_table(rows_))


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


def evidence_fingerprint(standard: CredentialStandard, ev: Any, today: _dt.date) -> str:
    """SHA-256 of the standard (id, content hash), the day evaluated and the evidence a decision is
    made on, less the person's awards of this same standard (which the decision itself changes).
    Two submissions of one decision on the same day and unchanged evidence have the same
    fingerprint (issue 14); a renewal weeks later on the same evidence does not."""
    data = _jsonable(ev)
    data["credentials_held"] = [h for h in data.get("credentials_held", []) if h.get("standard_id") != standard.id]
    data["first_awarded"] = {k: v for k, v in (data.get("first_awarded") or {}).items() if k != standard.id}
    text = json.dumps({"standard": [standard.id, standard.content_hash], "evaluated_on": today.isoformat(),
                       "evidence": data}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _insert_decision(db: Database, reviewer_id: int, trainee_id: int, standard: CredentialStandard, decision: str,
                     reasons: str, decided_at: str, expires_on: Optional[str], snapshot: dict) -> int:
    """Insert one decision; when the latest decision on this person and standard is the same
    decision on the same evidence fingerprint (``snapshot['fingerprint']``), return its id
    instead (checked inside the write transaction, so two racing submissions record one)."""
    with transaction(db):
        if snapshot.get("fingerprint"):
            same = _same_as_latest(db, trainee_id, standard, decision, snapshot["fingerprint"])
            if same is not None:
                return same
        did = db.conn.execute(
            """INSERT INTO credential_decisions (trainee_id, standard_id, standard_version, standard_hash, decision,
                   reasons, reviewer_id, decided_at, expires_on, evidence_snapshot) VALUES (?,?,?,?,?,?,?,?,?,?)""",
            (int(trainee_id), standard.id, standard.version, standard.content_hash, decision, reasons, int(reviewer_id),
             decided_at, expires_on, json.dumps(snapshot, sort_keys=True))).lastrowid
        audit(db, reviewer_id, f"credential_{decision}", "credential_decision", did,
              {"trainee_id": int(trainee_id), "standard_id": standard.id, "standard_version": standard.version,
               "expires_on": expires_on})
        notify(db, trainee_id, "credential_decision", _decision_words(standard, decision, reasons, expires_on),
               "my_readiness.py", {"mr_standard": standard.id})
    return did


def _decision_words(standard: CredentialStandard, decision: str, reasons: str, expires_on: Optional[str]) -> str:
    """The holder's inbox line for a decision on them."""
    if decision == "award":
        until = f", valid until {expires_on}" if expires_on else ""
        return f"You were awarded {standard.name}{until}." + (f" Reasons: {reasons}" if reasons else "")
    verb = "deferred" if decision == "defer" else "refused"
    return f"The decision on {standard.name} was recorded: {verb}. Reasons: {reasons}"


def decision_snapshot_of(db: Database, library: Library, person: User, standard: CredentialStandard,
                         today: _dt.date, extra: Optional[dict] = None) -> dict:
    """The snapshot stored with a decision: standard, holder, day, readiness (the renewal
    readiness for a holder), evidence and its :func:`evidence_fingerprint`."""
    readiness, ev = readiness_for(db, library, person.id, standard, today)
    return {
        "standard": {"id": standard.id, "name": standard.name, "version": standard.version,
                     "issuing_body": standard.issuing_body, "certifies": standard.certifies,
                     "validity_months": standard.validity_months, "content_hash": standard.content_hash,
                     "description": standard.description},
        "holder": {"id": person.id, "username": person.username, "display_name": person.display_name},
        "evaluated_on": today.isoformat(),
        "count_uncertified_ratings": calibration.count_uncertified_ratings(db, library),
        "readiness": _jsonable(readiness_to_dict(readiness)),
        "evidence": _jsonable(ev),
        "fingerprint": evidence_fingerprint(standard, ev, today),
        **(extra or {}),
    }


def _standing_holding(db: Database, person_id: int, standard: CredentialStandard, today: _dt.date
                      ) -> Optional[Holding]:
    d = standing_awards(db, person_id).get(standard.id)
    if d is None:
        return None
    held = HeldCredential(standard.id, award_day(d), _dt.date.fromisoformat(d["expires_on"]) if d["expires_on"] else None,
                          str(d["id"]))
    return holding_from(held, standard.renewal_window_days, today)


def record_decision(db: Database, reviewer: User, trainee_id: int, standard: CredentialStandard, decision: str,
                    reasons: str, today: _dt.date, *, library: Optional[Library] = None,
                    supersedes: Optional[int] = None) -> int:
    """Record an award, deferral or refusal; returns the decision id (append-only).

    The readiness is evaluated as of ``today``; an award takes effect on ``today`` (stored as
    ``evaluated_on`` in the snapshot) and expires ``validity_months`` later. ``decided_at`` is
    the actual time of recording.

    Issue 14: the same decision submitted again on unchanged evidence returns the first one's id
    and records nothing (:func:`evidence_fingerprint`). Awarding a credential the person holds
    and that is not yet due for renewal is refused. A renewal award, or a refusal that withdraws
    an award in force, supersedes that award: it raises :class:`ConfirmationNeeded` naming the
    award unless ``supersedes`` is its id.

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
        from ..fidelity import default_library

        library = default_library()
    snapshot = decision_snapshot_of(db, library, person, standard, today)
    duplicate = _same_as_latest(db, person.id, standard, decision, snapshot["fingerprint"])
    if duplicate is not None:
        return duplicate
    holding = _standing_holding(db, person.id, standard, today)
    in_force = holding is not None and holding.phase != "expired"
    if decision == "award" and in_force and holding.phase == HELD:
        raise ReviewError(f"{person.display_name} already holds {standard.name} (award {holding.decision_id}, "
                          f"{holding.text()}); a renewal can be recorded from {holding.renewal_due.isoformat()}."
                          if holding.renewal_due else
                          f"{person.display_name} already holds {standard.name} (award {holding.decision_id}, "
                          f"{holding.text()}); it does not expire, so there is nothing to renew.")
    if in_force and decision in ("award", "refuse") and str(supersedes or "") != holding.decision_id:
        what = "This renewal replaces" if decision == "award" else "This refusal withdraws"
        raise ConfirmationNeeded(f"{what} award {holding.decision_id} of {standard.name} to {person.display_name} "
                                 f"({holding.text()}). Confirm that it supersedes award {holding.decision_id} to "
                                 "record it.", int(holding.decision_id))
    readiness = snapshot["readiness"]
    if decision == "award" and not readiness["ready"] and not reasons:
        unmet = readiness["total"] - readiness["met_count"]
        raise ReviewError(f"{unmet} requirement(s) are not met yet. To award anyway, give the reasons the body "
                          "accepts the evidence; otherwise defer or refuse.")
    expires = add_months(today, standard.validity_months).isoformat() if decision == "award" else None
    did = _insert_decision(db, reviewer.id, person.id, standard, decision, reasons, now_iso(), expires, snapshot)
    if decision == "award":
        _issue_quietly(db, did)
    elif decision == "refuse" and in_force:  # a withdrawn award's credential is revoked with the reasons
        from .verifiable import revoke, revoked_ids

        if int(holding.decision_id) not in revoked_ids(db):
            revoke(db, holding.decision_id, f"Withdrawn by decision {did}: {reasons}"[:5000], reviewer.id)
    return did


def _issue_quietly(db: Database, decision_id: int) -> None:
    """Sign the award's credential now; a failure (say, an unreadable key) leaves the award
    recorded and is logged: the credential is signed on its first export instead."""
    import logging

    from .verifiable import credential_for

    try:
        credential_for(db, decision_id)
    except Exception:  # noqa: BLE001 - the decision is recorded either way
        logging.getLogger("ipt_training").exception("credential of award %s not signed yet", decision_id)


def _same_as_latest(db: Database, person_id: int, standard: CredentialStandard, decision: str,
                    fingerprint: str) -> Optional[int]:
    last = one(db, """SELECT id, decision, evidence_snapshot FROM credential_decisions
                      WHERE trainee_id = ? AND standard_id = ? ORDER BY decided_at DESC, id DESC LIMIT 1""",
               (int(person_id), standard.id))
    if last and last["decision"] == decision and \
            json.loads(last["evidence_snapshot"] or "{}").get("fingerprint") == fingerprint:
        return last["id"]
    return None


def _decision_state(d: dict, standing: dict[str, dict], today: _dt.date, revoked: frozenset = frozenset()) -> str:
    if d["decision"] != "award":
        return ""
    if d["id"] in revoked:
        return "revoked"
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
    revoked = frozenset(r["decision_id"] for r in rows(db, "SELECT decision_id FROM credential_revocations"))
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
        d["state"] = _decision_state(d, standing, today, revoked)
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


def renewal_reminders(db: Database, library: Library, today: _dt.date, within_days: int = 90,
                      user_id: Optional[int] = None) -> list[dict]:
    """Held awards that expire within ``within_days`` of ``today`` or have expired, soonest first;
    ``user_id``: only that person's.

    An award superseded by a later award (a renewal) or withdrawn by a refusal is not listed.
    Every person's standing awards are read in one query (issue 16: Home asks on every visit).
    """
    horizon = today + _dt.timedelta(days=int(within_days))
    only = " AND d.trainee_id = ?" if user_id is not None else ""
    found: dict[int, list[dict]] = {}
    for d in rows(db, f"""SELECT d.id, d.trainee_id, d.standard_id, d.decision, d.decided_at, d.expires_on,
                                 {_EVALUATED_ON} AS evaluated_on, COALESCE(u.username, '') AS username,
                                 COALESCE(u.display_name, '') AS display_name
                          FROM credential_decisions d LEFT JOIN users u ON u.id = d.trainee_id
                          WHERE d.decision IN ('award', 'refuse') AND d.{_NOT_REVOKED}{only}
                          ORDER BY d.decided_at, d.id""", (int(user_id),) if user_id is not None else ()):
        found.setdefault(d["trainee_id"], []).append(d)
    out = []
    for tid in sorted(found):
        for d in _standing(found[tid]).values():
            if not d["expires_on"]:
                continue
            expires = _dt.date.fromisoformat(d["expires_on"])
            if expires > horizon:
                continue
            days = (expires - today).days
            std = library.standards.get(d["standard_id"])
            out.append({
                "trainee_id": d["trainee_id"], "trainee": d["display_name"],
                "username": d["username"], "standard_id": d["standard_id"],
                "standard": std.name if std else d["standard_id"], "decision_id": d["id"],
                "awarded_on": _award_day(d["evaluated_on"], d["decided_at"]).isoformat(),
                "expires_on": d["expires_on"], "days_left": days,
                "status": (f"expired {-days} day(s) ago" if days < 0 else
                           "expires today" if days == 0 else f"expires in {days} day(s)"),
            })
    return sorted(out, key=lambda r: (r["expires_on"], r["trainee"]))
