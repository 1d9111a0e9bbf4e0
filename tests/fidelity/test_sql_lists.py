"""Long lists searched, ordered and cut in SQL (issue 16, scale XL) give exactly what the
former whole-list computation gave: the same rows, in the same order, on every page, with the
same search and filter rules (finding.py), on the demo data and on a generated cohort.

The references below are the former implementations (every row read, then filtered, sorted
and sliced in Python), kept here as the independent computation.
"""

from __future__ import annotations

import random
from datetime import date

import pytest

import listref
from ipt_training import auth, fidelity
from ipt_training.finding import PAGE_SIZE, in_date_range, text_matches
from ipt_training.fidelity.recordings import session_label, session_label_sql
from ipt_training.store import open_store, rows
from ipt_training.vignettes import count_grading, find_grading, grading_queue

# --- a generated cohort: ties in created_at, deleted recordings, every rating status, names
#     holding % _ ' and a supervisor who is also assigned sessions of non-supervisees ---------

NAMES = ["Ada Okafor", "Ben 100% Lee", "Cleo_Underscore", "Dan O'Brien", "Eve Martin", "Finn Okafor-Smith",
         "Gus Case", "Hana Session", "Ivo Grief", "Jo Middle", "Kim Rating", "Lou Draft"]


def _cohort(path):
    db = open_store(path)
    rng = random.Random(16)
    c = db.conn

    def user(name, *roles):
        uid = c.execute("INSERT INTO users (username, display_name, password_hash, created_at) VALUES (?, ?, 'x', ?)",
                        (name.lower().replace(" ", ".").replace("'", "").replace("%", "pc"), name,
                         "2026-01-01T00:00:00+00:00")).lastrowid
        c.executemany("INSERT INTO user_roles (user_id, role) VALUES (?, ?)", [(uid, r) for r in roles])
        return uid

    admin = user("Admin Person", "admin")
    sups = [user("Sue Visor", "supervisor", "rater"), user("Sam Visor", "supervisor", "rater", "trainee")]
    raters = [user(f"Rater {k}", "rater") for k in range(5)] + sups
    trainees = [user(n, "trainee") for n in NAMES]
    c.execute("UPDATE users SET active = 0 WHERE id = ?", (trainees[-1],))
    for t in trainees[:5]:
        c.execute("INSERT INTO supervision_links (supervisor_id, trainee_id) VALUES (?, ?)", (sups[0], t))
    c.execute("INSERT INTO supervision_links (supervisor_id, trainee_id) VALUES (?, ?)", (sups[1], trainees[6]))
    areas = ["grief", "role_dispute", "role_transition", "interpersonal_deficits"]
    sessions = []
    for k in range(140):
        t = trainees[k % len(trainees)]
        day = f"2026-02-{1 + k % 9:02d}T10:00:00+00:00"  # many sessions share a timestamp
        sid = c.execute(
            """INSERT INTO recorded_sessions (trainee_id, added_by, case_pseudonym, session_number, phase, problem_area,
               consent_confirmed, created_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)""",
            (t, admin, f"Case {'T_%' if k % 13 == 0 else k % 17}", 1 + k % 12,
             ["initial", "middle", "termination"][k % 3], areas[k % 4], day,
             "2026-03-01T00:00:00+00:00" if k % 11 == 0 else None)).lastrowid
        sessions.append((sid, t))
    for sid, t in sessions:
        for r in rng.sample([r for r in raters if r != t], rng.choice([0, 1, 2, 3])):
            c.execute("INSERT INTO assignments (session_id, rater_id, assigned_by, due_date, purpose, created_at) "
                      "VALUES (?, ?, ?, ?, ?, ?)",
                      (sid, r, admin, rng.choice([None, "2026-04-01"]), rng.choice(["rating", "second_rating"]),
                       f"2026-03-{1 + rng.randrange(5):02d}T09:00:00+00:00"))
            status = rng.choice([None, "draft", "submitted"])
            if status:
                c.execute("INSERT INTO ratings (session_id, rater_id, kind, instrument_id, instrument_hash, status, "
                          "created_at, updated_at) VALUES (?, ?, 'rater', 'i', 'h', ?, '2026-03-05', '2026-03-05')",
                          (sid, r, status))
    # vignette attempts: two titled versions, one version whose content is unknown (title = id),
    # ties in submitted_at, every status, one graded by a supervisor
    c.executemany("INSERT INTO content_versions (hash, kind, content_id, body) VALUES (?, 'vignette', ?, ?)",
                  [("h-grief", "v-grief", '{"title": "Grief after a retirement"}'),
                   ("h-move", "v-move", '{"title": "A move 100% abroad_now"}')])
    for k in range(130):
        status = ["submitted", "graded", "draft", "submitted"][k % 4]
        c.execute("""INSERT INTO vignette_attempts (trainee_id, vignette_id, vignette_hash, rubric_id, rubric_hash, status,
                     score, grader_id, created_at, updated_at, submitted_at) VALUES (?, ?, ?, 'r', 'r', ?, ?, ?, ?, ?, ?)""",
                  (([*trainees, sups[1]])[k % (len(trainees) + 1)], ["v-grief", "v-move", "v-lost"][k % 3],
                   ["h-grief", "h-move", "h-lost"][k % 3], status, k / 130, sups[0] if status == "graded" else None,
                   "2026-01-01", "2026-01-01",
                   None if status == "draft" else f"2026-02-{1 + k % 20:02d}T{k % 3:02d}:00:00+00:00"))
    c.commit()
    return db


