"""Finding things (issue 17): the shared search rules, and the audit log's search and CSV export."""

from __future__ import annotations

import io
from datetime import date

import pandas as pd
import pytest

import listref
from ipt_training import auth, fidelity, store
from ipt_training.finding import (
    clamp_page,
    day_bounds,
    in_date_range,
    newest_first,
    page_count,
    page_of,
    range_problem,
    text_matches,
)

INJECTION = "x' OR '1'='1'; DROP TABLE users; --"


# --- the pure rules ----------------------------------------------------------------------------

def test_text_matches_ignores_case_and_needs_every_word():
    assert text_matches("TARA move", "Tara Okafor", "The move abroad")
    assert text_matches("ÉLODIE", "élodie")  # case-folded beyond ASCII
    assert not text_matches("tara grief", "Tara Okafor", "The move abroad")
    assert text_matches("", "anything") and text_matches("   ", None)
    assert not text_matches("none", None)  # a missing field is empty text, not the word None


@pytest.mark.parametrize("query", [INJECTION, "%", "_", "a%b", ".*", "[a-z]"])
def test_text_search_is_literal(query):
    assert not text_matches(query, "plain text about a move")
    assert text_matches(query, f"the field says {query} literally")


def test_date_range_includes_both_days():
    since, until = date(2026, 3, 1), date(2026, 3, 31)
    assert in_date_range("2026-03-01T00:00:00+00:00", since, until)
    assert in_date_range("2026-03-31T23:59:59+00:00", since, until)
    assert in_date_range("2026-03-31", since, until)
    assert not in_date_range("2026-02-28T23:59:59+00:00", since, until)
    assert not in_date_range("2026-04-01T00:00:00+00:00", since, until)
    assert in_date_range("1999-01-01", None, until) and not in_date_range("2027-01-01", None, until)
    assert in_date_range(None) and not in_date_range(None, since, None)


def test_day_bounds_cover_the_last_day_whole():
    low, high = day_bounds(date(2026, 3, 1), date(2026, 3, 31))
    assert (low, high) == ("2026-03-01", "2026-04-01")
    assert "2026-03-31T23:59:59+00:00" < high and "2026-03-01T00:00:00+00:00" >= low
    assert day_bounds(None, None) == (None, None)


def test_sql_day_range_takes_both_days_whole_and_only_the_ends_given():
    from ipt_training.finding import sql_day_range

    assert sql_day_range("x.at", None, None) == ([], [])
    assert sql_day_range("x.at", date(2026, 3, 1), None) == (["x.at >= ?"], ["2026-03-01"])
    assert sql_day_range("x.at", None, date(2026, 3, 31)) == (["x.at < ?"], ["2026-04-01"])
    conds, params = sql_day_range("at", date(2026, 3, 1), date(2026, 3, 31))
    import sqlite3

    stamps = ["2026-02-28T23:59:59+00:00", "2026-03-01T00:00:00+00:00", "2026-03-31T23:59:59+00:00",
              "2026-04-01T00:00:00+00:00"]
    with sqlite3.connect(":memory:") as conn:
        conn.execute("CREATE TABLE t (at TEXT)")
        conn.executemany("INSERT INTO t VALUES (?)", [(a,) for a in stamps])
        inside = [r[0] for r in conn.execute(f"SELECT at FROM t WHERE {' AND '.join(conds)} ORDER BY at", params)]
    assert inside == [a for a in stamps if in_date_range(a, date(2026, 3, 1), date(2026, 3, 31))] == stamps[1:3]


def test_a_range_the_wrong_way_round_is_a_sentence():
    msg = range_problem(date(2026, 5, 2), date(2026, 5, 1))
    assert msg and msg.endswith(".") and "2026-05-02" in msg
    assert range_problem(date(2026, 5, 1), date(2026, 5, 1)) is None


def test_pages():
    items = list(range(101))
    assert page_count(0) == 1 and page_count(50) == 1 and page_count(51) == 2 and page_count(101) == 3
    assert page_of(items, 1) == items[:50] and page_of(items, 3) == [100]
    assert page_of(items, 9) == [100] and page_of(items, 0) == items[:50]  # clamped
    assert clamp_page(7, 10) == 1


