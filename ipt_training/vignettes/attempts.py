"""Attempts and drafts in the store: start, save as the trainee types, reveal stages, submit, grade, and what each person may read (the key only after submit).
"""

from __future__ import annotations

import json
from typing import Optional
from sqlite_utils import Database
from ..auth import User, supervisee_ids
from ..content import (
    GradedCriterion,
    Library,
    Vignette,
    VignetteRubric,
)
from ..finding import PAGE_SIZE, sql_day_range, sql_folded, words
from ..notifications import notify
from ..store import audit, now_iso, one, rows, transaction
from .scoring import FOCUS_PARTS, focus_commit_stage, primary_choice, _check_ranking, AttemptAccessError, GradeError, STATUS_LABELS, VignetteError, _drop_stale_moments, apply_grades, clean_answers, clean_grades, empty_answers, expert_key, public_case, score_attempt


def _load(row: dict) -> dict:
    att = dict(row)
    att["answers"] = json.loads(att.get("answers") or "{}")
    att["grades"] = json.loads(att["grades"]) if att.get("grades") else {}
    att["auto_scores"] = json.loads(att["auto_scores"]) if att.get("auto_scores") else None
    return att


def get_attempt(db: Database, attempt_id: int) -> Optional[dict]:
    row = one(db, "SELECT * FROM vignette_attempts WHERE id = ?", (attempt_id,))
    return _load(row) if row else None


def offered_vignette(library: Library, vignette_id: str) -> tuple[Vignette, VignetteRubric]:
    """The vignette and its rubric if both validated; otherwise a VignetteError."""
    v = library.vignettes.get(vignette_id)
    if v is None or v.rubric not in library.rubrics:
        raise VignetteError(f"Vignette '{vignette_id}' is not offered at the moment (it does not exist or its "
                            "file failed validation). Choose another vignette from the library.")
    return v, library.rubrics[v.rubric]


def _require_trainee(user: User) -> None:
    if not user.has("trainee"):
        raise AttemptAccessError("Only trainees work on vignette attempts; sign in with a trainee account.")


def _own_draft(db: Database, user: User, attempt_id: int) -> dict:
    att = get_attempt(db, attempt_id)
    if att is None or att["trainee_id"] != user.id:
        raise AttemptAccessError("This attempt is not yours; open your own attempt from the vignette library.")
    if att["status"] != "draft":
        raise VignetteError("This attempt has been submitted and can no longer change; start a retake to try again.")
    return att


def current_draft(db: Database, trainee_id: int, vignette_id: str) -> Optional[dict]:
    row = one(db, "SELECT * FROM vignette_attempts WHERE trainee_id = ? AND vignette_id = ? AND status = 'draft'",
              (trainee_id, vignette_id))
    return _load(row) if row else None


def start_attempt(db: Database, library: Library, user: User, vignette_id: str) -> dict:
    """Resume the trainee's draft of this vignette, or start one (a retake after a submission).

    One draft per trainee and vignette (also enforced by a unique index). The draft records
    the vignette and rubric id and content hash it was started on.
    """
    _require_trainee(user)
    vignette, rubric = offered_vignette(library, vignette_id)
    with transaction(db):
        row = one(db, "SELECT id FROM vignette_attempts WHERE trainee_id = ? AND vignette_id = ? AND status = 'draft'",
                  (user.id, vignette_id))
        if row:
            attempt_id = row["id"]
        else:
            now = now_iso()
            attempt_id = db.conn.execute(
                """INSERT INTO vignette_attempts (trainee_id, vignette_id, vignette_hash, rubric_id, rubric_hash, status,
                   answers, stages_revealed, created_at, updated_at) VALUES (?,?,?,?,?, 'draft', ?, 1, ?, ?)""",
                (user.id, vignette.id, vignette.content_hash, rubric.id, rubric.content_hash,
                 json.dumps(empty_answers()), now, now)).lastrowid
            audit(db, user.id, "start_vignette_attempt", "vignette_attempt", attempt_id, {"vignette_id": vignette.id})
    return get_attempt(db, attempt_id)