@pytest.fixture(params=["demo", "cohort"])
def store(request, tmp_path):
    if request.param == "demo":
        return request.getfixturevalue("demo_db")
    return _cohort(tmp_path / "cohort.db")


def _people(db):
    def first(role, extra=""):
        uid = rows(db, f"SELECT u.id FROM users u JOIN user_roles r ON r.user_id = u.id WHERE r.role = ? {extra} "
                       "ORDER BY u.id LIMIT 1", (role,))[0]["id"]
        return auth.get_user(db, uid)
    sups = [auth.get_user(db, r["id"]) for r in rows(
        db, "SELECT DISTINCT u.id FROM users u JOIN user_roles r ON r.user_id = u.id WHERE r.role = 'supervisor' "
            "ORDER BY u.id")]
    return [first("admin"), *sups, first("rater", "AND u.id NOT IN (SELECT user_id FROM user_roles WHERE role "
                                                "IN ('supervisor', 'admin'))")]


# --- references: the former implementations -------------------------------------------------

def _reference_assignments(db, actor):
    if not actor.has("supervisor", "admin"):
        raise fidelity.FidelityError("no")
    out = rows(db, """
        SELECT a.id, a.session_id, a.rater_id, u.display_name AS rater, a.due_date, a.purpose, a.created_at,
               s.trainee_id, t.display_name AS trainee, s.case_pseudonym, s.session_number, s.phase, s.problem_area,
               s.deleted_at, r.status AS rating_status
        FROM assignments a JOIN recorded_sessions s ON s.id = a.session_id JOIN users u ON u.id = a.rater_id
        JOIN users t ON t.id = s.trainee_id
        LEFT JOIN ratings r ON r.session_id = a.session_id AND r.rater_id = a.rater_id AND r.kind = 'rater'
        ORDER BY a.created_at DESC, a.id DESC""")
    if not actor.has("admin"):
        mine = set(auth.supervisee_ids(db, actor.id))
        out = [a for a in out if a["trainee_id"] in mine or a["rater_id"] == actor.id]
    for a in out:
        a["status"] = a["rating_status"] or "not started"
        a["label"] = session_label(a)
    return out


def _reference_find(db, actor, text, status):
    return [a for a in _reference_assignments(db, actor)
            if text_matches(text, a["label"], a["trainee"], a["rater"], a["purpose"].replace("_", " "),
                            f"#{a['session_id']}")
            and (status is None or a["status"] == status)]


SEARCHES = ["", "case", "CASE 1", "okafor", "100%", "_", "T_%", "o'brien", "grief session", "second rating",
            "deleted", "#1", "#12", "rater 3", "nobody-matches-this", "draft", "role dispute middle"]