def test_newest_first_puts_undated_rows_last():
    got = newest_first([{"t": "2026-01-02"}, {"t": None}, {"t": "2026-03-01T10:00"}, {"t": "2026-03-01T09:00"}], "t")
    assert [r["t"] for r in got] == ["2026-03-01T10:00", "2026-03-01T09:00", "2026-01-02", None]


# --- the audit log's search, in SQL ----------------------------------------------------------------

@pytest.fixture
def logged(db):
    """A log with known days, people and texts (the times are written as stored: UTC ISO)."""
    admin = auth.create_user(db, "ada", "correct horse battery", ["admin"], "Ada Admin")
    tara = auth.create_user(db, "tara", "correct horse battery", ["trainee"], "Tara Okafor")
    lines = [("2026-02-28T23:59:59+00:00", tara.id, "sign_in", "user", tara.id, None),
             ("2026-03-01T00:00:00+00:00", tara.id, "submit_vignette_attempt", "vignette_attempt", 7, '{"score": 0.8}'),
             ("2026-03-15T12:00:00+00:00", admin.id, "set_roles", "user", tara.id, '{"roles": ["trainee"]}'),
             ("2026-03-31T23:59:59+00:00", admin.id, "view_recording", "recorded_session", 12, '{"note": "100% odd_text"}'),
             ("2026-04-01T00:00:00+00:00", None, "sign_in_failed", "user", "", f'{{"username": "{INJECTION}"}}')]
    with store.transaction(db):
        for line in lines:
            db.conn.execute("INSERT INTO audit_log (at, actor_id, action, object_type, object_id, detail) "
                            "VALUES (?,?,?,?,?,?)", line)
    return db, admin, tara, {line[0] for line in lines}


def _at(entries):
    return {e["at"] for e in entries if e["at"].startswith("2026-0")}


def test_audit_search_by_days_includes_both_ends(logged):
    db, *_ = logged
    got = store.audit_entries(db, since=date(2026, 3, 1), until=date(2026, 3, 31), limit=None)
    assert _at(got) == {"2026-03-01T00:00:00+00:00", "2026-03-15T12:00:00+00:00", "2026-03-31T23:59:59+00:00"}
    assert store.audit_count(db, since=date(2026, 3, 1), until=date(2026, 3, 31)) == len(got)
    assert _at(store.audit_entries(db, until=date(2026, 2, 28))) == {"2026-02-28T23:59:59+00:00"}


def test_audit_search_by_person_action_and_text(logged):
    db, admin, tara, _ = logged
    assert {e["action"] for e in store.audit_entries(db, who="okafor")} >= {"sign_in", "submit_vignette_attempt"}
    assert all(e["who"] == "tara" for e in store.audit_entries(db, who="TARA"))
    assert [e["action"] for e in store.audit_entries(db, "VIEW_rec")] == ["view_recording"]
    assert [e["action"] for e in store.audit_entries(db, text="100% odd_text")] == ["view_recording"]
    assert [e["action"] for e in store.audit_entries(db, text="ada roles trainee")] == ["set_roles"]  # every word, any column


@pytest.mark.parametrize("typed", [INJECTION, "%", "_", "' OR 1=1 --"])
def test_audit_search_text_is_data_not_sql(logged, typed):
    db, *_ = logged
    n_users = db.conn.execute("SELECT COUNT(*) FROM users").fetchone()[0]
    for kw in ({"action": typed}, {"who": typed}, {"text": typed}):
        action = kw.pop("action", "")
        found = store.audit_entries(db, action, limit=None, **kw)
        expect = [e for e in store.audit_entries(db, limit=None)
                  if (typed.lower() in e["action"].lower() if action else True)
                  and (text_matches(typed, e["action"], e["object_type"], e["object_id"], e["detail"], e["who"])
                       if kw.get("text") else True)
                  and (text_matches(typed, e["who"]) if kw.get("who") else True)]
        assert found == expect
    assert db.conn.execute("SELECT COUNT(*) FROM users").fetchone()[0] == n_users
    # the injection-shaped sign-in name is found as the text it is
    assert [e["action"] for e in store.audit_entries(db, text=INJECTION)] == ["sign_in_failed"]


def test_audit_pages_are_newest_first_and_disjoint(logged):
    db, *_ = logged
    everything = store.audit_entries(db, limit=None)
    assert [e["at"] for e in everything] == sorted((e["at"] for e in everything), reverse=True)
    pages = [store.audit_entries(db, limit=2, offset=k) for k in (0, 2, 4)]
    assert [e for p in pages for e in p] == everything[:6]


