"""Credential evidence in the store: what trainees log, what supervisors confirm (issue 6).

Trainees (and their supervisors or an administrator, on their behalf) record training events,
supervised clinical hours, IPT cases with symptom scores by session, and supervision sessions.
An entry counts toward a credential only once the trainee's *linked* supervisor (or an
administrator) has confirmed it; editing a confirmed entry clears the confirmation, because
the supervisor confirmed what it said before. Every confirmation is written to the audit log.

``build_evidence`` assembles everything the pure readiness engine (:mod:`credentials`) reads:

* the logged entries above, each with its ``confirmed`` flag;
* rated sessions: every SUBMITTED rating of kind ``rater`` of the trainee's own recorded
  sessions (never gold-standard calibration sessions, which are stored under a trainee too).
  Ratings of a session whose recording was later deleted still count: the recording is gone
  but the rating was made on it and stays on record. A rating links to a case by the
  session's ``case_id``, or, when that is empty (the session was added before the case was
  logged), by the case pseudonym. ``rater_certified`` is the rater's certification on the
  rating's instrument as of ``today`` (:func:`calibration.certified_raters`);
* vignette results: submitted attempts, final once graded (:func:`vignette_results`);
* credentials held: per standard, the latest ``award`` decision, unless a later ``refuse``
  decision for the same standard withdrew it. A later ``defer`` does not withdraw an award
  (it postpones a further decision, such as a renewal). Expiry is checked by the engine;
* the trainee's own rater certification, for rater and supervisor standards.

Certificates of attendance are stored as files under ``settings.files_dir`` with
content-addressed names (``<sha256>.<ext>``); only PDF, PNG and JPEG files are accepted, up
to ``MAX_CERTIFICATE_BYTES``, checked by extension and by the bytes.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from pathlib import Path
from typing import Any, Iterable, Optional

from sqlite_utils import Database

from .. import files
from ..auth import User, get_user, supervisee_ids
from ..config import Settings
from ..content import POPULATIONS, PROBLEM_AREAS, TRAINING_CATEGORIES
from ..notifications import notify
from ..store import audit, now_iso, one, rows, transaction

MAX_CERTIFICATE_BYTES = 10 * 1024 * 1024
CERTIFICATE_TYPES = {  # extension -> (media type, magic bytes at the start of the file)
    ".pdf": ("application/pdf", b"%PDF-"),
    ".png": ("image/png", b"\x89PNG\r\n\x1a\n"),
    ".jpg": ("image/jpeg", b"\xff\xd8\xff"),
    ".jpeg": ("image/jpeg", b"\xff\xd8\xff"),
}
_STORED_NAME = files.stored_name_pattern(("pdf", "png", "jpg"))

# the tables a supervisor confirms, with the words a person uses for one entry
ENTRY_TABLES = {
    "training_events": "training event",
    "clinical_hours": "clinical hours entry",
    "clinical_cases": "case",
    "supervision_sessions": "supervision session",
}
AWAITING = "awaiting supervisor confirmation"
MAX_HOURS = {"training_events": 100.0, "clinical_hours": 2000.0, "supervision_sessions": 24.0}
MAX_SESSIONS = 200
MAX_TEXT = 200
MAX_PSEUDONYM = 60
# published ranges of common symptom measures; other measures are accepted with any score >= 0
MEASURE_RANGES = {"phq9": ("PHQ-9", 0, 27), "gad7": ("GAD-7", 0, 21), "hamd": ("HAM-D", 0, 52),
                  "hamd17": ("HAM-D", 0, 52), "bdiii": ("BDI-II", 0, 63), "epds": ("EPDS", 0, 30),
                  "phqa": ("PHQ-A", 0, 27), "gds15": ("GDS-15", 0, 15)}
MEASURES = ("PHQ-9", "PHQ-A", "EPDS", "GDS-15", "GAD-7", "HAM-D", "BDI-II")


class EvidenceError(Exception):
    """Something the user can fix; the message says what to do."""


# --- small helpers -----------------------------------------------------------------------


def _measure_key(measure: str) -> str:
    return re.sub(r"[^a-z0-9]", "", (measure or "").lower())


def _as_date(value: Any, what: str) -> _dt.date:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    try:
        return _dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise EvidenceError(f"Give the {what} as a date (YYYY-MM-DD).") from None


def _past_date(value: Any, what: str, today: Optional[_dt.date]) -> str:
    day = _as_date(value, what)
    today = today or _dt.date.today()
    if day > today:
        raise EvidenceError(f"The {what} ({day.isoformat()}) is in the future; log an entry once it has happened.")
    if day.year < 1950:
        raise EvidenceError(f"The {what} ({day.isoformat()}) looks wrong; check the year.")
    return day.isoformat()


def _hours(value: Any, table: str) -> float:
    try:
        hours = float(value)
    except (TypeError, ValueError):
        raise EvidenceError("Give the hours as a number, for example 1.5.") from None
    if not hours > 0:
        raise EvidenceError("The hours must be more than 0.")
    if hours > MAX_HOURS[table]:
        raise EvidenceError(f"{hours:g} hours is more than one {ENTRY_TABLES[table]} can hold (at most "
                            f"{MAX_HOURS[table]:g}); split it into several entries.")
    return round(hours, 2)


def _text(value: Any, what: str, required: bool = True, limit: int = MAX_TEXT) -> str:
    text = " ".join(str(value or "").split())
    if required and not text:
        raise EvidenceError(f"Give the {what}.")
    if len(text) > limit:
        raise EvidenceError(f"Keep the {what} under {limit} characters.")
    return text


def _entry(db: Database, table: str, entry_id: int) -> dict:
    if table not in ENTRY_TABLES:
        raise EvidenceError(f"Unknown kind of entry {table!r}.")
    row = one(db, f"SELECT * FROM {table} WHERE id = ?", (int(entry_id),))
    if row is None:
        raise EvidenceError(f"This {ENTRY_TABLES[table]} does not exist any more; reload the page.")
    return row


def may_view(db: Database, viewer: User, trainee_id: int) -> bool:
    """The trainee, their linked supervisors, and administrators see a trainee's evidence."""
    if viewer.has("admin") or viewer.id == int(trainee_id):
        return True
    return viewer.has("supervisor") and int(trainee_id) in supervisee_ids(db, viewer.id)


