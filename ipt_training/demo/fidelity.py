"""Demo data for fidelity rating (issue 4): recorded sessions, assignments, ratings, gold standard.

Stores the eight synthetic demo recordings (``demo_data/sessions``) through
:func:`fidelity.add_session`, so they are checked and content-addressed under
``<data_dir>/recordings`` like any upload, and uses them across 25 sessions:

* trainee.ready (Rosa): cases 'Case R1'-'Case R3', one initial, middle and termination session
  each, all rated by the certified demo rater and passing (credential evidence).
* trainee.near (Nico): 'Case N1' complete and passing; 'Case N2' with an initial session that
  fails on the critical risk review (Ruth's recording) and the deliberately weak middle session.
* trainee (Tara): 'Case T1' with one session rated (and self-rated), one assigned to 'rater' and
  not yet rated (the browser journey rates it; Tara's self-rating of it is already submitted),
  and one with the rater's draft in progress; plus the eight gold-standard (calibration)
  sessions with the manifest's metadata and the expert's consensus rating, across quality
  levels: good, failing on a critical item, near the pass mark, a wrong focus, weak (issue 13).
* About half of the rated sessions are double-rated by 'rater2' or 'supervisor', so the
  reliability report has pairs. Calibration: 'rater' and 'supervisor' meet the default
  pooled certification policy; 'rater2' is one point lenient throughout one session and passes the
  near-pass session the expert fails, so is not certified.

Where a recording stands in for a session of another case focus, the scores are derived from
the manifest's expert rating of that recording (the area item of the recording is carried over
to the case's area item) with small deterministic perturbations of the IPT items per rater
(proscribed items keep the expert's score), and the session notes say the recording is a
stand-in.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import random
from pathlib import Path

import yaml
from sqlite_utils import Database

from .. import fidelity
from ..auth import get_user
from ..config import get_settings
from ..content import Library
from ..fidelity.transcripts import parse_transcript

SESSIONS_DIR = Path(__file__).parent.parent / "demo_data" / "sessions"
MANIFEST = SESSIONS_DIR / "sessions.yaml"
SLUG = {"initial": "initial-grief-ruth", "middle": "middle-dispute-daniel", "weak": "middle-transition-grace-weak",
        "termination": "termination-deficits-tom", "nearpass": "middle-transition-priya-nearpass",
        "wrongfocus": "initial-wrongfocus-marcus", "adolescent": "initial-adolescent-maya", "group": "middle-group-ipt"}

# (trainee, case pseudonym, case focus, [(session number, phase, recording key, days ago added)])
CASES = [
    ("trainee.ready", "Case R1", "role_dispute", [(2, "initial", "adolescent", 170), (7, "middle", "middle", 140),
                                                  (15, "termination", "termination", 95)]),
    ("trainee.ready", "Case R2", "grief", [(1, "initial", "adolescent", 160), (6, "middle", "middle", 125),
                                           (14, "termination", "termination", 80)]),
    ("trainee.ready", "Case R3", "interpersonal_deficits", [(3, "initial", "adolescent", 150),
                                                            (8, "middle", "middle", 110),
                                                            (16, "termination", "termination", 60)]),
    ("trainee.near", "Case N1", "role_dispute", [(2, "initial", "adolescent", 120), (6, "middle", "middle", 90),
                                                 (14, "termination", "termination", 45)]),
    ("trainee.near", "Case N2", "role_transition", [(1, "initial", "initial", 70), (5, "middle", "weak", 40)]),
    ("trainee", "Case T1", "grief", [(2, "initial", "initial", 12), (3, "initial", "initial", 8), (7, "middle", "middle", 55)]),
]
# sessions (case, number) double-rated, and by whom
SECOND_RATER = {
    ("Case R1", 7): "rater2", ("Case R3", 16): "rater2", ("Case N1", 6): "rater2", ("Case N2", 5): "rater2",
    ("Case T1", 7): "rater2", ("Case R2", 1): "supervisor", ("Case R1", 15): "supervisor", ("Case N1", 14): "supervisor",
}
OPEN_SECOND = {("Case R2", 14): "rater2"}  # assigned, not yet rated
NOT_RATED = {("Case T1", 2)}  # assigned to 'rater', left for the browser journey
DRAFT = {("Case T1", 3)}  # 'rater' has a draft in progress
SELF_RATED = {("Case T1", 2), ("Case T1", 7), ("Case R1", 2), ("Case R2", 6), ("Case N2", 5)}
# gold-standard sessions: recording key, days ago the calibrations were rated (every recording, so
# calibration spans quality levels; the six most recent, across the three phases, decide certification)
GOLD = [("initial", 260), ("wrongfocus", 230), ("nearpass", 200), ("adolescent", 170), ("group", 140), ("weak", 80),
        ("middle", 50), ("termination", 20)]
# calibration ratings: items that differ from the expert per rater and gold session, and by how much
# (moved toward the middle of the scale when the step would leave it)
CALIBRATION_OFF = {
    "rater": {"initial": {"init_sick_role": 1}, "wrongfocus": {"tech_exploratory": 1},
              "nearpass": {"link_mood_events": 1}, "adolescent": {"tech_clarification": 1}, "group": {"work_at_home": 1},
              "weak": {"area_role_transition": 1}, "middle": {"tech_exploratory": 1},
              "termination": {"term_review_gains": 1}},
    "supervisor": {"initial": {"quality_pacing": 1}, "wrongfocus": {"init_sick_role": 1},
                   "nearpass": {"pro_cognitive_restructuring": 1}, "adolescent": {"quality_pacing": 1},
                   "group": {"tech_affect": 1}, "weak": {"tech_affect": 1}, "middle": {"quality_pacing": 1},
                   "termination": {"quality_pacing": 1}},
    # rater2 scores the weak session one point high throughout ("*": every scored IPT item), misses
    # the risk item on Ruth's session, and misses the brief drift into cognitive restructuring on
    # Priya's, so passes a session the expert fails (pass/fail disagreement: not certified)
    "rater2": {"initial": {"init_risk_review": 2, "init_symptom_review": 1}, "wrongfocus": {"focus_fit": 1},
               "nearpass": {"pro_cognitive_restructuring": -1}, "adolescent": {"tech_affect": 1},
               "group": {"group_process": -1}, "weak": {"*": 1}, "middle": {"tech_affect": 1},
               "termination": {"term_review_gains": 1, "term_ending_transition": 1, "tech_affect": 1,
                               "quality_focus": 1}},
}


def _manifest() -> dict:
    data = yaml.safe_load(MANIFEST.read_text("utf-8"))
    return {s["slug"]: s for s in data["sessions"]}


def _expert(rec: dict) -> dict[str, tuple]:
    """item -> (score or None for N/A, reason) from the manifest's expert rating."""
    return {k: (None if str(v["score"]).lower() == "na" else int(v["score"]), v["reason"])
            for k, v in rec["expert_rating"].items()}