def test_the_csv_export_is_the_filtered_log_and_is_audited(logged):
    db, admin, tara, _ = logged
    filters = {"who": "", "text": "", "since": date(2026, 3, 1), "until": date(2026, 3, 31)}
    expected = fidelity.audit_entries_for(db, admin, "", None, **filters)
    data = fidelity.export_audit_log(db, admin, "", **filters)
    table = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    assert table.to_dict("records") == [{k: ("" if v is None else str(v)) for k, v in e.items()} for e in expected]
    last = store.audit_entries(db, limit=1)[0]
    assert last["action"] == "export_audit_log" and last["who"] == "ada"
    assert '"lines": 3' in last["detail"] and '"since": "2026-03-01"' in last["detail"]
    with pytest.raises(fidelity.FidelityError):
        fidelity.export_audit_log(db, auth.get_user(db, tara.id))


# --- the list filters, pure --------------------------------------------------------------------

def test_filter_users_by_text_role_and_state():
    users = [{"username": "tara", "display_name": "Tara Okafor", "email": None, "roles": "trainee", "active": 1},
             {"username": "sam", "display_name": "Sam Supervisor", "email": "SAM@clinic.example",
              "roles": "rater, supervisor", "active": 1},
             {"username": "old", "display_name": "Old Account", "email": None, "roles": "trainee", "active": 0}]
    assert [u["username"] for u in listref.filter_users(users, "OKAFOR")] == ["tara"]
    assert [u["username"] for u in listref.filter_users(users, "clinic.example")] == ["sam"]
    assert [u["username"] for u in listref.filter_users(users, role="supervisor")] == ["sam"]
    assert [u["username"] for u in listref.filter_users(users, role="trainee", active=False)] == ["old"]
    assert [u["username"] for u in listref.filter_users(users, active=True)] == ["tara", "sam"]
    assert listref.filter_users(users, INJECTION) == [] and listref.filter_users(users, "rater") == []  # roles are a filter


def _session(sid, trainee, created, gold=0, deleted=None, name="s.mp3"):
    return {"id": sid, "trainee": trainee, "label": f"Case {sid}, session 3", "original_name": name,
            "created_at": created, "is_gold_standard": gold, "deleted_at": deleted}


def test_filter_recordings_by_text_days_gold_and_deleted():
    sessions = [_session(3, "Tara Okafor", "2026-03-31T23:59:59+00:00", gold=1),
                _session(2, "Nico Berg", "2026-03-01T00:00:00+00:00", deleted="2026-03-02T10:00:00+00:00"),
                _session(1, "Tara Okafor", "2026-02-28T23:59:59+00:00", name="Interview.MP4")]
    ids = lambda found: [s["id"] for s in found]  # noqa: E731
    assert ids(listref.filter_recordings(sessions, "tara")) == [3, 1]
    assert ids(listref.filter_recordings(sessions, "interview.mp4")) == [1]
    assert ids(listref.filter_recordings(sessions, "#2")) == [2]
    assert ids(listref.filter_recordings(sessions, since=date(2026, 3, 1), until=date(2026, 3, 31))) == [3, 2]
    assert ids(listref.filter_recordings(sessions, gold=True)) == [3]
    assert ids(listref.filter_recordings(sessions, deleted=True)) == [2]
    assert ids(listref.filter_recordings(sessions, deleted=False, gold=False)) == [1]
    assert listref.filter_recordings(sessions, INJECTION) == []


def _assigned(sid, status, due, trainee="Tara Okafor", today="2026-03-10"):
    return {"session_id": sid, "label": f"Case {sid}", "trainee_name": trainee, "status": status, "due_date": due,
            "overdue": bool(due and due < today and status != "submitted")}


def test_filter_rating_queue_by_text_status_and_due():
    today = date(2026, 3, 10)
    queue = [_assigned(1, "not started", "2026-03-09"), _assigned(2, "draft", "2026-03-10"),
             _assigned(3, "not started", "2026-03-17"), _assigned(4, "not started", "2026-03-18", "Nico Berg"),
             _assigned(5, "submitted", "2026-03-12"), _assigned(6, "draft", None, "Nico Berg")]
    sids = lambda **kw: [q["session_id"] for q in fidelity.filter_queue(queue, today=today, **kw)]  # noqa: E731
    assert sids(due="overdue") == [1]
    assert sids(due="week") == [2, 3]  # today and seven days on, both included; submitted ones are not due
    assert sids(due="none") == [6]
    assert sids(status="draft") == [2, 6] and sids(status="submitted") == [5]
    assert sids(text="nico") == [4, 6] and sids(text="#3") == [3]
    assert sids(text=INJECTION) == []