def _may_record(db: Database, actor: User, trainee_id: int) -> None:
    if actor.has("admin"):
        pass
    elif actor.id == int(trainee_id) and actor.has("trainee"):
        pass
    elif actor.has("supervisor") and int(trainee_id) in supervisee_ids(db, actor.id):
        pass
    else:
        raise EvidenceError("You can log evidence only for yourself (trainee) or your supervisees (supervisor).")
    if get_user(db, trainee_id) is None:
        raise EvidenceError("This trainee does not exist; choose another.")


def _may_confirm(db: Database, actor: User, trainee_id: int) -> None:
    if actor.id == int(trainee_id):
        raise EvidenceError("You cannot confirm your own entries; your supervisor confirms them.")
    if actor.has("admin"):
        return
    if actor.has("supervisor") and int(trainee_id) in supervisee_ids(db, actor.id):
        return
    raise EvidenceError("Only the trainee's linked supervisor or an administrator can confirm this entry; "
                        "ask an administrator to link you as the trainee's supervisor.")


# --- certificates ------------------------------------------------------------------------


def check_certificate(file_name: str, data: bytes, max_bytes: int = MAX_CERTIFICATE_BYTES) -> tuple[str, str]:
    """Refuse a certificate that is not a PDF, PNG or JPEG, is empty or too large.

    Returns ``(extension, media type)``; ``.jpeg`` is stored as ``.jpg``. The type is checked
    by the file name's extension and by the file's first bytes, so a renamed document is refused.
    """
    shown = os.path.basename((file_name or "").replace("\\", "/")) or "certificate"
    ext = os.path.splitext(shown.lower())[1]
    if ext not in CERTIFICATE_TYPES:
        raise EvidenceError(f"'{shown}' is not a PDF, PNG or JPEG file; upload the certificate as .pdf, .png or .jpg.")
    if not data:
        raise EvidenceError(f"'{shown}' is empty (0 bytes); choose the certificate file again.")
    if len(data) > max_bytes:
        raise EvidenceError(f"'{shown}' is {len(data) / 1048576:.1f} MB, over the limit of "
                            f"{max_bytes / 1048576:.0f} MB; upload a smaller scan or a PDF.")
    media_type, magic = CERTIFICATE_TYPES[ext]
    if not data.startswith(magic):
        raise EvidenceError(f"'{shown}' is named {ext} but does not hold {ext.lstrip('.').upper()} data; "
                            "upload the original file (renaming a file does not convert it).")
    return (".jpg" if ext == ".jpeg" else ext), media_type