def test_session_label_in_sql_is_the_label(store):
    got = {r["id"]: r["label"] for r in rows(store, f"SELECT s.id, {session_label_sql('s')} "
                                                    "AS label FROM recorded_sessions s")}
    expected = {s["id"]: session_label(s) for s in rows(store, "SELECT * FROM recorded_sessions")}
    assert got == expected and any("[recording deleted]" in v for v in got.values()) == (
        store.conn.execute("SELECT COUNT(*) FROM recorded_sessions WHERE deleted_at IS NOT NULL").fetchone()[0] > 0)


@pytest.mark.parametrize("text", SEARCHES)
def test_assignments_searched_in_sql_match_the_former_list(store, text):
    for actor in _people(store)[:-1]:
        for status in (None, *fidelity.ASSIGNMENT_STATUSES):
            expected = _reference_find(store, actor, text, status)
            assert fidelity.count_assignments(store, actor, text, status) == len(expected)
            got = fidelity.find_assignments(store, actor, text, status, limit=None)
            assert [(a["id"], a["label"], a["status"]) for a in got] == \
                   [(a["id"], a["label"], a["status"]) for a in expected]


def test_assignment_pages_cut_the_same_rows(store):
    for actor in _people(store)[:-1]:
        expected = _reference_assignments(store, actor)
        n = len(expected)
        for per_page in (PAGE_SIZE, 7, 1):
            for offset in sorted({0, per_page - 1, per_page, per_page + 1, max(0, n - per_page), max(0, n - 1), n,
                                  n + 5}):
                got = fidelity.find_assignments(store, actor, limit=per_page, offset=offset)
                assert [a["id"] for a in got] == [a["id"] for a in expected[offset:offset + per_page]]
        # the pages, put together, are the whole list once
        pages = [a["id"] for k in range(0, n, PAGE_SIZE) for a in fidelity.find_assignments(store, actor, offset=k)]
        assert pages == [a["id"] for a in expected]


def test_full_list_of_assignments_is_the_former_one(store):
    for actor in _people(store)[:-1]:
        got = fidelity.list_assignments(store, actor)
        expected = _reference_assignments(store, actor)
        keys = ["id", "session_id", "rater_id", "rater", "due_date", "purpose", "trainee", "status", "label"]
        assert [{k: a[k] for k in keys} for a in got] == [{k: a[k] for k in keys} for a in expected]


def test_a_rater_cannot_list_assignments(store):
    rater = _people(store)[-1]
    with pytest.raises(fidelity.FidelityError):
        fidelity.find_assignments(store, rater)
    with pytest.raises(fidelity.FidelityError):
        fidelity.count_assignments(store, rater)


@pytest.mark.parametrize("text", SEARCHES)
def test_assignable_sessions_searched_in_sql_match_the_former_list(store, text):
    for actor in _people(store):
        expected = [s for s in fidelity.assignable_sessions(store, actor)
                    if text_matches(text, s["label"], s["trainee_name"], f"#{s['id']}")]
        got = fidelity.find_assignable_sessions(store, actor, text, limit=None)
        assert [(s["id"], s["label"], s["trainee_name"]) for s in got] == \
               [(s["id"], s["label"], s["trainee_name"]) for s in expected]
        assert [s["id"] for s in fidelity.find_assignable_sessions(store, actor, text)] == \
               [s["id"] for s in expected[:PAGE_SIZE]]
        assert fidelity.count_assignable_sessions(store, actor, text) == len(expected)


@pytest.mark.parametrize("text", ["", "okafor", "o'brien", "100%", "_", "visor", "nobody-matches-this"])
def test_trainees_to_draw_for_match_the_former_list(store, text):
    everyone = {u["id"]: u for u in auth.list_users(store)}
    for actor in _people(store):
        expected = sorted(({"id": t, "display_name": everyone[t]["display_name"]}
                           for t in auth.visible_trainee_ids(store, actor)
                           if t in everyone and t != actor.id
                           and text_matches(text, everyone[t]["display_name"], everyone[t]["username"])),
                          key=lambda u: (u["display_name"], u["id"]))
        assert auth.find_visible_trainees(store, actor, text, limit=None) == expected
        assert auth.find_visible_trainees(store, actor, text, limit=3) == expected[:3]


