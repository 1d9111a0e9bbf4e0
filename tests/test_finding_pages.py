"""Finding things on the pages (issue 17): each list page's search and filters, with the demo data."""

from __future__ import annotations

import io
from datetime import date

import pandas as pd
import pytest

from apphelp import app_as, texts
import listref
from ipt_training import auth, fidelity, store
from ipt_training.content import PROBLEM_AREAS
from ipt_training.store import open_store
from ipt_training.vignettes import current_draft, library_rows


@pytest.fixture
def demo(app_demo):
    return open_store(app_demo)


def _id(db, username):
    return auth.find_user(db, username).id


# --- vignette library ------------------------------------------------------------------------------

def test_library_search_and_filters(demo, library):
    tid = _id(demo, "trainee")
    at = app_as(tid, "vignette_library.py")
    assert not at.exception, at.exception
    every = library_rows(demo, library, tid)
    assert len([c for c in at.button if c.key.startswith("lib_open_")]) == len(every)
    target = every[3]
    word = target["title"].split()[-1].upper()  # case-insensitive
    at.text_input(key="lib_text").input(word).run()
    keys = {b.key for b in at.button if b.key.startswith("lib_open_")}
    expected = {f"lib_open_{r['vignette_id']}" for r in every
                if word.lower() in (r["title"] + "\n" + r["summary"]).lower()}
    assert f"lib_open_{target['vignette_id']}" in keys and keys == expected
    at.text_input(key="lib_text").input("x' OR '1'='1").run()
    assert not at.exception and "No vignette matches" in texts(at)
    at.text_input(key="lib_text").input("").run()
    at.selectbox(key="lib_status").set_value("passed").run()
    passed = {f"lib_open_{r['vignette_id']}" for r in every if r["passed"]}
    assert passed and {b.key for b in at.button if b.key.startswith("lib_open_")} == passed


def test_a_trainees_library_offers_no_keyed_area_filter(demo):
    at = app_as(_id(demo, "trainee"), "vignette_library.py")
    labels = [w.label for w in [*at.selectbox, *at.multiselect, *at.radio, *at.text_input]]
    assert not any("area" in label.lower() for label in labels), labels
    options = " ".join(str(o) for sb in at.selectbox for o in sb.options)
    assert not any(label in options for label in PROBLEM_AREAS.values())


def test_continue_opens_the_draft_in_progress(demo, library):
    tid = _id(demo, "trainee")
    row = next(r for r in library_rows(demo, library, tid) if r["status"] == "new")
    at = app_as(tid, "vignette_library.py")
    at.button(key=f"lib_open_{row['vignette_id']}").click().run()
    draft = current_draft(demo, tid, row["vignette_id"])
    assert draft and at.title[0].value == "Vignette workspace"
    at = app_as(tid, "vignette_library.py")
    button = at.button(key=f"lib_open_{row['vignette_id']}")
    assert button.label == "Continue"
    button.click().run()
    assert current_draft(demo, tid, row["vignette_id"])["id"] == draft["id"]  # no second attempt
    assert at.title[0].value == "Vignette workspace" and not any(b.key == "ws_start" for b in at.button)
    assert any(b.key == f"ws{draft['id']}_reveal" for b in at.button)


# --- audit log -----------------------------------------------------------------------------------