def _store_certificate(settings: Settings, data: bytes, ext: str) -> str:
    return files.store(settings.files_dir, data, ext, _STORED_NAME)


def _certificate_path(settings: Settings, stored: Optional[str]) -> Optional[Path]:
    return files.stored_path(settings.files_dir, stored, _STORED_NAME)


def certificate_file(db: Database, settings: Settings, viewer: User, event_id: int) -> tuple[bytes, str, str]:
    """The certificate of a training event: (bytes, media type, download name)."""
    ev = _entry(db, "training_events", event_id)
    if not may_view(db, viewer, ev["trainee_id"]):
        raise EvidenceError("You may not open this certificate.")
    path = _certificate_path(settings, ev["certificate_file"])
    if path is None or not path.exists():
        raise EvidenceError("This training event has no certificate file; upload one with a new entry.")
    ext = path.suffix
    media = CERTIFICATE_TYPES[ext][0]
    return path.read_bytes(), media, f"certificate-{ev['date']}-{ev['id']}{ext}"


# --- recording entries -------------------------------------------------------------------


def record_training_event(db: Database, settings: Settings, actor: User, trainee_id: int, date: Any, hours: Any,
                          title: str, trainer: str, certificate: Optional[tuple[str, bytes]] = None,
                          today: Optional[_dt.date] = None, category: str = "other") -> int:
    """Log a training event (course, workshop) of a ``TRAINING_CATEGORIES`` kind;
    ``certificate``: optional (file name, bytes)."""
    _may_record(db, actor, trainee_id)
    if category not in TRAINING_CATEGORIES:
        raise EvidenceError(f"Choose the kind of training: {', '.join(TRAINING_CATEGORIES.values())}.")
    day = _past_date(date, "date of the training", today)
    hrs = _hours(hours, "training_events")
    title = _text(title, "title of the training")
    trainer = _text(trainer, "trainer's name")
    stored = None
    if certificate is not None:
        name, data = certificate
        ext, _ = check_certificate(name, data, settings.max_certificate_bytes)
        stored = _store_certificate(settings, data, ext)
    with transaction(db):
        eid = db.conn.execute(
            "INSERT INTO training_events (trainee_id, date, hours, title, trainer, certificate_file, category, created_at) "
            "VALUES (?,?,?,?,?,?,?,?)", (int(trainee_id), day, hrs, title, trainer, stored, category, now_iso())).lastrowid
        audit(db, actor.id, "record_training_event", "training_event", eid,
              {"trainee_id": int(trainee_id), "hours": hrs, "certificate": stored})
    return eid


def record_clinical_hours(db: Database, actor: User, trainee_id: int, date: Any, hours: Any, setting: str = "",
                          today: Optional[_dt.date] = None) -> int:
    """Log supervised clinical practice (any modality); ``date`` is the day (or end of the period)."""
    _may_record(db, actor, trainee_id)
    day = _past_date(date, "date", today)
    hrs = _hours(hours, "clinical_hours")
    setting = _text(setting, "setting", required=False)
    with transaction(db):
        eid = db.conn.execute("INSERT INTO clinical_hours (trainee_id, date, hours, setting, created_at) VALUES (?,?,?,?,?)",
                              (int(trainee_id), day, hrs, setting, now_iso())).lastrowid
        audit(db, actor.id, "record_clinical_hours", "clinical_hours", eid, {"trainee_id": int(trainee_id), "hours": hrs})
    return eid