def save_draft(db: Database, library: Library, user: User, attempt_id: int, answers: dict) -> dict:
    """Store the draft's answers as they are now (called on every change in the workspace).

    Once the focus is committed, the problem areas, ranking, dispute stage and formulation can
    no longer change; an attempt to change them is refused with a sentence.
    """
    att = _own_draft(db, user, attempt_id)
    vignette, _ = offered_vignette(library, att["vignette_id"])
    cleaned = clean_answers(vignette, answers)
    if att.get("focus_committed_at"):
        stored = clean_answers(vignette, _drop_stale_moments(vignette, att["answers"]))
        changed = [p for p in FOCUS_PARTS if cleaned[p] != stored[p]]
        if changed:
            raise VignetteError("Your problem areas, ranking and formulation were committed before the later stages "
                                "were revealed, so they can no longer change. Answer the moments of the later stages.")
    with transaction(db):
        db.conn.execute("UPDATE vignette_attempts SET answers = ?, updated_at = ? WHERE id = ? AND status = 'draft'",
                        (json.dumps(cleaned), now_iso(), attempt_id))
    return cleaned


def commit_focus(db: Database, library: Library, user: User, attempt_id: int) -> str:
    """Commit (and lock) the problem areas, ranking, dispute stage and formulation of a draft.

    Allowed once the stages up to the vignette's ``focus_commit_after`` are shown and those
    parts are answered; the later stages (middle and ending of the treatment, which would give
    the answer away in hindsight) are revealed only after it. Returns the commit time.
    """
    att = _own_draft(db, user, attempt_id)
    vignette, _ = offered_vignette(library, att["vignette_id"])
    at = focus_commit_stage(vignette)
    if at is None:
        raise VignetteError("This vignette has no commit step; answer it and submit.")
    if att.get("focus_committed_at"):
        return att["focus_committed_at"]
    if att["stages_revealed"] < at:
        raise VignetteError("Read the assessment stages first: reveal the stages before the commit step.")
    answers = clean_answers(vignette, _drop_stale_moments(vignette, att["answers"]))
    todo = []
    if not answers["areas"]:
        todo.append("select the problem areas that apply")
    elif primary_choice(answers) is None:
        todo.append("rank the selected areas (1 = the focus)")
    if "role_dispute" in answers["areas"] and not answers["dispute_stage"]:
        todo.append("name the stage of the role dispute")
    if not answers["formulation"].strip():
        todo.append("write the interpersonal formulation")
    if todo:
        raise VignetteError("Before you commit: " + "; ".join(todo) + ".")
    _check_ranking(answers)
    now = now_iso()
    with transaction(db):
        db.conn.execute("UPDATE vignette_attempts SET focus_committed_at = ?, updated_at = ? "
                        "WHERE id = ? AND status = 'draft' AND focus_committed_at IS NULL", (now, now, attempt_id))
        audit(db, user.id, "commit_vignette_focus", "vignette_attempt", attempt_id,
              {"vignette_id": vignette.id, "areas": answers["areas"]})
    return now


def reveal_next_stage(db: Database, library: Library, user: User, attempt_id: int) -> int:
    """Reveal the next stage of the case (stages unfold in order); returns how many are shown.

    The stages after the vignette's commit step stay hidden until the focus is committed.
    """
    att = _own_draft(db, user, attempt_id)
    vignette, _ = offered_vignette(library, att["vignette_id"])
    at = focus_commit_stage(vignette)
    if at is not None and att["stages_revealed"] >= at and not att.get("focus_committed_at"):
        raise VignetteError("Commit your problem areas, ranking and formulation first: the later stages are "
                            "revealed only after you have committed to a focus.")
    n = min(att["stages_revealed"] + 1, len(vignette.stages))
    with transaction(db):
        db.conn.execute("UPDATE vignette_attempts SET stages_revealed = ?, updated_at = ? WHERE id = ?",
                        (n, now_iso(), attempt_id))
    return n