def test_grading_queue_searched_by_text_and_days(db):
    from ipt_training import auth
    from ipt_training.vignettes import find_grading

    c = db.conn
    ids = {}
    for name, role in (("Tara Okafor", "trainee"), ("Nico Berg", "trainee"), ("Ada Admin", "admin")):
        ids[name] = c.execute("INSERT INTO users (username, display_name, password_hash, created_at) "
                              "VALUES (?, ?, 'x', '2026-01-01')", (name.split()[0].lower(), name)).lastrowid
        c.execute("INSERT INTO user_roles (user_id, role) VALUES (?, ?)", (ids[name], role))
    c.executemany("INSERT INTO content_versions (hash, kind, content_id, body) VALUES (?, 'vignette', ?, ?)",
                  [("h1", "move", '{"title": "A move abroad"}'), ("h2", "retire", '{"title": "Retirement"}')])
    for aid, who, vh, at in ((9, "Tara Okafor", "h1", "2026-03-31T23:59:59+00:00"),
                             (8, "Nico Berg", "h2", "2026-02-28T12:00:00+00:00")):
        c.execute("INSERT INTO vignette_attempts (id, trainee_id, vignette_id, vignette_hash, rubric_id, rubric_hash, "
                  "status, created_at, updated_at, submitted_at) VALUES (?, ?, 'v', ?, 'r', 'r', 'submitted', ?, ?, ?)",
                  (aid, ids[who], vh, at, at, at))
    c.commit()
    admin = auth.get_user(db, ids["Ada Admin"])

    def found(text="", since=None, until=None):
        return [q["attempt_id"] for q in find_grading(db, admin, False, text, since, until)]

    assert found() == [9, 8]  # newest first
    assert found("ABROAD") == [9] and found("berg retire") == [8] and found("#8") == [8]
    assert found(until=date(2026, 2, 28)) == [8]
    assert found(since=date(2026, 3, 31), until=date(2026, 3, 31)) == [9]
    assert found(INJECTION) == []


def test_searches_in_sql_fold_case_beyond_ascii_as_text_matches_does(db):
    """Issue 17's rule (case ignored, as ``text_matches``) holds in the SQL searches of issue 16:
    "élodie" finds "ÉLODIE BRÜCKNER", "brückner" too, an ASCII word still finds its letters, and
    one that text beyond ASCII folds to finds it too ("strasse" finds "Anna Straße")."""
    from ipt_training.finding import sql_words

    names = ["ÉLODIE BRÜCKNER", "Elodie Bruckner", "Ödön Ärmel", "Tara Okafor", "Anna Straße"]
    for n, name in enumerate(names):
        auth.create_user(db, f"user{n}", "correct horse battery", ["trainee"], name)
    for query in ("élodie", "BRÜCKNER", "ödön ÄRMEL", "elodie", "okafor", "ö", "ärm tara", "STRASSE", "straße", "anna"):
        expect = sorted(u for n, u in enumerate(names) if text_matches(query, u))
        where, params = sql_words(query, "display_name")
        got = sorted(r[0] for r in db.conn.execute(f"SELECT display_name FROM users WHERE {where}", params))
        assert got == expect, query
        assert sorted(u["display_name"] for u in auth.find_users(db, query)) == expect, query
    assert [u["display_name"] for u in auth.find_users(db, "élodie")] == ["ÉLODIE BRÜCKNER"]
    assert auth.count_users(db, "ÖDÖN") == 1
    assert [u["display_name"] for u in auth.find_users(db, "strasse")] == ["Anna Straße"]
    # the audit log's person search takes the same rule
    for n in range(2):
        store.audit(db, auth.find_user(db, f"user{n}").id, "sign_in", "user", n)
    assert {e["who"] for e in store.audit_entries(db, who="élodie")} == {"user0"}
    assert {e["who"] for e in store.audit_entries(db, who="elodie")} == {"user1"}