def _base_scores(inst, rec: dict, phase: str, area: str) -> dict[str, tuple]:
    """Expert scores of the recording mapped onto the items of a session of (phase, area)."""
    expert = _expert(rec)
    by_id = {it.id: it for it in inst.items}
    area_item = next((v for k, v in expert.items() if k in by_id and by_id[k].problem_areas), None)
    numbers = [s for k, (s, _) in expert.items() if s is not None and not (k in by_id and by_id[k].proscribed)]
    fallback = round(sum(numbers) / len(numbers))
    out = {}
    for it in inst.applicable_items(phase, area):
        if it.id in expert:
            out[it.id] = expert[it.id]
        elif it.problem_areas and area_item is not None:
            out[it.id] = area_item
        elif it.proscribed:
            out[it.id] = (1, "")
        else:
            out[it.id] = (fallback, "")
    return out


def _perturb(scores: dict[str, tuple], seed: str, p: float = 0.3, keep: frozenset = frozenset()) -> dict[str, tuple]:
    """Move about ``p`` of the scores one point (deterministically per seed); ``keep`` stay as they are."""
    rng = random.Random(seed)
    out = {}
    for item, (score, reason) in scores.items():
        if score is not None and item not in keep and rng.random() < p:
            score = min(5, max(1, score + rng.choice((-1, 1))))
        out[item] = (score, reason)
    return out


def _days_ago(today: _dt.date, days: int, hour: int = 10) -> str:
    day = today - _dt.timedelta(days=days)
    return _dt.datetime(day.year, day.month, day.day, hour, 0, tzinfo=_dt.timezone.utc).isoformat()


