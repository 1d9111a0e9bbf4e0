"""Issue 16: the reliability report kept up to date by appending submitted ratings equals a
from-scratch computation after every kind of write, and rebuilds nothing it need not."""

from __future__ import annotations

import datetime as dt
import gc
import math
import random
import weakref

import numpy as np
import pandas as pd
import pytest

from ipt_training import fidelity
from ipt_training.credentials import evidence
from ipt_training.fidelity.gold import mark_gold_standard
from ipt_training.reliability import calibration, report_data as rd, report_live, report_sums, shared_cache

from test_calibration import Builder

INSTRUMENT = "ipt-session-fidelity"
SKIP = {"generated_at", "bland_altman_memo"}


def assert_same(got, want, path="report"):
    """Every figure equal to 1e-10, every count, label, note and table exactly."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) - SKIP == set(want) - SKIP, path
        for k in want:
            if k not in SKIP:
                assert_same(got[k], want[k], f"{path}.{k}")
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), path
        for n, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"{path}[{n}]")
    elif isinstance(want, pd.DataFrame):
        assert list(got.columns) == list(want.columns) and list(got.index) == list(want.index), path
        for column in want.columns:
            assert_same(list(got[column]), list(want[column]), f"{path}.{column}")
    elif isinstance(want, float) or isinstance(got, float):
        if want is None or got is None:
            assert got is want, path
        elif math.isnan(want):
            assert math.isnan(got), path
        else:
            assert got == pytest.approx(want, abs=1e-10, rel=0), path
    else:
        assert got == want, path


class World:
    """Raters rotating over sessions of two cohorts' trainees, written to as the app does."""

    def __init__(self, db, library, seed: int):
        self.db, self.lib, self.rng = db, library, random.Random(seed)
        self.b = Builder(db)
        self.inst = library.instruments[INSTRUMENT]
        self.admin = self.b.as_user(self.b.user("boss", "admin"))
        self.trainees = [self.b.user(f"t{k}", "trainee") for k in range(4)]
        self.raters = [self.b.user(f"r{k}") for k in range(6)]
        db.conn.execute("UPDATE users SET display_name = 'Sam' WHERE username IN ('r4', 'r5')")  # a shared name
        c1 = db.conn.execute("INSERT INTO cohorts (name, created_at) VALUES ('One', '2025-01-01')").lastrowid
        db.conn.execute("INSERT INTO cohorts (name, created_at) VALUES ('Two', '2025-01-01')")
        self.cohort = c1
        for t in self.trainees[:2]:
            db.conn.execute("INSERT INTO cohort_members (cohort_id, user_id) VALUES (?, ?)", (c1, t))
        self.sessions = [self.b.session(t, phase=("initial", "middle", "termination")[k % 3])
                         for k, t in enumerate(self.trainees * 3)]
        self.day = 0
        for _ in range(14):
            self.submit()

    def _scores(self, sid: int) -> dict:
        s = self.db.conn.execute("SELECT phase, problem_area FROM recorded_sessions WHERE id = ?", (sid,)).fetchone()
        out = {}
        for it in self.inst.applicable_items(*s):
            if self.rng.random() < 0.1 and not it.proscribed:
                out[it.id] = None  # N/A now and then
            else:
                out[it.id] = 1 if it.proscribed and self.rng.random() < 0.7 else self.rng.randint(1, 5)
        return out

    def _free_pair(self, rated: bool):
        taken = set(self.db.conn.execute("SELECT session_id, rater_id FROM ratings WHERE kind = 'rater'").fetchall())
        counts = dict(self.db.conn.execute("SELECT session_id, COUNT(*) FROM ratings WHERE kind = 'rater' "
                                           "AND status = 'submitted' GROUP BY session_id").fetchall())
        pairs = [(s, r) for s in self.sessions for r in self.raters
                 if (s, r) not in taken and (counts.get(s, 0) > 0) == rated]
        return self.rng.choice(pairs) if pairs else None

    def submit(self, rated: bool | None = None) -> None:
        """A rater scores a session (a draft) and submits it: the first or a further rating."""
        pair = self._free_pair(self.rng.random() < 0.5 if rated is None else rated)
        if pair is None:
            return
        self.day += 1
        rid = self.b.rating(pair[0], pair[1], self._scores(pair[0]), status="draft")
        self.b.submit(rid, f"2026-02-{1 + self.day % 27:02d}")

    def draft_save(self) -> None:
        pair = self._free_pair(self.rng.random() < 0.5)
        if pair:
            self.b.rating(pair[0], pair[1], self._scores(pair[0]), status="draft")

    def reopen(self) -> None:
        ids = [r[0] for r in self.db.conn.execute("SELECT id FROM ratings WHERE status = 'submitted'")]
        if ids:
            fidelity.reopen_rating(self.db, self.admin, self.rng.choice(ids), "a correction")

    def resubmit(self) -> None:
        ids = [r[0] for r in self.db.conn.execute("SELECT id FROM ratings WHERE status = 'draft'")]
        if ids:
            self.b.submit(self.rng.choice(ids), "2026-02-20")

    def correct_score(self) -> None:
        row = self.db.conn.execute("""SELECT i.rating_id, i.item_id FROM item_scores i JOIN ratings r ON r.id = i.rating_id
                                      WHERE r.status = 'submitted' AND i.score IS NOT NULL ORDER BY random() LIMIT 1""").fetchone()
        if row:
            self.db.conn.execute("UPDATE item_scores SET score = ? WHERE rating_id = ? AND item_id = ?",
                                 (self.rng.randint(1, 5), *row))

    def gold(self) -> None:
        sid = self.rng.choice(self.sessions)
        on = not self.db.conn.execute("SELECT is_gold_standard FROM recorded_sessions WHERE id = ?", (sid,)).fetchone()[0]
        mark_gold_standard(self.db, self.admin, sid, on)

    def delete_session(self) -> None:
        self.db.conn.execute("UPDATE recorded_sessions SET deleted_at = '2026-03-01' WHERE id = ?",
                             (self.rng.choice(self.sessions),))

    def cohort_change(self) -> None:
        t = self.rng.choice(self.trainees)
        if self.db.conn.execute("DELETE FROM cohort_members WHERE cohort_id = ? AND user_id = ?", (self.cohort, t)).rowcount == 0:
            self.db.conn.execute("INSERT INTO cohort_members (cohort_id, user_id) VALUES (?, ?)", (self.cohort, t))

    def rename(self) -> None:
        self.db.conn.execute("UPDATE users SET display_name = ? WHERE id = ?",
                             (self.rng.choice(["Sam", "Alex", "Kim"]), self.rng.choice(self.raters)))

    def log_entry(self) -> None:
        evidence.record_clinical_hours(self.db, self.admin, self.rng.choice(self.trainees), "2025-09-01", 2.0, "clinic")