def _clean_scores(scores: Iterable, n_sessions: int) -> list[tuple[int, str, float]]:
    out: dict[tuple[int, str], tuple[int, str, float]] = {}
    for entry in scores or ():
        if isinstance(entry, dict):
            session, measure, score = entry.get("session_number"), entry.get("measure"), entry.get("score")
        else:
            session, measure, score = entry
        try:
            session = int(session)
        except (TypeError, ValueError):
            raise EvidenceError("Give the session number of each symptom score as a whole number.") from None
        if not 1 <= session <= max(n_sessions, 0):
            raise EvidenceError(f"A symptom score is given for session {session}, but the case has "
                                f"{n_sessions} session(s); raise the number of sessions or fix the session number.")
        measure = _text(measure, "measure (for example PHQ-9)", limit=40)
        known = MEASURE_RANGES.get(_measure_key(measure))
        if known:
            measure = known[0]
        try:
            value = float(score)
        except (TypeError, ValueError):
            raise EvidenceError(f"Give the {measure} score as a number.") from None
        low, high = (known[1], known[2]) if known else (0, 10_000)
        if not low <= value <= high:
            raise EvidenceError(f"A {measure} score must be between {low} and {high}; got {value:g}.")
        out[(session, _measure_key(measure))] = (session, measure, value)
    return sorted(out.values())


def record_case(db: Database, actor: User, trainee_id: int, pseudonym: str, problem_area: str, start_date: Any,
                end_date: Any = None, n_sessions: Any = 0, symptom_scores: Iterable = (),
                today: Optional[_dt.date] = None, population: str = "adult") -> int:
    """Log a supervised IPT case. ``symptom_scores``: (session_number, measure, score) or dicts;
    ``population`` (a ``POPULATIONS`` key) names the outcome measure a standard asks for."""
    _may_record(db, actor, trainee_id)
    if population not in POPULATIONS:
        raise EvidenceError(f"Choose the population: {', '.join(POPULATIONS.values())}.")
    pseudonym = _text(pseudonym, "case pseudonym (for example 'Case A'; never the client's name)", limit=MAX_PSEUDONYM)
    if problem_area not in PROBLEM_AREAS:
        raise EvidenceError(f"Choose the problem area: {', '.join(PROBLEM_AREAS.values())}.")
    start = _past_date(start_date, "start date", today)
    end = _past_date(end_date, "end date", today) if end_date not in (None, "") else None
    if end and end < start:
        raise EvidenceError("The end date is before the start date; fix one of them.")
    n = _n_sessions(n_sessions)
    scores = _clean_scores(symptom_scores, n)
    if one(db, "SELECT id FROM clinical_cases WHERE trainee_id = ? AND lower(pseudonym) = lower(?)",
           (int(trainee_id), pseudonym)):
        raise EvidenceError(f"A case called '{pseudonym}' is already logged; update that case or choose another pseudonym.")
    with transaction(db):
        cid = db.conn.execute(
            "INSERT INTO clinical_cases (trainee_id, pseudonym, problem_area, start_date, end_date, n_sessions, population, "
            "created_at) VALUES (?,?,?,?,?,?,?,?)",
            (int(trainee_id), pseudonym, problem_area, start, end, n, population, now_iso())).lastrowid
        db.conn.executemany("INSERT INTO symptom_scores (case_id, session_number, measure, score) VALUES (?,?,?,?)",
                            [(cid, s, m, v) for s, m, v in scores])
        audit(db, actor.id, "record_case", "clinical_case", cid,
              {"trainee_id": int(trainee_id), "n_sessions": n, "scores": len(scores)})
    return cid


def _n_sessions(value: Any) -> int:
    try:
        n = int(value or 0)
    except (TypeError, ValueError):
        raise EvidenceError("Give the number of sessions as a whole number.") from None
    if not 0 <= n <= MAX_SESSIONS:
        raise EvidenceError(f"The number of sessions must be between 0 and {MAX_SESSIONS}.")
    return n