def test_audit_log_filters_and_exports_what_it_shows(demo):
    admin = auth.find_user(demo, "admin")
    at = app_as(admin.id, "audit_log.py")
    assert not at.exception, at.exception
    at.text_input(key="al_who").input("ADMIN").run()
    # the day of the admin's latest line (not date.today(): the demo may have been built before midnight)
    today = date.fromisoformat(store.audit_entries(demo, who="admin", limit=1)[0]["at"][:10])
    at.date_input(key="al_date_from").set_value(today).run()
    at.date_input(key="al_date_to").set_value(today).run()
    assert not at.exception, at.exception
    shown = at.dataframe[0].value
    expected = fidelity.audit_entries_for(demo, admin, "", None, who="ADMIN", text="", since=today, until=today)
    assert len(shown) == min(50, len(expected)) and set(shown["Who"]) <= {e["who"] for e in expected}
    assert all(str(a)[:10] == today.isoformat() for a in shown["At"])
    at.button(key="al_export").click().run()
    assert not at.exception, at.exception
    data = at.session_state["al_csv"][2]
    table = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    assert table.to_dict("records") == [{k: ("" if v is None else str(v)) for k, v in e.items()} for e in expected]
    assert store.audit_entries(demo, "export_audit_log")[0]["who"] == "admin"


def test_audit_log_dates_the_wrong_way_round_are_a_sentence(demo):
    at = app_as(_id(demo, "admin"), "audit_log.py")
    at.date_input(key="al_date_from").set_value(date(2026, 5, 2)).run()
    at.date_input(key="al_date_to").set_value(date(2026, 5, 1)).run()
    assert not at.exception and "after the end date" in at.warning[0].value


# --- users, recordings, rating and grading queues --------------------------------------------------

def test_users_search_and_filters(demo):
    at = app_as(_id(demo, "admin"), "users.py")
    assert not at.exception, at.exception
    everyone = auth.list_users(demo)
    assert len(at.dataframe[0].value) == min(50, len(everyone))
    at.text_input(key="us_text").input("TRAINEE").run()
    expected = listref.filter_users(everyone, "trainee")
    assert sorted(at.dataframe[0].value["Sign-in name"]) == sorted(u["username"] for u in expected)
    at.text_input(key="us_text").input("").run()
    at.selectbox(key="us_role").set_value("supervisor").run()
    shown = set(at.dataframe[0].value["Sign-in name"])
    assert "supervisor" in shown and all("supervisor" in u["roles"] for u in everyone if u["username"] in shown)
    assert {o for o in at.selectbox(key="eu_user").options} == {f"{u['display_name']} ({u['username']})"
                                                                 for u in everyone if u["username"] in shown}
    at.text_input(key="us_text").input("x' OR '1'='1").run()
    assert not at.exception and "No account matches" in texts(at)
    assert len(auth.list_users(demo)) == len(everyone)


def test_recordings_search_and_filters(demo):
    admin = auth.find_user(demo, "admin")
    at = app_as(admin.id, "recordings_admin.py")
    assert not at.exception, at.exception
    every = fidelity.all_sessions_admin(demo, admin)
    assert list(at.dataframe[0].value["id"]) == [s["id"] for s in every][:50]  # newest first
    at.selectbox(key="ra_gold").set_value(True).run()
    gold = [s["id"] for s in every if s["is_gold_standard"]]
    assert gold and list(at.dataframe[0].value["id"]) == gold
    at.selectbox(key="ra_gold").set_value(None).run()
    name = every[-1]["trainee"]
    at.text_input(key="ra_text").input(name.upper()).run()
    assert set(at.dataframe[0].value["therapist"]) == {name}
    day = date.fromisoformat(every[0]["created_at"][:10])
    at.date_input(key="ra_added_from").set_value(day).run()
    at.date_input(key="ra_added_to").set_value(day).run()
    assert list(at.dataframe[0].value["id"]) == [s["id"] for s in listref.filter_recordings(every, name, day, day)]