WRITES = {"submission": 8, "second rating": 6, "draft save": 4, "reopen": 2, "resubmit": 2, "correction": 1,
          "gold change": 1, "session deleted": 1, "cohort change": 1, "rename": 1, "log entry": 2}


def _write(world: World, kind: str) -> None:
    {"submission": lambda: world.submit(False), "second rating": lambda: world.submit(True),
     "draft save": world.draft_save, "reopen": world.reopen, "resubmit": world.resubmit,
     "correction": world.correct_score, "gold change": world.gold, "session deleted": world.delete_session,
     "cohort change": world.cohort_change, "rename": world.rename, "log entry": world.log_entry}[kind]()


def _check(world: World, selections: list[dict]) -> None:
    db, lib = world.db, world.lib
    for sel in selections:
        kept = report_live.kept_rows(db, lib, INSTRUMENT, **sel)
        blinds = [frozenset(), frozenset({world.rng.choice(sorted(kept.session_ids))})] if kept.session_ids else [frozenset()]
        for blind in blinds:
            got = report_live.shared_report(db, lib, INSTRUMENT, **sel, blind=blind)
            want = rd.reliability_report(db, lib, INSTRUMENT, **sel, exclude_sessions=blind)
            assert_same(got, want)
            if want["n_double_rated"]:
                assert_same(report_live.shared_generalizability(db, lib, INSTRUMENT, **sel, blind=blind),
                            rd.generalizability(db, lib, INSTRUMENT, **sel, exclude_sessions=blind), "g")


