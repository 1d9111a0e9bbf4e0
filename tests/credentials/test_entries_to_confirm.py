"""A supervisor's entries awaiting confirmation, read with one query per kind of entry for all
supervisees (issue 16, scale XL), are exactly what the former per-supervisee reading gave: the
same entries, summaries and order, on the demo data and on a generated cohort."""

from __future__ import annotations

import pytest

from ipt_training import auth
from ipt_training.config import get_settings
from ipt_training.credentials import evidence
from ipt_training.store import open_store, rows


def _reference(db, confirmer):
    """The former implementation: every supervisee's whole log, then its unconfirmed entries."""
    people = rows(db, """SELECT u.id, u.display_name FROM supervision_links l JOIN users u ON u.id = l.trainee_id
                         WHERE l.supervisor_id = ? AND u.id <> ? ORDER BY u.display_name, u.id""",
                  (confirmer.id, confirmer.id)) if confirmer.has("supervisor") else []
    out = []
    for p in people:
        for table, entries in evidence.list_entries(db, confirmer, p["id"]).items():
            out.extend({"table": table, "id": e["id"], "kind": evidence.ENTRY_TABLES[table],
                        "summary": evidence.entry_summary(table, e), "trainee_id": p["id"], "trainee": p["display_name"]}
                       for e in entries if not e["confirmed"])
    return out


def _cohort(path):
    db = open_store(path)
    c = db.conn
    names = []

    def user(name, *roles):
        uid = c.execute("INSERT INTO users (username, display_name, password_hash, created_at) VALUES (?, ?, 'x', ?)",
                        (f"{name.lower().replace(' ', '.')}.{len(names)}", name, "2026-01-01T00:00:00+00:00")).lastrowid
        names.append(name)
        c.executemany("INSERT INTO user_roles (user_id, role) VALUES (?, ?)", [(uid, r) for r in roles])
        return uid

    admin = auth.get_user(db, user("Admin Person", "admin"))
    sups = [user("Sue Visor", "supervisor"), user("Sam Visor", "supervisor", "trainee")]
    # two trainees share a name: the order falls back on the id
    trainees = [user(n, "trainee") for n in ("Zoe Adams", "Ann Berg", "Ann Berg", "Max Cole", "Ida Dunn")]
    for t in trainees[:4] + [sups[1]]:
        c.execute("INSERT INTO supervision_links (supervisor_id, trainee_id) VALUES (?, ?)", (sups[0], t))
    c.execute("INSERT INTO supervision_links (supervisor_id, trainee_id) VALUES (?, ?)", (sups[1], trainees[4]))
    c.commit()
    settings = get_settings()
    for k, t in enumerate(trainees + [sups[1]]):
        for d in range(3):  # the same day twice: the id breaks the tie
            day = f"2025-0{1 + d % 2}-1{k}"
            evidence.record_clinical_hours(db, admin, t, day, 1.5 + d, "clinic" if d else "")
            evidence.record_training_event(db, settings, admin, t, day, 8, f"Course {d}", "A trainer")
            case = evidence.record_case(db, admin, t, f"Case {k}-{d}", "grief", day, None, 4 + d)
            evidence.record_supervision(db, admin, t, "Dr Who", day, 1, case_id=case if d else None)
    # some confirmed by their supervisor (they leave the list), some left
    sue = auth.get_user(db, sups[0])
    for table in evidence.ENTRY_TABLES:
        for r in rows(db, f"SELECT id FROM {table} WHERE id % 2 = 0 AND trainee_id IN "
                          f"(SELECT trainee_id FROM supervision_links WHERE supervisor_id = ?)", (sups[0],)):
            evidence.confirm_entry(db, sue, table, r["id"])
    return db


@pytest.fixture(params=["demo", "cohort"])
def store(request, tmp_path):
    if request.param == "demo":
        return request.getfixturevalue("demo_db")
    return _cohort(tmp_path / "cohort.db")


def test_entries_to_confirm_are_the_former_list(store):
    everyone = [auth.get_user(store, r["id"]) for r in rows(store, "SELECT id FROM users ORDER BY id")]
    seen = 0
    for person in everyone:
        expected = _reference(store, person)
        assert evidence.entries_to_confirm(store, person) == expected
        seen += len(expected)
    assert seen > 0, "some entry awaits confirmation"


def test_the_unconfirmed_entries_are_read_through_their_partial_index(store):
    sup = next(auth.get_user(store, r["user_id"]) for r in rows(store, "SELECT user_id FROM user_roles WHERE role = "
                                                                     "'supervisor' ORDER BY user_id"))
    seen = []
    store.conn.set_trace_callback(seen.append)
    try:
        evidence.entries_to_confirm(store, sup)
    finally:
        store.conn.set_trace_callback(None)
    plans = [" | ".join(r[3] for r in store.conn.execute("EXPLAIN QUERY PLAN " + sql)) for sql in seen
             if sql.lstrip().upper().startswith("SELECT")]
    for table in evidence.ENTRY_TABLES:
        assert any(f"idx_{table}_unconfirmed" in plan for plan in plans), (table, plans)