def test_rating_queue_search_and_filters(demo):
    rater = auth.find_user(demo, "rater")
    queue = fidelity.rater_queue(demo, rater)
    assert queue, "the demo gives the rater a queue"
    at = app_as(rater.id, "rating_queue.py")
    assert not at.exception, at.exception

    def listed():
        return {int(b.key.rsplit("_", 1)[1]) for b in at.button if b.key and b.key.startswith(("rq_open_", "rq_view_"))}

    assert listed() == {q["assignment_id"] for q in queue if not q["deleted_at"] or q["status"] == "submitted"}
    at.selectbox(key="rq_status").set_value("submitted").run()
    assert listed() == {q["assignment_id"] for q in queue if q["status"] == "submitted"}
    at.selectbox(key="rq_status").set_value(None).run()
    at.selectbox(key="rq_due").set_value("overdue").run()
    assert listed() == {q["assignment_id"] for q in queue if q["overdue"] and not q["deleted_at"]}
    at.selectbox(key="rq_due").set_value(None).run()
    target = queue[0]
    at.text_input(key="rq_text").input(f"#{target['session_id']}").run()
    assert target["assignment_id"] in listed() or target["deleted_at"]
    at.text_input(key="rq_text").input("x' OR '1'='1").run()
    assert not at.exception and listed() == set()


def test_submitted_ratings_are_listed_newest_first(demo):
    rater = auth.find_user(demo, "rater")
    done = [q for q in fidelity.rater_queue(demo, rater) if q["status"] == "submitted"]
    at = app_as(rater.id, "rating_queue.py")
    order = [int(b.key.rsplit("_", 1)[1]) for b in at.button if b.key and b.key.startswith("rq_view_")]
    by_id = {q["assignment_id"]: q["submitted_at"] for q in done}
    assert len(order) == len(done) and [by_id[a] for a in order] == sorted(by_id.values(), reverse=True)


def test_grading_queue_search_and_newest_first(demo, library):
    from ipt_training.vignettes import grading_queue

    sup = auth.find_user(demo, "supervisor")
    at = app_as(sup.id, "grading_queue.py")
    assert not at.exception, at.exception
    at.toggle(key="gq_include_graded").set_value(True).run()
    queue = grading_queue(demo, sup, include_graded=True)
    assert len(queue) >= 2, "the demo has attempts for the supervisor to grade"
    table = at.dataframe[0].value
    assert list(table["submitted"]) == sorted(table["submitted"], reverse=True)
    title = queue[-1]["vignette_title"]
    at.text_input(key="gq_text").input(title.lower()).run()
    assert set(at.dataframe[0].value["vignette"]) == {title}
    at.text_input(key="gq_text").input("x' OR '1'='1").run()
    assert not at.exception and "No attempt matches" in texts(at)


def test_long_lists_are_paged_and_the_account_picker_offers_the_page(demo):
    with store.transaction(demo):
        for k in range(60):
            cur = demo.conn.execute("INSERT INTO users (username, display_name, password_hash, created_at) "
                                    "VALUES (?, ?, 'x', '2026-01-01T00:00:00+00:00')", (f"cohort{k:02d}", f"Cohort Member {k:02d}"))
            demo.conn.execute("INSERT INTO user_roles (user_id, role) VALUES (?, 'trainee')", (cur.lastrowid,))
    everyone = auth.list_users(demo)
    at = app_as(_id(demo, "admin"), "users.py")
    assert not at.exception, at.exception
    first = list(at.dataframe[0].value["Sign-in name"])
    assert first == [u["username"] for u in everyone[:50]]
    assert len(at.selectbox(key="eu_user").options) == 50
    assert f"Showing 1–50 of {len(everyone)}." in texts(at)
    at.number_input(key="us_page").set_value(2).run()
    assert list(at.dataframe[0].value["Sign-in name"]) == [u["username"] for u in everyone[50:100]]
    # a narrower search keeps a page that exists
    at.text_input(key="us_text").input("member 07").run()
    assert not at.exception and list(at.dataframe[0].value["Sign-in name"]) == ["cohort07"]