@pytest.mark.parametrize("seed", range(3))
def test_the_kept_report_equals_a_full_computation_after_every_write(db, library, seed):
    world = World(db, library, seed)
    shared_cache.clear()
    selections = [{}, {"cohort_id": world.cohort}, {"date_from": "2026-02-05", "date_to": "2026-02-25"},
                  {"phase": "middle"}]
    kinds = [k for k, n in WRITES.items() for _ in range(n)]
    before = dict(report_live.counts)
    for _ in range(40):
        _write(world, world.rng.choice(kinds))
        _check(world, selections)
    # the test went through the incremental path, and through the full read (the item sums'
    # updates: test_second_and_third_ratings_update_the_kept_sums_to_a_full_computation)
    assert report_live.counts["appends"] > before["appends"]
    assert report_live.counts["full_reads"] > before["full_reads"] + len(selections)
    # a viewer blind to a double-rated session got the kept sums less that session
    assert report_live.counts["sums_views"] > before["sums_views"]


@pytest.mark.parametrize("seed", range(2))
def test_second_and_third_ratings_update_the_kept_sums_to_a_full_computation(db, library, seed):
    """Runs of further ratings of rated sessions (a session going from one rating to two, or
    from two to three), with first ratings between: the item sums are updated, rebuilt only
    after a full read, and every figure equals the full computation."""
    world = World(db, library, 100 + seed)
    shared_cache.clear()
    selections = [{}, {"phase": "middle"}, {"cohort_id": world.cohort}]
    for sel in selections:
        report_live.shared_report(db, library, INSTRUMENT, **sel)
    before = dict(report_live.counts)
    for k in range(24):
        world.submit(rated=bool(k % 4))
        for sel in selections:  # the viewer blind to nothing: the sums kept from the last visit
            assert_same(report_live.shared_report(db, library, INSTRUMENT, **sel),
                        rd.reliability_report(db, library, INSTRUMENT, **sel))
    # built again only after a full read (an item scored for the first time), or for a selection
    # whose figures so far came from another's (the same double-rated data)
    full_reads = report_live.counts["full_reads"] - before["full_reads"]
    assert report_live.counts["sums_built"] - before["sums_built"] <= full_reads + len(selections) - 1
    assert report_live.counts["sums_updated"] >= before["sums_updated"] + 18 * len(selections) // 2
    triple = db.conn.execute("SELECT COUNT(*) FROM (SELECT session_id FROM ratings WHERE status = 'submitted' "
                             "GROUP BY session_id HAVING COUNT(*) >= 3)").fetchone()[0]
    assert triple > 0  # some session's double-rated contribution was taken out and put in again


def test_the_comparison_catches_an_update_that_keeps_the_old_contribution(db, library, monkeypatch):
    """The check above has teeth: sums that never take a session's old contribution out differ
    from the full computation once a double-rated session is rated again."""
    world = World(db, library, 11)
    shared_cache.clear()
    report_live.shared_report(db, library, INSTRUMENT)
    real = report_sums.add_sessions
    monkeypatch.setattr(report_sums, "add_sessions",
                        lambda sums, data, sessions, sign: True if sign < 0 else real(sums, data, sessions, sign))
    caught = False
    for _ in range(12):
        world.submit(rated=True)
        try:
            assert_same(report_live.shared_report(db, library, INSTRUMENT), rd.reliability_report(db, library, INSTRUMENT))
        except AssertionError:
            caught = True
            break
    assert caught