def update_case(db: Database, actor: User, case_id: int, n_sessions: Any = None, end_date: Any = "keep",
                add_scores: Iterable = (), today: Optional[_dt.date] = None) -> None:
    """Bring a case up to date (more sessions, an end date, new symptom scores).

    A confirmed case loses its confirmation: the supervisor confirms the case as it now stands.
    """
    case = _entry(db, "clinical_cases", case_id)
    _may_record(db, actor, case["trainee_id"])
    n = case["n_sessions"] if n_sessions is None else _n_sessions(n_sessions)
    end = case["end_date"]
    if end_date != "keep":
        end = _past_date(end_date, "end date", today) if end_date not in (None, "") else None
    if end and end < case["start_date"]:
        raise EvidenceError("The end date is before the start date of the case; fix it.")
    scores = _clean_scores(add_scores, n)
    highest = one(db, "SELECT MAX(session_number) AS m FROM symptom_scores WHERE case_id = ?", (case["id"],))["m"]
    if highest and n < highest:
        raise EvidenceError(f"A symptom score is recorded for session {highest}; the case cannot have fewer sessions.")
    changed = (n != case["n_sessions"]) or (end != case["end_date"]) or bool(scores)
    if not changed:
        return
    with transaction(db):
        db.conn.execute("UPDATE clinical_cases SET n_sessions = ?, end_date = ?, confirmed_by = NULL, confirmed_at = NULL "
                        "WHERE id = ?", (n, end, case["id"]))
        db.conn.executemany(
            "INSERT INTO symptom_scores (case_id, session_number, measure, score) VALUES (?,?,?,?) "
            "ON CONFLICT(case_id, session_number, measure) DO UPDATE SET score = excluded.score",
            [(case["id"], s, m, v) for s, m, v in scores])
        audit(db, actor.id, "update_case", "clinical_case", case["id"],
              {"n_sessions": n, "end_date": end, "scores_added": len(scores),
               "confirmation_cleared": case["confirmed_by"] is not None})


def record_supervision(db: Database, actor: User, trainee_id: int, supervisor_name: str, date: Any, hours: Any,
                       case_id: Optional[int] = None, notes: str = "", today: Optional[_dt.date] = None) -> int:
    """Log a supervision (consultation) session, optionally about one of the trainee's cases."""
    _may_record(db, actor, trainee_id)
    name = _text(supervisor_name, "supervisor's name")
    day = _past_date(date, "date of the supervision", today)
    hrs = _hours(hours, "supervision_sessions")
    if case_id is not None:
        case = one(db, "SELECT trainee_id FROM clinical_cases WHERE id = ?", (int(case_id),))
        if case is None or case["trainee_id"] != int(trainee_id):
            raise EvidenceError("Choose one of the trainee's own cases, or none.")
    notes = _text(notes, "notes", required=False, limit=2000)
    with transaction(db):
        eid = db.conn.execute(
            "INSERT INTO supervision_sessions (trainee_id, supervisor_name, date, hours, case_id, notes, created_at) "
            "VALUES (?,?,?,?,?,?,?)",
            (int(trainee_id), name, day, hrs, int(case_id) if case_id is not None else None, notes, now_iso())).lastrowid
        audit(db, actor.id, "record_supervision", "supervision_session", eid,
              {"trainee_id": int(trainee_id), "hours": hrs, "case_id": case_id})
    return eid


def delete_entry(db: Database, actor: User, table: str, entry_id: int) -> None:
    """Remove a mistaken entry. Confirmed entries stay (they are on record); ask an administrator."""
    row = _entry(db, table, entry_id)
    _may_record(db, actor, row["trainee_id"])
    if row["confirmed_by"] is not None and not actor.has("admin"):
        raise EvidenceError(f"This {ENTRY_TABLES[table]} is confirmed and stays on record; ask an administrator "
                            "to remove it if it is wrong.")
    if table == "clinical_cases" and one(db, "SELECT 1 AS x FROM supervision_sessions WHERE case_id = ?", (row["id"],)):
        raise EvidenceError("Supervision sessions are logged for this case; remove them first.")
    with transaction(db):
        db.conn.execute(f"DELETE FROM {table} WHERE id = ?", (row["id"],))
        audit(db, actor.id, "delete_evidence_entry", table, row["id"], {"trainee_id": row["trainee_id"]})