def submit_attempt(db: Database, library: Library, user: User, attempt_id: int) -> dict:
    """Score the machine-scorable parts at once and lock the attempt.

    Status becomes 'graded' when the rubric has no supervisor-graded criteria, else
    'submitted' (awaiting grading). The attempt keeps a snapshot of the vignette and rubric
    it was scored against, with their hashes.
    """
    att = _own_draft(db, user, attempt_id)
    vignette, rubric = offered_vignette(library, att["vignette_id"])
    if att["stages_revealed"] < len(vignette.stages):
        raise VignetteError("Reveal all stages of the case before you submit: the later stages hold moments "
                            "you have not answered yet.")
    if focus_commit_stage(vignette) is not None and not att.get("focus_committed_at"):
        raise VignetteError("Commit your problem areas, ranking and formulation before you submit.")
    answers = clean_answers(vignette, _drop_stale_moments(vignette, att["answers"]), for_submit=True)
    result = score_attempt(vignette, rubric, answers)
    status = "graded" if result["final"] else "submitted"
    now = now_iso()
    stored = {"result": result}
    with transaction(db):
        keep_version(db, vignette)
        keep_version(db, rubric)
        cur = db.conn.execute(
            """UPDATE vignette_attempts SET status = ?, answers = ?, auto_scores = ?, score = ?, passed = ?,
               primary_area = ?, vignette_hash = ?, rubric_id = ?, rubric_hash = ?, submitted_at = ?, updated_at = ?,
               graded_at = ? WHERE id = ? AND status = 'draft'""",
            (status, json.dumps(answers), json.dumps(stored), result["score"],
             None if result["passed"] is None else int(result["passed"]), vignette.primary_area,
             vignette.content_hash, rubric.id, rubric.content_hash, now, now,
             now if status == "graded" else None, attempt_id))
        if cur.rowcount == 0:  # submitted meanwhile from another tab
            raise VignetteError("This attempt has been submitted already; its feedback is on the vignette's page.")
        audit(db, user.id, "submit_vignette_attempt", "vignette_attempt", attempt_id,
              {"vignette_id": vignette.id, "score": result["score"], "provisional": result["provisional"]})
    return result


def may_grade(db: Database, user: User, trainee_id: int) -> bool:
    if user.id == trainee_id:
        return False
    if user.has("admin"):
        return True
    return user.has("supervisor") and trainee_id in supervisee_ids(db, user.id)


def keep_version(db: Database, model: Vignette | VignetteRubric) -> None:
    """Store this content version once, keyed by its content hash (a no-op when already kept)."""
    db.conn.execute("INSERT OR IGNORE INTO content_versions (hash, kind, content_id, body) VALUES (?,?,?,?)",
                    (model.content_hash, model.kind, model.id, json.dumps(model.model_dump(mode="json"))))


def _version(db: Database, content_hash: str, model_cls):
    row = one(db, "SELECT body FROM content_versions WHERE hash = ?", (content_hash,))
    if row is None:
        raise VignetteError("The content version this attempt was scored against is missing from the database; "
                            "restore it from a backup.")
    return model_cls.model_validate(json.loads(row["body"]))


def _snapshot(db: Database, att: dict) -> tuple[Vignette, VignetteRubric, dict]:
    """The vignette and rubric versions the attempt was scored against, and its stored result."""
    return (_version(db, att["vignette_hash"], Vignette), _version(db, att["rubric_hash"], VignetteRubric),
            att["auto_scores"]["result"])