def test_an_update_that_cannot_be_completed_drops_the_half_changed_sums(db, library, monkeypatch):
    """A session's old contribution taken out, its new one refused (a score new to the sums): the
    kept sums are half-changed, so no later visit or other blind set's copy may use them; the
    report is built afresh and equals the full computation."""
    world = World(db, library, 12)
    shared_cache.clear()
    report_live.shared_report(db, library, INSTRUMENT)
    old = list(report_live._sums.values())
    assert len(old) == 1
    real = report_sums.add_sessions
    refused = []

    def half(sums, data, sessions, sign):
        if sign > 0 and sessions is not None and not refused:
            refused.append(sums)
            return False
        return real(sums, data, sessions, sign)

    monkeypatch.setattr(report_sums, "add_sessions", half)
    world.submit(rated=True)
    assert_same(report_live.shared_report(db, library, INSTRUMENT), rd.reliability_report(db, library, INSTRUMENT))
    assert refused == [old[0].sums]  # the update was tried on the kept sums and refused half-way
    assert all(state is not old[0] for state in report_live._sums.values())
    kept = report_live.kept_rows(db, library, INSTRUMENT)
    assert report_live._touched_since(kept, old[0].version) is None  # a visitor holding it already: not updated
    blind = frozenset({sorted(kept.session_ids)[0]})
    assert_same(report_live.shared_report(db, library, INSTRUMENT, blind=blind),
                rd.reliability_report(db, library, INSTRUMENT, exclude_sessions=blind))


def test_a_visit_holding_older_rows_reads_the_sums_kept_further_without_dropping_them(db, library):
    """Two visits race: one read the kept rows, then second ratings landed and another visit
    brought the kept sums to them. The first visit's figures (of its older rows, blind or not)
    come from a view of those sums, equal to figures built afresh on the older data; the kept
    sums are neither rebuilt nor dropped."""
    world = World(db, library, 21)
    shared_cache.clear()
    for _ in range(12):
        world.submit(rated=None)
    report_live.shared_report(db, library, INSTRUMENT)
    old = report_live.kept_rows(db, library, INSTRUMENT)
    for _ in range(3):
        world.submit(rated=True)
    report_live.shared_report(db, library, INSTRUMENT)  # brings the kept sums further
    state = report_live._sums[old.key]
    assert state.version > old.version and report_live._touched_since(state, old.version)
    inst = library.instruments[INSTRUMENT]
    whole = rd.double_rated_part(report_live._data(db, old, frozenset()))
    blind = frozenset({int(whole["ratings"]["session_id"].iloc[0])})
    before = dict(report_live.counts)
    for hidden in (frozenset(), blind):
        double = rd.double_rated_part(report_live._data(db, old, hidden))
        assert_same(report_live._figures(library, inst, db, old, hidden, double), rd.figures_of(library, inst, double))
    assert report_live.counts["sums_views"] == before["sums_views"] + 2
    assert report_live.counts["sums_built"] == before["sums_built"]
    assert report_live._sums[old.key] is state and state.version > old.version


def test_a_rater_named_like_another_raters_number_keeps_their_own_pair_tables(db, library):
    """The kept sums a blind viewer reads hold every rater of the selection, those who rated only
    hidden sessions too (labelled by their id, having no label in the viewer's data). A rater
    whose display name is that id (names are typed by people) still gets their own kappa tables."""
    world = World(db, library, 2)
    for _ in range(12):
        world.submit(rated=True)
    by_count = db.conn.execute("SELECT rater_id FROM ratings WHERE status = 'submitted' "
                               "GROUP BY rater_id ORDER BY COUNT(*), rater_id").fetchall()
    hidden_rater, busiest = by_count[0][0], by_count[-1][0]
    db.conn.execute("UPDATE users SET display_name = ? WHERE id = ?", (str(hidden_rater), busiest))
    blind = frozenset(s for (s,) in db.conn.execute(
        "SELECT session_id FROM ratings WHERE rater_id = ? AND status = 'submitted'", (hidden_rater,)))
    shared_cache.clear()
    report_live.shared_report(db, library, INSTRUMENT)
    views = report_live.counts["sums_views"]
    want = rd.reliability_report(db, library, INSTRUMENT, exclude_sessions=blind)
    assert str(hidden_rater) in {p["rater_a"] for p in want["pairs"]} | {p["rater_b"] for p in want["pairs"]}
    assert_same(report_live.shared_report(db, library, INSTRUMENT, blind=blind), want)
    assert report_live.counts["sums_views"] == views + 1