def confirm_entry(db: Database, supervisor: User, table: str, entry_id: int) -> bool:
    """Confirm a supervisee's entry; only their linked supervisor or an administrator may.

    Returns False when the entry was already confirmed (nothing changes), True otherwise.
    """
    row = _entry(db, table, entry_id)
    _may_confirm(db, supervisor, row["trainee_id"])
    if row["confirmed_by"] is not None:
        return False
    with transaction(db):
        db.conn.execute(f"UPDATE {table} SET confirmed_by = ?, confirmed_at = ? WHERE id = ? AND confirmed_by IS NULL",
                        (supervisor.id, now_iso(), row["id"]))
        audit(db, supervisor.id, "confirm_evidence", table, row["id"], {"trainee_id": row["trainee_id"]})
        notify(db, row["trainee_id"], "evidence_confirmed",
               f"{supervisor.display_name} confirmed your {ENTRY_TABLES[table]}: {entry_summary(table, row)}. "
               "It now counts toward your credential.", "my_evidence.py")
    return True


# --- listing -----------------------------------------------------------------------------


def _status(row: dict) -> str:
    if row["confirmed_by"] is None:
        return AWAITING
    return f"confirmed by {row['confirmer'] or 'a supervisor'} on {(row['confirmed_at'] or '')[:10]}"


def list_entries(db: Database, viewer: User, trainee_id: int) -> dict[str, list[dict]]:
    """A trainee's logged evidence per table, newest first, each with a ``status`` in words.

    Cases carry their ``symptom_scores`` (session_number, measure, score) and ``rated_sessions``
    (recorded sessions of the case with submitted rater ratings).
    """
    if not may_view(db, viewer, trainee_id):
        raise EvidenceError("You may see only your own evidence or your supervisees'.")
    tid = int(trainee_id)
    conf = "LEFT JOIN users cu ON cu.id = e.confirmed_by"
    out = {
        "training_events": rows(db, f"SELECT e.*, cu.display_name AS confirmer FROM training_events e {conf} "
                                    "WHERE e.trainee_id = ? ORDER BY e.date DESC, e.id DESC", (tid,)),
        "clinical_hours": rows(db, f"SELECT e.*, cu.display_name AS confirmer FROM clinical_hours e {conf} "
                                   "WHERE e.trainee_id = ? ORDER BY e.date DESC, e.id DESC", (tid,)),
        "clinical_cases": rows(db, f"SELECT e.*, cu.display_name AS confirmer FROM clinical_cases e {conf} "
                                   "WHERE e.trainee_id = ? ORDER BY e.start_date DESC, e.id DESC", (tid,)),
        "supervision_sessions": rows(db, f"""SELECT e.*, cu.display_name AS confirmer, c.pseudonym AS case_pseudonym
                                        FROM supervision_sessions e {conf} LEFT JOIN clinical_cases c ON c.id = e.case_id
                                        WHERE e.trainee_id = ? ORDER BY e.date DESC, e.id DESC""", (tid,)),
    }
    scores = rows(db, """SELECT s.case_id, s.session_number, s.measure, s.score FROM symptom_scores s
                         JOIN clinical_cases c ON c.id = s.case_id WHERE c.trainee_id = ?
                         ORDER BY s.session_number, s.measure""", (tid,))
    sessions = _rated_session_rows(db, tid)
    for table, entries in out.items():
        for e in entries:
            e["status"] = _status(e)
            e["confirmed"] = e["confirmed_by"] is not None
            e["kind"] = ENTRY_TABLES[table]
    index = _case_index(out["clinical_cases"])
    for c in out["clinical_cases"]:
        c["symptom_scores"] = [(s["session_number"], s["measure"], s["score"]) for s in scores if s["case_id"] == c["id"]]
        c["rated_sessions"] = sorted({(r["session_number"], r["phase"]) for r in sessions
                                      if _case_of(r, index) == c["id"]})
    return out