def grade_attempt(db: Database, grader: User, attempt_id: int, grades: dict) -> dict:
    """A supervisor of the trainee (or an admin) grades the written parts; the score becomes final.

    Grading uses the rubric version the attempt was scored against (its stored snapshot), so a
    later edit of the rubric file does not change what the levels meant. A graded attempt may
    be graded again; every grading is in the audit log.
    """
    att = get_attempt(db, attempt_id)
    if att is None:
        raise VignetteError(f"There is no attempt {attempt_id}; pick one from the grading queue.")
    if not may_grade(db, grader, att["trainee_id"]):
        raise AttemptAccessError("You may grade only attempts of trainees you supervise (admins: any trainee's, "
                                 "never your own). Ask an admin to link you as this trainee's supervisor.")
    if att["status"] == "draft":
        raise VignetteError("This attempt is still a draft; it can be graded once the trainee submits it.")
    vignette, rubric, result = _snapshot(db, att)
    grades = clean_grades(rubric, grades)
    missing = [c.title for c in rubric.criteria if isinstance(c, GradedCriterion) and c.id not in grades]
    if missing:
        raise GradeError(f"Choose a level for every criterion before saving; missing: {', '.join(missing)}.")
    new = apply_grades(result, rubric, grades)
    stored = {**att["auto_scores"], "result": new}
    now = now_iso()
    with transaction(db):
        db.conn.execute(
            """UPDATE vignette_attempts SET status = 'graded', grades = ?, auto_scores = ?, score = ?, passed = ?,
               grader_id = ?, graded_at = ?, updated_at = ? WHERE id = ?""",
            (json.dumps(grades), json.dumps(stored), new["score"], int(bool(new["passed"])), grader.id, now, now,
             attempt_id))
        audit(db, grader.id, "regrade_vignette_attempt" if att["status"] == "graded" else "grade_vignette_attempt",
              "vignette_attempt", attempt_id,
              {"trainee_id": att["trainee_id"], "levels": {k: v["level"] for k, v in grades.items()},
               "score": new["score"], "passed": new["passed"]})
        outcome = "passed" if new["passed"] else "not passed yet"
        notify(db, att["trainee_id"], "attempt_graded",
               f"{grader.display_name} {'regraded' if att['status'] == 'graded' else 'graded'} your attempt at "
               f"'{vignette.title}': {round(new['score'] * 100)} %, {outcome}. The feedback is on My progress.",
               "progress.py", {"prog_attempt": attempt_id})
    return new


def _vignette_titles(db: Database) -> dict[str, str]:
    return {r["hash"]: r["title"] for r in rows(
        db, "SELECT hash, json_extract(body, '$.title') AS title FROM content_versions WHERE kind = 'vignette'")}


def _grading_where(user: User, include_graded: bool, text: str, since, until,
                   titles: dict[str, str]) -> tuple[str, list]:
    # every status but draft is submitted or graded (the table's CHECK); said so, a page with graded
    # attempts walks the submitted_at index instead of merging two status ranges and sorting
    conds = ["a.status <> ?" if include_graded else "a.status = ?", "a.trainee_id <> ?"]
    params: list = ["draft" if include_graded else "submitted", user.id]
    if not user.has("admin"):
        conds.append("a.trainee_id IN (SELECT trainee_id FROM supervision_links WHERE supervisor_id = ?)")
        params.append(user.id)
    # each word in the trainee's name, the attempt number or the vignette's title; the titles are
    # a handful of content versions, matched here, so the attempts' rows never parse JSON
    for word in words(text):
        hashes = [h for h, title in titles.items() if word in (title or "").casefold()]
        conds.append(f"""(instr({sql_folded(word, "u.display_name || char(10) || '#' || a.id")}, ?) > 0
                          OR a.vignette_hash IN ({', '.join('?' for _ in hashes) or 'NULL'})
                          OR (a.vignette_hash NOT IN ({', '.join('?' for _ in titles) or 'NULL'})
                              AND instr({sql_folded(word, "a.vignette_id")}, ?) > 0))""")
        params += [word, *hashes, *titles, word]
    days, bounds = sql_day_range("a.submitted_at", since, until)
    conds += days
    params += bounds
    return " AND ".join(conds), params


# A page walks the submission-order index and stops at 50 rather than sorting every attempt of
# 10,000 trainees: CROSS JOIN keeps the attempts the outer loop (SQLite never reorders it) and
# INDEXED BY names the index (with statistics the planner preferred the (status, trainee_id) one
# of the count, then sorted 37,000 rows: 0.5 s at scale XL)
def _grading_from(include_graded: bool) -> str:
    index = "idx_attempts_submitted_at" if include_graded else "idx_attempts_submitted"
    return (f"FROM vignette_attempts a INDEXED BY {index} CROSS JOIN users u ON u.id = a.trainee_id "
            "LEFT JOIN users g ON g.id = a.grader_id")