def _marks_for(cues: list[dict], items: list[str], seed: str) -> list[tuple]:
    """Two or three evidence marks at transcript cues, tied to items."""
    rng = random.Random(seed)
    picks = sorted(rng.sample(range(len(cues)), min(len(cues), 3)))
    out = []
    for n, ix in enumerate(picks):
        cue = cues[ix]
        words = " ".join(cue["text"].split()[:10])
        item = items[(n * 3 + rng.randrange(len(items))) % len(items)] if items else None
        out.append((cue["start_s"], item, f"{cue['speaker'] or 'Speaker'}: \"{words}...\""))
    return out


def _comment(inst, scores: dict[str, tuple]) -> str:
    items = [it for it in inst.items if it.id in scores]
    scored = {it.id: scores[it.id][0] for it in items if scores[it.id][0] is not None and not it.proscribed}
    if not scored:
        return ""
    result = fidelity.session_result(inst, items, {k: {"score": s, "not_applicable": s is None}
                                                   for k, (s, _) in scores.items()})
    texts = {it.id: it.section for it in inst.items}
    best = max(scored, key=lambda k: (scored[k], k))
    worst = min(scored, key=lambda k: (scored[k], k))
    if result["passed"]:
        return (f"A faithful session overall. Strongest: {best.replace('_', ' ')} ({texts[best].lower()}). "
                f"To work on: {worst.replace('_', ' ')}, see the evidence marks.")
    if result["failed_by"]:
        first = result["failed_by"][0]["item"]
        return (f"Fails the pass rule on {first.replace('_', ' ')} ({texts[first].lower()}), whatever the rest; "
                "review the marked moments in supervision.")
    return (f"Below the pass mark. Start with {worst.replace('_', ' ')} "
            f"({texts[worst].lower()}) and review the marked moments in supervision.")


def _rate(db, library, user, sid, kind, scores, cues, seed, when, submit=True, comment=True, reasons=False):
    inst = fidelity.instrument_of(library, fidelity.default_instrument_id(db, library))
    rating = fidelity.get_or_create_draft(db, user, sid, kind, library=library)
    for item, (score, reason) in scores.items():
        fidelity.save_item(db, user, rating["id"], item, score, score is None,
                           reason if reasons else None, library=library)
    if kind != "gold":
        for t, item, note in _marks_for(cues, list(scores), seed):
            fidelity.add_evidence_mark(db, user, rating["id"], t, item, note, library=library)
    if comment:
        fidelity.set_comment(db, user, rating["id"], _comment(inst, scores) if kind == "rater" else
                             ("Expert consensus of the demo panel." if kind == "gold" else
                              "My own view of the session before reading the rater's."))
    if submit:
        fidelity.submit_rating(db, user, rating["id"], library=library)
    db.conn.execute("UPDATE ratings SET created_at = ?, updated_at = ?, submitted_at = CASE WHEN status = 'submitted' "
                    "THEN ? ELSE NULL END WHERE id = ?", (when, when, when, rating["id"]))
    return rating["id"]