def test_a_view_reads_the_kept_sums_only_while_holding_their_lock(db, library, monkeypatch):
    """A view shares the kept sums' matrices (M, W), which a visit bringing the sums further
    changes in place: every read of them through a view (its solve) happens under the kept sums'
    lock, for a blind viewer and for a visit holding older rows."""
    from ipt_training.reliability import report_cross

    world = World(db, library, 8)
    shared_cache.clear()
    report_live.shared_report(db, library, INSTRUMENT)
    old = report_live.kept_rows(db, library, INSTRUMENT)
    solved = []
    real = report_cross.ReductionView.solve

    def solve(view, nj, rhs):
        states = [s for s in report_live._sums.values() if s.sums.cross is view.base]
        solved.append(len(states) == 1 and states[0].lock.locked())
        return real(view, nj, rhs)

    monkeypatch.setattr(report_cross.ReductionView, "solve", solve)
    blind = frozenset({int(rd.double_rated_part(report_live._data(db, old, frozenset()))["ratings"]["session_id"][0])})
    report_live.shared_report(db, library, INSTRUMENT, blind=blind)
    for _ in range(3):
        world.submit(rated=True)
    report_live.shared_report(db, library, INSTRUMENT)  # the sums brought further than ``old``
    inst = library.instruments[INSTRUMENT]
    for hidden in (frozenset(), blind):
        double = rd.double_rated_part(report_live._data(db, old, hidden))
        report_live._figures(library, inst, db, old, hidden, double)
    assert len(solved) == 3 and all(solved)


def test_the_kept_sums_do_not_keep_rows_read_before_alive(db, library):
    """First ratings (the figures kept, the item sums not touched) replace the kept rows: the
    rows the sums were brought to, and every blind set's data assembled from them, are freed
    (the sums keep only the record of sessions rated since, for a visit holding older rows)."""
    world = World(db, library, 5)
    shared_cache.clear()
    report_live.shared_report(db, library, INSTRUMENT)
    report_live.shared_report(db, library, INSTRUMENT, blind=frozenset({_rated_session(world)}))
    old = report_live.kept_rows(db, library, INSTRUMENT)
    state = report_live._sums[old.key]
    gone = weakref.ref(old)
    del old
    for _ in range(3):
        world.submit(rated=False)
        report_live.shared_report(db, library, INSTRUMENT)
    gc.collect()
    assert report_live._sums[report_live.kept_rows(db, library, INSTRUMENT).key] is state
    assert gone() is None


def test_figures_depend_on_the_double_rated_sessions_only(db, library):
    """What the kept report shares while first ratings arrive: the figures of the data's
    double-rated part are those of all the data (figures, not counts)."""
    world = World(db, library, 7)
    for _ in range(6):
        world.submit(False)
    data = rd.read_ratings(db, INSTRUMENT)
    part = rd.double_rated_part(data)
    assert len(part["ratings"]) < len(data["ratings"])  # some sessions are single-rated
    inst = library.instruments[INSTRUMENT]
    full, double = rd.figures_of(library, inst, data), rd.figures_of(library, inst, part)
    for fig in [full["total"]] + full["items"]:
        fig.pop("n_sessions")
    for fig in [double["total"]] + double["items"]:
        fig.pop("n_sessions")
    assert_same(double, full, "figures")