def find_grading(db: Database, user: User, include_graded: bool = False, text: str = "", since=None, until=None,
                 limit: Optional[int] = PAGE_SIZE, offset: int = 0) -> list[dict]:
    """Submitted attempts this user may grade (supervisees'; admins: everyone's, never their
    own), with graded ones too when asked, newest first: those whose trainee, vignette title or
    ``#attempt number`` hold every word of ``text`` (ignoring case) and that were submitted on a
    day from ``since`` to ``until`` (both included); ``limit`` rows from ``offset`` (``None``:
    all). Searched, ordered and cut in SQL, so a page of 50 of 250,000 attempts reads about 50."""
    if not user.has("supervisor", "admin"):
        return []
    titles = _vignette_titles(db)
    where, params = _grading_where(user, include_graded, text, since, until, titles)
    cut = "" if limit is None else " LIMIT ? OFFSET ?"
    params += [] if limit is None else [int(limit), int(offset)]
    found = rows(db, f"""SELECT a.id AS attempt_id, a.trainee_id, u.display_name AS trainee, a.vignette_id,
                                a.vignette_hash, a.status, a.submitted_at, a.score, g.display_name AS grader
                         {_grading_from(include_graded)} WHERE {where}
                         ORDER BY a.submitted_at DESC, a.id DESC{cut}""", params)
    for r in found:
        r["status"] = STATUS_LABELS[r["status"]]
        r["vignette_title"] = titles.get(r.pop("vignette_hash"), r["vignette_id"])
    return found


def count_grading(db: Database, user: User, include_graded: bool = False, text: str = "", since=None,
                  until=None) -> int:
    """How many attempts :func:`find_grading` finds without a limit."""
    if not user.has("supervisor", "admin"):
        return 0
    where, params = _grading_where(user, include_graded, text, since, until, _vignette_titles(db))
    # without words to match, neither name is needed: the count reads the (status, trainee_id)
    # index only (migration 110): 9 ms for 37,000 attempts at scale XL
    joined = " CROSS JOIN users u ON u.id = a.trainee_id" if words(text) else ""
    return db.conn.execute(f"SELECT COUNT(*) FROM vignette_attempts a{joined} WHERE {where}", params).fetchone()[0]


def grading_queue(db: Database, user: User, include_graded: bool = False) -> list[dict]:
    """Every attempt of :func:`find_grading` (no search, no limit), newest first."""
    return find_grading(db, user, include_graded, limit=None)


def _attempts_of(db: Database, trainee_id: int, vignette_id: Optional[str] = None) -> list[dict]:
    sql = "SELECT * FROM vignette_attempts WHERE trainee_id = ?"
    params: tuple = (trainee_id,)
    if vignette_id is not None:
        sql += " AND vignette_id = ?"
        params += (vignette_id,)
    found = [_load(r) for r in rows(db, sql + " ORDER BY created_at, id", params)]
    counter: dict[str, int] = {}
    for att in found:
        counter[att["vignette_id"]] = counter.get(att["vignette_id"], 0) + 1
        att["number"] = counter[att["vignette_id"]]
    return found


def _title(att: dict, library: Library) -> str:
    if att.get("auto_scores"):
        return att["auto_scores"]["result"]["vignette_title"]
    v = library.vignettes.get(att["vignette_id"])
    return v.title if v else att["vignette_id"]


def attempts_for(db: Database, library: Library, user: User, trainee_id: int,
                 vignette_id: Optional[str] = None) -> list[dict]:
    """A summary row per attempt (no key), newest first, for lists of past attempts."""
    _check_can_read(db, user, trainee_id)
    out = []
    for att in _attempts_of(db, trainee_id, vignette_id):
        out.append({"attempt_id": att["id"], "vignette_id": att["vignette_id"], "title": _title(att, library),
                    "number": att["number"], "status": STATUS_LABELS[att["status"]],
                    "score": att["score"], "final": att["status"] == "graded",
                    "passed": None if att["passed"] is None else bool(att["passed"]),
                    "rubric_id": att["rubric_id"], "rubric_hash": att["rubric_hash"],
                    "submitted_at": att["submitted_at"], "graded_at": att["graded_at"],
                    "offered": att["vignette_id"] in library.vignettes})
    return list(reversed(out))