def load(db: Database, library: Library, ids: dict, cohort_id: int, data_dir) -> None:
    if "ipt-session-fidelity" not in library.instruments:
        return  # the instrument failed validation; Content status shows why
    settings = dataclasses.replace(get_settings(), data_dir=Path(data_dir))
    today = _dt.date.today()
    manifest = _manifest()
    inst = library.instruments["ipt-session-fidelity"]
    proscribed = frozenset(it.id for it in inst.items if it.proscribed)
    users = {name: get_user(db, uid) for name, uid in ids.items()}
    admin, supervisor = users["admin"], users["supervisor"]
    files = {key: (SESSIONS_DIR / manifest[slug]["audio"], SESSIONS_DIR / manifest[slug]["transcript"])
             for key, slug in SLUG.items()}
    cues = {key: parse_transcript(t.read_bytes(), t.name) for key, (_, t) in files.items()}

    def add(trainee: str, case: str, area: str, number: int, phase: str, key: str, days: int, note: str) -> int:
        audio, transcript = files[key]
        sid = fidelity.add_session(
            db, settings, users[trainee], ids[trainee], audio.name, audio.read_bytes(), transcript.name,
            transcript.read_bytes(),
            {"case_pseudonym": case, "session_number": number, "phase": phase, "problem_area": area, "notes": note},
            consent=True)
        db.conn.execute("UPDATE recorded_sessions SET created_at = ? WHERE id = ?", (_days_ago(today, days, 9), sid))
        return sid

    # --- trainees' sessions, first and second ratings, self-ratings ---
    for trainee, case, area, sessions in CASES:
        for number, phase, key, days in sessions:
            rec = manifest[SLUG[key]]
            coherent = rec["phase"] == phase and rec["problem_area"] == area
            note = ("Demo session (synthetic role-play)." if coherent else
                    f"Demo session: the synthetic recording '{rec['title']}' stands in for this {phase}-phase session.")
            sid = add(trainee, case, area, number, phase, key, days, note)
            base = _base_scores(inst, rec, phase, area)
            due = (today - _dt.timedelta(days=days - 21)).isoformat()
            fidelity.assign(db, supervisor, sid, ids["rater"], due, "rating")
            if (case, number) in NOT_RATED:
                db.conn.execute("UPDATE assignments SET due_date = ? WHERE session_id = ? AND rater_id = ?",
                                ((today + _dt.timedelta(days=10)).isoformat(), sid, ids["rater"]))
            elif (case, number) in DRAFT:
                partial = dict(list(_perturb(base, f"{sid}-rater", keep=proscribed).items())[:4])
                _rate(db, library, users["rater"], sid, "rater", partial, cues[key], f"{sid}-rater",
                      _days_ago(today, 1), submit=False, comment=False)
                db.conn.execute("UPDATE assignments SET due_date = ? WHERE session_id = ? AND rater_id = ?",
                                ((today + _dt.timedelta(days=14)).isoformat(), sid, ids["rater"]))
            else:
                _rate(db, library, users["rater"], sid, "rater", _perturb(base, f"{sid}-rater", keep=proscribed), cues[key],
                      f"{sid}-rater", _days_ago(today, max(1, days - 10)))
            second = SECOND_RATER.get((case, number))
            if second:
                # nobody assigns themself: the administrator assigns the supervisor's second ratings
                fidelity.assign(db, admin if second == "supervisor" else supervisor, sid, ids[second], due,
                                "second_rating")
                _rate(db, library, users[second], sid, "rater", _perturb(base, f"{sid}-{second}", keep=proscribed),
                      cues[key],
                      f"{sid}-{second}", _days_ago(today, max(1, days - 14)))
            second = OPEN_SECOND.get((case, number))
            if second:
                fidelity.assign(db, supervisor, sid, ids[second], (today + _dt.timedelta(days=7)).isoformat(),
                                "second_rating")
            if (case, number) in SELF_RATED:
                _rate(db, library, users[trainee], sid, "self", _perturb(base, f"{sid}-self", 0.45, proscribed), cues[key],
                      f"{sid}-self", _days_ago(today, max(1, days - 3)))

    db.conn.execute("""UPDATE assignments SET created_at = (SELECT created_at FROM recorded_sessions s
                       WHERE s.id = assignments.session_id)""")

    # --- gold-standard (calibration) sessions: the manifest's own metadata and expert rating ---
    for key, days in GOLD:
        rec = manifest[SLUG[key]]
        sid = add("trainee", rec["case_pseudonym"], rec["problem_area"], int(rec["session_number"]), rec["phase"], key,
                  days + 40, "Demo calibration session (synthetic role-play) with the expert consensus rating.")
        fidelity.mark_gold_standard(db, admin, sid, True)
        expert = _base_scores(inst, rec, rec["phase"], rec["problem_area"])
        _rate(db, library, admin, sid, "gold", expert, cues[key], f"{sid}-gold", _days_ago(today, days + 30),
              reasons=True)
        for rater in ("rater", "supervisor", "rater2"):
            fidelity.assign(db, admin, sid, ids[rater], (today - _dt.timedelta(days=days - 7)).isoformat(), "calibration")
            scores = dict(expert)
            proscribed_or_na = {i for i, (v, _) in expert.items() if v is None or i in proscribed}
            for item, delta in CALIBRATION_OFF[rater][key].items():
                for one_item in (sorted(set(expert) - proscribed_or_na) if item == "*" else [item]):
                    score, reason = scores[one_item]
                    moved = score + delta if 1 <= score + delta <= 5 else score - delta
                    scores[one_item] = (moved, reason)
            _rate(db, library, users[rater], sid, "rater", scores, cues[key], f"{sid}-{rater}",
                  _days_ago(today, days, 11 + ("rater", "supervisor", "rater2").index(rater)))