def _reference_workspace_choices(db, user):
    out, seen = [], set()

    def add(sid, kind, label):
        if (sid, kind) not in seen:
            seen.add((sid, kind))
            out.append({"session_id": sid, "kind": kind, "label": label})

    everything = fidelity.accessible_sessions(db, user)
    for q in fidelity.rater_queue(db, user) if user.has("rater", "supervisor", "admin") else []:
        add(q["session_id"], "rater", f"Rate: {q['label']} [{q['status']}]")
    for s in everything:
        if s["trainee_id"] == user.id:
            add(s["id"], "self", f"Self-rate: {s['label']}")
    if user.has("admin"):
        for s in everything:
            if s["is_gold_standard"]:
                add(s["id"], "gold", f"Gold standard: {s['label']}")
    if user.has("admin", "supervisor"):
        for s in everything:
            if s["trainee_id"] != user.id and (s["id"], "rater") not in seen:
                add(s["id"], "view", f"View: {s['trainee_name']}, {s['label']}")
    return out


def _everyone(db):
    return [auth.get_user(db, r["id"]) for r in rows(db, "SELECT id FROM users ORDER BY id")]


def test_workspace_choices_are_the_former_ones(store):
    for user in _everyone(store):
        expected = _reference_workspace_choices(store, user)
        assert fidelity.workspace_choices(store, user, limit=None) == expected
        # cut: everything but the sessions to view, and of those the newest PAGE_SIZE (less the ones in the queue)
        cut = fidelity.workspace_choices(store, user)
        assert [c for c in cut if c["kind"] != "view"] == [c for c in expected if c["kind"] != "view"]
        views = [c for c in cut if c["kind"] == "view"]
        assert views == [c for c in expected if c["kind"] == "view"][:len(views)]
        assert len(views) <= PAGE_SIZE


@pytest.mark.parametrize("text", ["okafor", "grief session", "#1", "T_%", "nobody-matches-this"])
def test_workspace_sessions_to_view_are_searched_and_the_open_one_kept(store, text):
    for user in _everyone(store):
        if not user.has("admin", "supervisor"):
            continue
        expected = [c for c in _reference_workspace_choices(store, user) if c["kind"] == "view"
                    and text_matches(text, c["label"].removeprefix("View: "), f"#{c['session_id']}")]
        got = [c for c in fidelity.workspace_choices(store, user, text, limit=None) if c["kind"] == "view"]
        assert got == expected
        oldest = [c for c in _reference_workspace_choices(store, user) if c["kind"] == "view"][-1:]
        for c in oldest:  # the open session stays offered whatever the search and the cut
            kept = fidelity.workspace_choices(store, user, "nobody-matches-this", limit=1, keep=c["session_id"])
            assert c in kept


def _reference_grading(db, user, include_graded, text, since, until):
    if not user.has("supervisor", "admin"):
        return []
    statuses = ("submitted", "graded") if include_graded else ("submitted",)
    found = rows(db, f"""SELECT a.id AS attempt_id, a.trainee_id, u.display_name AS trainee, a.vignette_id,
                                a.vignette_hash, a.status, a.submitted_at, a.score, g.display_name AS grader
                         FROM vignette_attempts a JOIN users u ON u.id = a.trainee_id LEFT JOIN users g ON g.id = a.grader_id
                         WHERE a.status IN ({','.join('?' for _ in statuses)}) AND a.trainee_id <> ?
                         ORDER BY a.submitted_at DESC, a.id DESC""", (*statuses, user.id))
    if not user.has("admin"):
        mine = set(auth.supervisee_ids(db, user.id))
        found = [r for r in found if r["trainee_id"] in mine]
    titles = {r["hash"]: r["title"] for r in rows(
        db, "SELECT hash, json_extract(body, '$.title') AS title FROM content_versions WHERE kind = 'vignette'")}
    for r in found:
        r["vignette_title"] = titles.get(r.pop("vignette_hash"), r["vignette_id"])
    return [q for q in found if text_matches(text, q["trainee"], q["vignette_title"], f"#{q['attempt_id']}")
            and in_date_range(q["submitted_at"], since, until)]


@pytest.mark.parametrize("text", ["", "okafor", "GRIEF", "100%", "abroad_now", "v-lost", "lost", "#1", "#12",
                                  "retirement ada", "x' OR '1'='1", "nobody-matches-this"])