def unconfirmed_entries(db: Database, viewer: User, trainee_id: int) -> list[dict]:
    """The trainee's entries still awaiting confirmation, as one list with a ``table`` and ``summary``."""
    out = []
    for table, entries in list_entries(db, viewer, trainee_id).items():
        for e in entries:
            if not e["confirmed"]:
                out.append({"table": table, "id": e["id"], "kind": ENTRY_TABLES[table], "summary": entry_summary(table, e)})
    return out


_UNCONFIRMED = {  # each table's entries awaiting confirmation, newest first, as list_entries orders them
    "training_events": ("", "e.date DESC, e.id DESC"),
    "clinical_hours": ("", "e.date DESC, e.id DESC"),
    "clinical_cases": ("", "e.start_date DESC, e.id DESC"),
    "supervision_sessions": (", c.pseudonym AS case_pseudonym", "e.date DESC, e.id DESC"),
}


def entries_to_confirm(db: Database, confirmer: User) -> list[dict]:
    """Every entry awaiting ``confirmer``'s confirmation, across all their supervisees (issue 17:
    Home and the Supervisees page count the same list): :func:`unconfirmed_entries` rows, each
    with ``trainee_id`` and ``trainee``, by supervisee name. One query per kind of entry for all
    supervisees, through the partial indexes of unconfirmed entries (issue 16: a supervisor's
    Home at scale XL must not read every supervisee's whole log)."""
    if not confirmer.has("supervisor"):
        return []
    found: dict[tuple[int, str], list[dict]] = {}
    people: dict[int, str] = {}
    for table, (extra, order) in _UNCONFIRMED.items():
        case = " LEFT JOIN clinical_cases c ON c.id = e.case_id" if table == "supervision_sessions" else ""
        for e in rows(db, f"""SELECT e.*{extra}, u.display_name AS trainee FROM supervision_links l
                              JOIN users u ON u.id = l.trainee_id JOIN {table} e ON e.trainee_id = l.trainee_id{case}
                              WHERE l.supervisor_id = ? AND l.trainee_id <> ? AND e.confirmed_by IS NULL
                              ORDER BY {order}""", (confirmer.id, confirmer.id)):
            people[e["trainee_id"]] = e["trainee"]
            found.setdefault((e["trainee_id"], table), []).append(
                {"table": table, "id": e["id"], "kind": ENTRY_TABLES[table], "summary": entry_summary(table, e),
                 "trainee_id": e["trainee_id"], "trainee": e["trainee"]})
    return [entry for tid in sorted(people, key=lambda t: (people[t], t)) for table in _UNCONFIRMED
            for entry in found.get((tid, table), [])]


def entry_summary(table: str, e: dict) -> str:
    """One line describing an entry, in the field's words."""
    if table == "training_events":
        return f"{e['date']}: {e['title']} ({e['trainer']}), {e['hours']:g} h"
    if table == "clinical_hours":
        return f"{e['date']}: {e['hours']:g} h of supervised clinical practice" + (f" ({e['setting']})" if e["setting"] else "")
    if table == "clinical_cases":
        end = f" to {e['end_date']}" if e["end_date"] else " (ongoing)"
        return (f"Case '{e['pseudonym']}', {PROBLEM_AREAS.get(e['problem_area'], e['problem_area'])}, "
                f"{e['n_sessions']} session(s), from {e['start_date']}{end}")
    about = f", case '{e['case_pseudonym']}'" if e.get("case_pseudonym") else ""
    return f"{e['date']}: {e['hours']:g} h with {e['supervisor_name']}{about}"


# --- assembling the evidence (:mod:`.evidence_read`) ------------------------------------

from .evidence_read import (  # noqa: E402,F401  (re-exported)
    _NOT_REVOKED,
    _case_index,
    _case_of,
    _day,
    _rated_session_rows,
    _standing,
    award_day,
    build_evidence,
    build_evidence_many,
    content_names,
    standing_awards,
    vignette_results,
    vignette_results_many,
)