def _check_can_read(db: Database, user: User, trainee_id: int) -> None:
    if user.id == trainee_id or user.has("admin"):
        return
    if user.has("supervisor") and trainee_id in supervisee_ids(db, user.id):
        return
    raise AttemptAccessError("You may see only your own attempts (supervisors: their supervisees'; admins: all).")


def attempt_view_for(db: Database, library: Library, user: User, attempt_id: int) -> dict:
    """Everything a page needs to show one attempt to ``user``, and nothing they may not see.

    Trainees see only their own attempts; anyone else needs to supervise the trainee or be an
    admin. A draft's view has the revealed case stages and the answers, never the key: the
    key, rationales, model responses and score breakdown appear only once submitted, and are
    then read from the attempt's own snapshot, so they stay readable if the file is withdrawn.
    While the trainee has a retake of an offered vignette open, their earlier attempts' views carry
    no result and no key (``feedback_hidden``), so the retake is practice rather than copying.
    """
    att = get_attempt(db, attempt_id)
    if att is None:
        raise VignetteError(f"There is no attempt {attempt_id}; open one from your list of attempts.")
    _check_can_read(db, user, att["trainee_id"])
    number = next(a["number"] for a in _attempts_of(db, att["trainee_id"], att["vignette_id"]) if a["id"] == attempt_id)
    trainee = one(db, "SELECT display_name FROM users WHERE id = ?", (att["trainee_id"],))
    grader = one(db, "SELECT display_name FROM users WHERE id = ?", (att["grader_id"],)) if att["grader_id"] else None
    view = {"attempt_id": att["id"], "trainee_id": att["trainee_id"], "trainee": trainee["display_name"],
            "vignette_id": att["vignette_id"], "number": number, "status": att["status"],
            "status_label": STATUS_LABELS[att["status"]], "answers": att["answers"],
            "rubric_id": att["rubric_id"], "rubric_hash": att["rubric_hash"], "vignette_hash": att["vignette_hash"],
            "created_at": att["created_at"], "submitted_at": att["submitted_at"], "graded_at": att["graded_at"],
            "grader": grader["display_name"] if grader else None, "withdrawn": False,
            "focus_committed_at": att.get("focus_committed_at"),
            "case": None, "result": None, "key": None, "rubric": None, "graded_criteria": [], "feedback_hidden": False}
    if (att["status"] != "draft" and user.id == att["trainee_id"] and att["vignette_id"] in library.vignettes
            and current_draft(db, user.id, att["vignette_id"])):
        # a retake is open (and can be finished): earlier feedback with the key stays hidden until it is in
        view["title"] = att["auto_scores"]["result"]["vignette_title"]
        view["feedback_hidden"] = True
        return view
    if att["status"] == "draft":
        v = library.vignettes.get(att["vignette_id"])
        if v is None or v.rubric not in library.rubrics:
            view["withdrawn"] = True
            view["title"] = att["vignette_id"]
            return view
        view["title"] = v.title
        view["case"] = public_case(v, att["stages_revealed"])
        view["answers"] = _drop_stale_moments(v, att["answers"])
        return view
    vignette, rubric, result = _snapshot(db, att)
    view["title"] = vignette.title
    view["withdrawn"] = att["vignette_id"] not in library.vignettes
    view["case"] = public_case(vignette, len(vignette.stages))
    view["result"] = result
    view["key"] = expert_key(vignette)
    view["rubric"] = {"id": rubric.id, "name": rubric.name, "version": rubric.version, "pass_mark": rubric.pass_mark}
    view["graded_criteria"] = [
        {"id": c.id, "title": c.title, "description": c.description, "applies_to": c.applies_to,
         "levels": [{"score": lv.score, "label": lv.label, "description": lv.description} for lv in c.levels],
         "grade": att["grades"].get(c.id)}
        for c in rubric.criteria if isinstance(c, GradedCriterion)]
    return view