def test_supervision_links_are_paged(demo):
    sup = auth.find_user(demo, "supervisor")
    with store.transaction(demo):
        for k in range(60):
            cur = demo.conn.execute("INSERT INTO users (username, display_name, password_hash, created_at) "
                                    "VALUES (?, ?, 'x', '2026-01-01T00:00:00+00:00')", (f"linked{k:02d}", f"Linked {k:02d}"))
            demo.conn.execute("INSERT INTO user_roles (user_id, role) VALUES (?, 'trainee')", (cur.lastrowid,))
            demo.conn.execute("INSERT INTO supervision_links (supervisor_id, trainee_id) VALUES (?, ?)",
                              (sup.id, cur.lastrowid))
    links = auth.supervision_links(demo)
    at = app_as(_id(demo, "admin"), "cohorts.py")
    assert not at.exception, at.exception
    assert list(at.dataframe[-1].value["trainee"]) == [link["trainee"] for link in links[:50]]
    assert f"Showing 1–50 of {len(links)}." in texts(at)
    at.number_input(key="ln_page").set_value(2).run()
    assert list(at.dataframe[-1].value["trainee"]) == [link["trainee"] for link in links[50:100]]


def _add_trainees(db, prefix: str, n: int) -> list[int]:
    """``n`` trainee accounts ``<prefix>000``... named "<Prefix> 000"..., written directly (no
    password hashing); their ids in order."""
    ids = []
    with store.transaction(db):
        for k in range(n):
            cur = db.conn.execute("INSERT INTO users (username, display_name, password_hash, created_at) "
                                  "VALUES (?, ?, 'x', '2026-01-01T00:00:00+00:00')",
                                  (f"{prefix}{k:03d}", f"{prefix.capitalize()} {k:03d}"))
            db.conn.execute("INSERT INTO user_roles (user_id, role) VALUES (?, 'trainee')", (cur.lastrowid,))
            ids.append(cur.lastrowid)
    return ids


def test_cohort_members_are_searched_and_paged_never_offered_all_at_once(demo):
    """Issue 16: at scale XL the Cohorts page offered all 10,000 trainees in one picker; trainees
    to add (or to link to a supervisor) are now searched in SQL, a page of matches at a time, and
    the members are listed and removed a page at a time."""
    ids = _add_trainees(demo, "picked", 120)
    admin = _id(demo, "admin")
    cohort = auth.create_cohort(demo, "Spring intake", admin)
    auth.set_cohort_members(demo, cohort, ids[:60], admin)
    others = [c for c in auth.list_cohorts(demo) if c["id"] != cohort]
    before_others = {c["id"]: sorted(auth.cohort_member_ids(demo, c["id"])) for c in others}
    at = app_as(admin, "cohorts.py")
    names = [c["name"] for c in auth.list_cohorts(demo)]
    at.selectbox(key="cm_cohort").set_value(auth.list_cohorts(demo)[names.index("Spring intake")]).run()
    assert not at.exception, at.exception
    assert at.multiselect(key="cm_add").options == []  # nothing offered before a search
    assert "Showing 1–50 of 60." in texts(at)
    members = auth.cohort_members(demo, cohort)
    assert list(at.dataframe[1].value["Sign-in name"]) == [m["username"] for m in members[:50]]
    at.number_input(key="cm_page").set_value(2).run()
    assert list(at.dataframe[1].value["Sign-in name"]) == [m["username"] for m in members[50:]]
    # a search offers the matching trainees who are not members yet
    at.text_input(key="cm_find").input("PICKED07").run()
    assert at.multiselect(key="cm_add").options == [f"Picked {k:03d} (picked{k:03d})" for k in range(70, 80)]
    at.multiselect(key="cm_add").set_value([ids[70], ids[71]])
    next(b for b in at.button if b.label == "Add members").click().run()
    assert not at.exception, at.exception
    assert sorted(auth.cohort_member_ids(demo, cohort)) == sorted(ids[:60] + ids[70:72])
    # a broad search offers one page of matches and says so
    at.text_input(key="cm_find").input("picked").run()
    assert len(at.multiselect(key="cm_add").options) == 50
    assert "The first 50 matches are offered" in texts(at)
    # removing picks among the members on the page shown
    at.number_input(key="cm_page").set_value(1).run()
    first = auth.cohort_members(demo, cohort, limit=1)[0]
    at.multiselect(key="cm_remove").set_value([first["id"]])
    next(b for b in at.button if b.label == "Remove members").click().run()
    assert not at.exception, at.exception
    assert sorted(auth.cohort_member_ids(demo, cohort)) == sorted(set(ids[:60] + ids[70:72]) - {first["id"]})
    assert {c["id"]: sorted(auth.cohort_member_ids(demo, c["id"])) for c in others} == before_others
    # linking a supervisor: the trainee is found by search too
    sup = auth.find_user(demo, "supervisor")
    at.text_input(key="ln_find").input("picked115").run()
    assert at.selectbox(key="ln_tr").options == ["Picked 115 (picked115)"]
    at.selectbox(key="ln_sup").set_value(sup.id)
    next(b for b in at.button if b.label == "Link").click().run()
    assert not at.exception, at.exception
    assert ids[115] in auth.supervisee_ids(demo, sup.id)