def test_grading_searched_in_sql_matches_the_former_queue(store, text):
    days = [(None, None), (date(2026, 2, 3), date(2026, 2, 5)), (date(2026, 2, 10), None), (None, date(2026, 2, 1))]
    for user in _people(store)[:-1]:
        for include_graded in (False, True):
            for since, until in days:
                expected = _reference_grading(store, user, include_graded, text, since, until)
                got = find_grading(store, user, include_graded, text, since, until, limit=None)
                assert [(q["attempt_id"], q["vignette_title"]) for q in got] == \
                       [(q["attempt_id"], q["vignette_title"]) for q in expected]
                assert count_grading(store, user, include_graded, text, since, until) == len(expected)


def test_grading_pages_cut_the_same_rows(store):
    for user in _people(store)[:-1]:
        expected = _reference_grading(store, user, True, "", None, None)
        n = len(expected)
        for per_page in (PAGE_SIZE, 7):
            for offset in sorted({0, per_page - 1, per_page, per_page + 1, max(0, n - per_page), n, n + 3}):
                got = find_grading(store, user, True, limit=per_page, offset=offset)
                assert [q["attempt_id"] for q in got] == [q["attempt_id"] for q in expected[offset:offset + per_page]]
        assert grading_queue(store, user) == find_grading(store, user, limit=None)
    rater = _people(store)[-1]
    assert find_grading(store, rater) == [] and count_grading(store, rater) == 0


def test_gold_sessions_are_the_marked_ones_of_the_former_list(store):
    c = store.conn
    ids = [r[0] for r in c.execute("SELECT id FROM recorded_sessions WHERE deleted_at IS NULL ORDER BY id DESC LIMIT 3")]
    c.executemany("UPDATE recorded_sessions SET is_gold_standard = 1 WHERE id = ?", [(i,) for i in ids])
    c.commit()
    former = rows(store, """
        SELECT s.id, t.display_name AS trainee_name, s.case_pseudonym, s.session_number, s.phase, s.problem_area,
               s.is_gold_standard, s.deleted_at,
               (SELECT status FROM ratings g WHERE g.session_id = s.id AND g.kind = 'gold' ORDER BY g.id LIMIT 1) AS gold,
               (SELECT COUNT(*) FROM ratings r WHERE r.session_id = s.id AND r.kind = 'rater' AND r.status = 'submitted') AS n,
               (SELECT COUNT(*) FROM assignments a WHERE a.session_id = s.id AND a.purpose = 'calibration') AS cal
        FROM recorded_sessions s JOIN users t ON t.id = s.trainee_id
        WHERE s.deleted_at IS NULL ORDER BY s.is_gold_standard DESC, s.id""")
    expected = [(s["id"], session_label(s), s["gold"] or "not started", s["n"], s["cal"]) for s in former
                if s["is_gold_standard"]]
    got = fidelity.gold_sessions(store, _people(store)[0])
    assert [(s["id"], s["label"], s["gold_status"], s["submitted_ratings"], s["calibration_assignments"])
            for s in got] == expected and len(expected) >= 3


def _reference_recordings(db):
    out = rows(db, """SELECT s.id, t.display_name AS trainee, s.case_pseudonym, s.session_number, s.phase,
                             s.problem_area, s.is_gold_standard, s.original_name, s.size_bytes, s.media_type,
                             s.created_at, s.deleted_at, (SELECT COUNT(*) FROM ratings r WHERE r.session_id = s.id) AS ratings
                      FROM recorded_sessions s JOIN users t ON t.id = s.trainee_id ORDER BY s.id DESC""")
    for s in out:
        s["label"] = session_label(s)
    return out