def test_a_blind_viewers_items_follow_a_first_rating_that_scores_items_only_their_hidden_sessions_had(db, library):
    """A viewer blind to every session rated so far has no items in their data; a first rating of
    another session (which changes no double-rated session) brings its items into their report,
    as the full computation without the hidden sessions lists them (not the figures kept from before)."""
    world = World(db, library, 3)
    shared_cache.clear()
    blind = frozenset(report_live.kept_rows(db, library, INSTRUMENT).session_ids)
    assert report_live.shared_report(db, library, INSTRUMENT, blind=blind)["items"] == []
    world.submit(rated=False)
    want = rd.reliability_report(db, library, INSTRUMENT, exclude_sessions=blind)
    assert want["items"] and want["n_double_rated"] == 0
    assert_same(report_live.shared_report(db, library, INSTRUMENT, blind=blind), want)


def _rated_session(world: World) -> int:
    return world.db.conn.execute("SELECT session_id FROM ratings WHERE status = 'submitted' LIMIT 1").fetchone()[0]


def test_a_draft_save_or_a_log_entry_rebuilds_nothing_and_a_submission_reads_only_itself(db, library):
    world = World(db, library, 3)
    today = dt.date(2026, 3, 1)
    trainee = world.trainees[0]
    fresh = world.b.session(trainee)
    second = _rated_session(world)
    rater = world.b.as_user(world.b.user("newcomer"))
    for sid in (fresh, second):
        fidelity.assign(db, world.admin, sid, rater.id, None, "rating")
    shared_cache.clear()

    def visit():
        report_live.shared_report(db, library, INSTRUMENT)
        report_live.shared_generalizability(db, library, INSTRUMENT)
        calibration.shared_drift_view(db, library, today, world.admin)
        return dict(report_live.counts), dict(shared_cache.builds)

    visit()
    reads, builds = visit()
    # a rater's draft saves and a trainee's log entry: nothing read, nothing computed
    draft = fidelity.get_or_create_draft(db, rater, fresh, "rater", library=library)
    items = [it for it in world.inst.applicable_items("middle", "role_dispute")]
    for k, it in enumerate(items):
        fidelity.save_item(db, rater, draft["id"], it.id, 1 if it.proscribed else 2 + k % 4, False, library=library)
    world.log_entry()
    assert visit() == (reads, builds)
    # the first rating of a session: that rating read, the counts updated; figures, G study and drift kept
    fidelity.submit_rating(db, rater, draft["id"], library=library)
    after, built = visit()
    assert after["full_reads"] == reads["full_reads"] and after["appends"] == reads["appends"] + 1
    assert after["ratings_appended"] == reads["ratings_appended"] + 1
    grew = {k for k in built if built[k] != builds.get(k, 0)}
    assert grew == {"reliability_report", "g_input"}
    # a second rating of a session: read alone too; the figures and the G study change, drift does not
    draft = fidelity.get_or_create_draft(db, rater, second, "rater", library=library)
    s = db.conn.execute("SELECT phase, problem_area FROM recorded_sessions WHERE id = ?", (second,)).fetchone()
    for it in world.inst.applicable_items(*s):
        fidelity.save_item(db, rater, draft["id"], it.id, 1 if it.proscribed else 4, False, library=library)
    fidelity.submit_rating(db, rater, draft["id"], library=library)
    again, built2 = visit()
    assert again["full_reads"] == reads["full_reads"] and again["appends"] == after["appends"] + 1
    grew = {k for k in built2 if built2[k] != built.get(k, 0)}
    assert grew == {"reliability_report", "g_input", "reliability_figures", "generalizability"}
    # a calibration rating (a gold-standard session) changes drift; the report reads it and keeps it out
    mark_gold_standard(db, world.admin, fresh, True)
    visit()
    _, built3 = visit()
    expert = world.b.user("expert", "admin")
    world.b.rating(fresh, expert, {it.id: 3 for it in items}, kind="gold", status="submitted")
    _, built4 = visit()
    assert built4["drift_view"] == built3["drift_view"] + 1