def test_changing_a_cohort_writes_only_who_joins_or_leaves_and_only_active_trainees_join(demo):
    """Adding one member to a large cohort wrote the whole cohort again (one log row of the
    report's changes per member, twice) and its audit entry listed everyone; a deactivated
    trainee could be picked. Now: only the changed rows, an audit of who was added and removed,
    a deactivated trainee or a non-trainee refused with a sentence, and not offered by the page."""
    admin = _id(demo, "admin")
    ids = _add_trainees(demo, "big", 300)
    cohort = auth.create_cohort(demo, "Large intake", admin)
    auth.set_cohort_members(demo, cohort, ids[:299], admin)

    def log_rows():
        return demo.conn.execute("SELECT COUNT(*) FROM submitted_changes").fetchone()[0]

    before = log_rows()
    auth.change_cohort_members(demo, cohort, add=[ids[299]], remove=[ids[0], ids[0]], actor_id=admin)
    assert sorted(auth.cohort_member_ids(demo, cohort)) == ids[1:]
    assert log_rows() - before <= 2  # one joined, one left: not 600 rows for 300 members
    detail = demo.conn.execute("SELECT detail FROM audit_log WHERE action = 'change_cohort_members' "
                               "ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert '"added": [' + str(ids[299]) + "]" in detail and '"removed": [' + str(ids[0]) + "]" in detail
    # nothing to change writes nothing
    count = demo.conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
    auth.change_cohort_members(demo, cohort, add=[ids[5]], remove=[ids[0]], actor_id=admin)
    assert demo.conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0] == count
    # a deactivated trainee, or someone who is not a trainee, is refused and nothing changes
    auth.set_active(demo, ids[0], False, admin)
    for wrong in (ids[0], admin):
        with pytest.raises(auth.AuthError, match="Only active trainees"):
            auth.change_cohort_members(demo, cohort, add=[wrong], remove=[ids[1]], actor_id=admin)
    assert sorted(auth.cohort_member_ids(demo, cohort)) == ids[1:]
    # the page does not offer a deactivated trainee, to a cohort or to a supervisor
    other = auth.create_cohort(demo, "Empty intake", admin)
    at = app_as(admin, "cohorts.py")
    at.selectbox(key="cm_cohort").set_value(next(c for c in auth.list_cohorts(demo) if c["id"] == other)).run()
    at.text_input(key="cm_find").input("big000").run()
    assert at.multiselect(key="cm_add").options == []
    assert "No active trainee outside this cohort matches" in texts(at)
    at.text_input(key="cm_find").input("big001").run()
    assert at.multiselect(key="cm_add").options == ["Big 001 (big001)"]
    at.text_input(key="ln_find").input("big000").run()
    assert "No active trainee matches" in texts(at)
    at.text_input(key="ln_find").input("big001").run()
    assert at.selectbox(key="ln_tr").options == ["Big 001 (big001)"]