@pytest.mark.parametrize("text", ["", "okafor", "case 1", "#1", "T_%", "deleted", "100%", "nobody-matches-this"])
def test_recordings_searched_in_sql_match_the_former_list(store, text):
    admin = _people(store)[0]
    store.conn.execute("UPDATE recorded_sessions SET is_gold_standard = 1, original_name = 'Interview_1.MP4' "
                       "WHERE id % 7 = 0")
    store.conn.commit()
    every = _reference_recordings(store)
    days = [(None, None), (date(2026, 2, 2), date(2026, 2, 4)), (date(2026, 2, 8), None)]
    for since, until in days:
        for gold in (None, True, False):
            for deleted in (None, True, False):
                expected = listref.filter_recordings(every, text, since, until, gold, deleted)
                got = fidelity.find_recordings(store, admin, text, since, until, gold, deleted)
                assert [(s["id"], s["label"], s["ratings"]) for s in got] == \
                       [(s["id"], s["label"], s["ratings"]) for s in expected]
                assert fidelity.count_recordings(store, admin, text, since, until, gold, deleted) == len(expected)
    n = len(every)
    for offset in sorted({0, PAGE_SIZE - 1, PAGE_SIZE, PAGE_SIZE + 1, max(0, n - PAGE_SIZE), n}):
        assert [s["id"] for s in fidelity.find_recordings(store, admin, limit=PAGE_SIZE, offset=offset)] == \
               [s["id"] for s in every[offset:offset + PAGE_SIZE]]
    with pytest.raises(fidelity.FidelityError):
        fidelity.count_recordings(store, _people(store)[1])


def _reference_users(db):
    return rows(db, """SELECT u.id, u.username, u.display_name, u.email, u.active, u.locked_until,
               COALESCE((SELECT group_concat(role, ', ') FROM user_roles r WHERE r.user_id = u.id), '') AS roles
        FROM users u ORDER BY u.username""")


@pytest.mark.parametrize("text", ["", "okafor", "VISOR", "100%", "_", "o'brien", "example", "rater 3", "nobody-x"])
def test_users_searched_in_sql_match_the_former_list(store, text):
    store.conn.execute("UPDATE users SET email = username || '@clinic.example' WHERE id % 3 = 0")
    store.conn.commit()
    everyone = _reference_users(store)
    for role in (None, *auth.ROLES):
        for active in (None, True, False):
            expected = listref.filter_users(everyone, text, role, active)
            assert auth.find_users(store, text, role, active) == expected
            assert auth.count_users(store, text, role, active) == len(expected)
    n = len(everyone)
    for per_page in (PAGE_SIZE, 4):
        for offset in sorted({0, per_page - 1, per_page, per_page + 1, max(0, n - per_page), n}):
            assert auth.find_users(store, limit=per_page, offset=offset) == everyone[offset:offset + per_page]


# --- the indexes the order relies on (a plan, not a timing) -----------------------------------

def _plan(db, sql, params):
    return " | ".join(r[3] for r in db.conn.execute("EXPLAIN QUERY PLAN " + sql, params))


def _captured_sql(db, fn):
    seen = []
    db.conn.set_trace_callback(seen.append)
    try:
        fn()
    finally:
        db.conn.set_trace_callback(None)
    return [s for s in seen if s.lstrip().upper().startswith("SELECT")]


def test_a_page_of_assignments_walks_the_created_at_index(store):
    admin = _people(store)[0]
    sql = _captured_sql(store, lambda: fidelity.find_assignments(store, admin))[-1]
    plan = _plan(store, sql, ())
    assert "idx_assignments_created" in plan and "TEMP B-TREE FOR ORDER BY" not in plan, plan


def test_newest_assignable_sessions_walk_the_created_at_index(store):
    admin = _people(store)[0]
    sql = _captured_sql(store, lambda: fidelity.find_assignable_sessions(store, admin))[-1]
    plan = _plan(store, sql, ())
    assert "idx_sessions_created" in plan and "TEMP B-TREE FOR ORDER BY" not in plan, plan


@pytest.mark.parametrize("include_graded, index", [(False, "idx_attempts_submitted "),
                                                   (True, "idx_attempts_submitted_at")])
def test_the_grading_queue_walks_the_submitted_index(store, include_graded, index):
    admin = _people(store)[0]
    sql = _captured_sql(store, lambda: find_grading(store, admin, include_graded))[-1]
    plan = _plan(store, sql, ())
    assert index in plan + " " and "TEMP B-TREE FOR ORDER BY" not in plan, plan


def test_a_page_of_accounts_walks_the_sign_in_name_index(store):
    sql = _captured_sql(store, lambda: auth.find_users(store, limit=PAGE_SIZE))[-1]
    plan = _plan(store, sql, ())
    assert "sqlite_autoindex_users_1" in plan and "TEMP B-TREE FOR ORDER BY" not in plan, plan
