"""Fidelity rating of recorded sessions (issue 4): instrument validation, upload refusals,
access and the blind rule at the data-access layer, drafts, submission, reopen, audit, deletion."""

from __future__ import annotations

import dataclasses
import os
import re
import datetime as dt
import shutil
import struct
from pathlib import Path

import pytest
import yaml

from ipt_training import auth, fidelity
from ipt_training.reliability import calibration
from ipt_training.config import Settings
from ipt_training.content import load_library
from ipt_training.store import open_store, rows
from ipt_training.fidelity.transcripts import TranscriptError, parse_transcript

ROOT = Path(__file__).resolve().parents[2]
SESSIONS = ROOT / "ipt_training" / "demo_data" / "sessions"
OGG = (SESSIONS / "middle-dispute-daniel.ogg").read_bytes()
VTT = (SESSIONS / "middle-dispute-daniel.vtt").read_bytes()
INSTRUMENT = "ipt-session-fidelity"


# --- small, valid media files built by hand ----------------------------------------------


def _wav(n_samples: int = 800) -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    data = b"\x00\x00" * n_samples
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _mp3(frames: int = 3) -> bytes:
    frame = b"\xff\xfb\x90\x64" + b"\x00" * 413  # MPEG-1 layer III, 128 kbit/s, 44.1 kHz: 417 bytes
    return b"ID3\x04\x00\x00\x00\x00\x00\x00" + frame * frames


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _mp4(samples: int = 1, mdat: bytes = b"\x01" * 200) -> bytes:
    """ftyp, an index (moov: mvhd and one track whose sample table lists ``samples``), media."""
    stsz = _box(b"stsz", b"\x00\x00\x00\x00" + struct.pack(">II", 0, samples) + struct.pack(">I", 200) * samples)
    trak = _box(b"trak", _box(b"mdia", _box(b"minf", _box(b"stbl", stsz))))
    moov = _box(b"moov", _box(b"mvhd", b"\x00" * 100) + trak)
    return _box(b"ftyp", b"M4A \x00\x00\x02\x00isomiso2") + moov + _box(b"mdat", mdat)


def _webm() -> bytes:
    header = b"\x1a\x45\xdf\xa3" + b"\x84" + b"\x42\x86\x81\x01"
    return header + b"\x18\x53\x80\x67" + b"\x94" + b"\x00" * 20


VALID = {"a.ogg": OGG, "a.wav": _wav(), "a.mp3": _mp3(), "a.m4a": _mp4(), "a.mp4": _mp4(), "a.webm": _webm()}


# --- a small world -----------------------------------------------------------------------


def _user(db, name: str, roles: list[str]):
    """An account without an argon2 hash (hashing is slow and not what these tests are about)."""
    uid = db.conn.execute("INSERT INTO users (username, display_name, password_hash, created_at) VALUES (?,?,?,?)",
                          (name, name.title(), "x", "2026-01-01")).lastrowid
    db.conn.executemany("INSERT INTO user_roles (user_id, role) VALUES (?, ?)", [(uid, r) for r in roles])
    return auth.get_user(db, uid)


class World:
    def __init__(self, db, tmp_path: Path, library):
        self.db, self.library = db, library
        self.settings = Settings(data_dir=tmp_path / "data", db_path=tmp_path / "test.db", content_dir=ROOT,
                                 max_upload_mb=2)
        self.db_path = tmp_path / "test.db"
        mk = lambda name, roles: _user(db, name, roles)  # noqa: E731
        self.admin = mk("admin", ["admin"])
        self.sup = mk("sup", ["supervisor", "rater"])
        self.ra = mk("ra", ["rater"])
        self.rb = mk("rb", ["rater"])
        self.tr = mk("tr", ["trainee"])
        self.other = mk("other", ["trainee"])
        auth.link_supervisor(db, self.sup.id, self.tr.id, self.admin.id)

    def add(self, trainee=None, data=OGG, name="s.ogg", transcript=VTT, tname="s.vtt", phase="middle",
            area="role_dispute", number=6, consent=True, actor=None, settings=None):
        trainee = trainee or self.tr
        return fidelity.add_session(self.db, settings or self.settings, actor or trainee, trainee.id, name, data,
                                    tname if transcript is not None else None, transcript,
                                    {"case_pseudonym": "Case A", "session_number": number, "phase": phase,
                                     "problem_area": area}, consent)

    def items(self, sid):
        s = fidelity.get_session(self.db, self.admin, sid)
        return [it.id for it in self.library.instruments[INSTRUMENT].applicable_items(s["phase"], s["problem_area"])]

    def proscribed(self) -> set[str]:
        return {it.id for it in self.library.instruments[INSTRUMENT].items if it.proscribed}

    def rate(self, user, sid, kind="rater", score=4, submit=True, overrides=None):
        """Every applicable item at ``score``, except proscribed items at 1 (did not occur)."""
        r = fidelity.get_or_create_draft(self.db, user, sid, kind, library=self.library)
        for item in self.items(sid):
            value = (overrides or {}).get(item, 1 if item in self.proscribed() else score)
            fidelity.save_item(self.db, user, r["id"], item, None if value == "na" else value, value == "na",
                               f"reason for {item}" if kind == "gold" else None, library=self.library)
        if submit:
            fidelity.submit_rating(self.db, user, r["id"], library=self.library)
        return r["id"]


@pytest.fixture
def w(db, tmp_path, library):
    return World(db, tmp_path, library)


# --- instrument validation ---------------------------------------------------------------


def test_shipped_instrument_is_valid_and_complete(library):
    inst = library.instruments[INSTRUMENT]
    scale = library.scales[inst.scale]
    assert (scale.min, scale.max) == (1, 5)
    assert inst.pass_rule.threshold == 3.0
    assert all(set(it.anchors) == set(scale.points) for it in inst.items)
    middle_dispute = {it.id for it in inst.applicable_items("middle", "role_dispute")}
    assert "area_role_dispute" in middle_dispute and "area_grief" not in middle_dispute
    assert "init_sick_role" not in middle_dispute
    assert "fidelity" not in [e.path for e in library.errors]


def _instrument_tree(tmp_path: Path, edit) -> Path:
    shutil.copytree(ROOT / "rubrics", tmp_path / "rubrics")
    f = tmp_path / "rubrics" / "ipt_session_fidelity.yaml"
    f.write_text(edit(f.read_text("utf-8")), "utf-8")
    return tmp_path


@pytest.mark.parametrize("edit, field, words", [
    # an item without an anchor for point 3
    (lambda t: t.replace("      3: >-\n        The therapist goes through the main symptoms",
                             "      6: >-\n        The therapist goes through the main symptoms", 1),
     "items[0].anchors", "anchor for every point 1-5"),
    (lambda t: t.replace("phases: [initial]", "phases: [initail]", 1), "items[0].phases[0]", "initail"),
    (lambda t: t.replace("threshold: 3.0", "threshold: high"), "pass_rule.threshold", "number"),
    (lambda t: t.replace("type: mean_of_applicable", "type: median_of_everything"), "pass_rule.type", "mean_of_applicable"),
    (lambda t: t.replace("scale: fidelity-1to5", "scale: fidelity-1to7"), "scale", "does not exist"),
])
def test_broken_instrument_is_rejected_with_field_and_reason(tmp_path, edit, field, words):
    lib = load_library(_instrument_tree(tmp_path, edit))
    assert INSTRUMENT not in lib.instruments
    errors = [e for e in lib.errors if e.path.endswith("ipt_session_fidelity.yaml")]
    assert errors, lib.errors
    assert any(e.field == field and words in e.message for e in errors), [str(e) for e in errors]
    assert all(e.line for e in errors)


def test_a_training_body_adds_its_own_instrument_without_code(tmp_path):
    root = _instrument_tree(tmp_path, lambda t: t)
    (root / "rubrics" / "body.yaml").write_text("""kind: fidelity_instrument
id: body-short
name: A body's short instrument
version: "2"
scale: fidelity-1to5
description: Two items.
pass_rule: {threshold: 3.5, min_applicable_items: 1}
items:
  - id: warmth
    section: Quality
    text: Warm.
    phases: [initial, middle, termination]
    anchors: {1: a, 2: b, 3: c, 4: d, 5: e}
""", "utf-8")
    lib = load_library(root)
    assert lib.instruments["body-short"].pass_rule.threshold == 3.5 and INSTRUMENT in lib.instruments


# --- uploads -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(VALID))
def test_every_accepted_type_is_stored_content_addressed(w, name):
    sid = w.add(data=VALID[name], name=name, transcript=None)
    row = rows(w.db, "SELECT * FROM recorded_sessions WHERE id = ?", (sid,))[0]
    stored = w.settings.recordings_dir / row["recording_file"]
    assert stored.read_bytes() == VALID[name]
    assert row["recording_file"] == row["recording_sha256"] + Path(name).suffix
    assert row["media_type"] == fidelity.MEDIA[Path(name).suffix][0]


@pytest.mark.parametrize("name, data, words", [
    ("notes.txt", b"hello", "not a recording type"),
    ("session.exe", OGG, "not a recording type"),
    ("session.mp3", b"%PDF-1.7 a document, not audio" * 10, "named .mp3 but does not hold audio"),
    ("session.wav", OGG, "named .wav but holds ogg data"),
    ("session.ogg", b"", "is empty"),
    ("session.ogg", OGG[: len(OGG) // 2], "truncated"),
    ("session.wav", _wav()[:-300], "truncated"),
    ("session.mp3", _mp3(1)[:200], "truncated"),
    ("session.m4a", _mp4()[:-50], "truncated"),
    ("session.webm", _webm()[:-5], "truncated"),
    ("session.ogg", b"OggS", "truncated"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 40 else "")
def test_upload_refused_with_a_reason(w, name, data, words):
    with pytest.raises(fidelity.FidelityError, match=words):
        w.add(data=data, name=name, transcript=None)
    assert rows(w.db, "SELECT COUNT(*) AS n FROM recorded_sessions")[0]["n"] == 0


def test_upload_over_the_size_limit_is_refused(w):
    small = dataclasses.replace(w.settings, max_upload_mb=0)  # 0 MB: every file is over the limit
    with pytest.raises(fidelity.FidelityError, match=r"over the limit of 0\.0 MB"):
        w.add(settings=small, transcript=None)
    assert len(OGG) < w.settings.max_upload_bytes  # and the same file passes under the normal limit
    w.add(transcript=None)


@pytest.mark.parametrize("tname, data, words", [
    ("s.vtt", b"not a caption file", "first line must be 'WEBVTT'"),
    ("s.vtt", b"WEBVTT\n\n00:00:01.000 --> later\nhello\n", "timing line cannot be read"),
    ("s.srt", b"1\n00:00:05,000 --> 00:00:01,000\nhello\n", "ends"),
    ("s.txt", b"WEBVTT\n", "WebVTT (.vtt) or SubRip (.srt)"),
    ("s.vtt", b"WEBVTT\n\n", "no timed cues"),
    ("s.vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\ncaf\u00e9\n".encode("latin-1"), "not UTF-8"),
])
def test_bad_transcript_refused(w, tname, data, words):
    with pytest.raises(fidelity.FidelityError, match=re.escape(words)) as exc:
        w.add(transcript=data, tname=tname)
    assert "not added" in str(exc.value)


def test_srt_transcript_parsed_with_speakers():
    cues = parse_transcript(b"1\n00:00:01,500 --> 00:00:03,000\nTherapist: How was the week?\n\n"
                            b"2\n00:01:02,250 --> 00:01:04,000\nClient: Low.\n", "x.srt")
    assert cues == [{"start_s": 1.5, "end_s": 3.0, "text": "How was the week?", "speaker": "Therapist"},
                    {"start_s": 62.25, "end_s": 64.0, "text": "Low.", "speaker": "Client"}]
    with pytest.raises(TranscriptError):
        parse_transcript(b"", "x.srt")


def test_consent_must_be_ticked(w):
    with pytest.raises(fidelity.FidelityError, match="consented"):
        w.add(consent=False)
    assert not w.settings.recordings_dir.exists() or not any(w.settings.recordings_dir.iterdir())


@pytest.mark.parametrize("name", ["../evil.mp3", "/etc/passwd.mp3", "..\\..\\evil.mp3", "../../../../tmp/x.mp3"])
def test_user_file_names_never_become_paths(w, tmp_path, name):
    before = set(p for p in tmp_path.rglob("*") if p.is_file())
    sid = w.add(data=_mp3(), name=name, transcript=None)
    row = rows(w.db, "SELECT recording_file, original_name FROM recorded_sessions WHERE id = ?", (sid,))[0]
    new = set(p for p in tmp_path.rglob("*") if p.is_file()) - before
    recordings = w.settings.recordings_dir.resolve()
    assert all(p.resolve().parent == recordings for p in new if p.suffix == ".mp3")
    assert "/" not in row["original_name"] and "\\" not in row["original_name"] and ".." not in row["recording_file"]
    assert not Path("/etc/passwd.mp3").exists()


def test_only_own_or_supervisees_sessions_can_be_added(w):
    with pytest.raises(fidelity.FidelityError, match="only for yourself"):
        w.add(trainee=w.other, actor=w.tr)
    assert w.add(trainee=w.tr, actor=w.sup)  # supervisor for a supervisee
    with pytest.raises(fidelity.FidelityError):
        w.add(trainee=w.other, actor=w.sup)  # not their supervisee


# --- access rules ------------------------------------------------------------------------


def test_who_sees_a_session(w):
    sid = w.add()
    fidelity.assign(w.db, w.sup, sid, w.ra.id, "2030-01-01", "rating")
    ids = lambda u: {s["id"] for s in fidelity.accessible_sessions(w.db, u)}  # noqa: E731
    assert sid in ids(w.tr) and sid in ids(w.sup) and sid in ids(w.admin) and sid in ids(w.ra)
    assert sid not in ids(w.rb) and sid not in ids(w.other)
    with pytest.raises(fidelity.FidelityError, match="access"):
        fidelity.recording_bytes(w.db, w.settings, w.rb, sid)
    with pytest.raises(fidelity.FidelityError, match="not assigned to you"):
        fidelity.get_or_create_draft(w.db, w.rb, sid, "rater", library=w.library)
    with pytest.raises(fidelity.FidelityError, match="Only the trainee"):
        fidelity.get_or_create_draft(w.db, w.ra, sid, "self", library=w.library)
    with pytest.raises(fidelity.FidelityError, match="administrator"):
        fidelity.get_or_create_draft(w.db, w.sup, sid, "gold", library=w.library)
    assert [q["session_id"] for q in fidelity.rater_queue(w.db, w.ra)] == [sid]
    assert fidelity.rater_queue(w.db, w.rb) == []


def test_assignment_rules(w):
    sid = w.add()
    with pytest.raises(fidelity.FidelityError, match="supervisor or an administrator"):
        fidelity.assign(w.db, w.ra, sid, w.rb.id)
    with pytest.raises(fidelity.FidelityError, match="rater or supervisor role"):
        fidelity.assign(w.db, w.admin, sid, w.tr.id)
    both = _user(w.db, "both", ["trainee", "rater"])
    with pytest.raises(fidelity.FidelityError, match="own session"):
        fidelity.assign(w.db, w.admin, w.add(trainee=both, actor=w.admin), both.id)
    with pytest.raises(fidelity.FidelityError, match="gold-standard"):
        fidelity.assign(w.db, w.admin, sid, w.ra.id, None, "calibration")
    with pytest.raises(fidelity.FidelityError, match="YYYY-MM-DD"):
        fidelity.assign(w.db, w.admin, sid, w.ra.id, "next week")
    fidelity.assign(w.db, w.admin, sid, w.ra.id, dt.date(2030, 1, 1))
    with pytest.raises(fidelity.FidelityError, match="already assigned"):
        fidelity.assign(w.db, w.admin, sid, w.ra.id)
    other = w.add(trainee=w.other)
    with pytest.raises(fidelity.FidelityError, match="supervisees"):
        fidelity.assign(w.db, w.sup, other, w.ra.id)


def test_random_second_ratings_pick_a_share_and_a_different_rater(w):
    cohort = auth.create_cohort(w.db, "C", w.admin.id)
    auth.set_cohort_members(w.db, cohort, [w.tr.id], w.admin.id)
    sids = [w.add(number=n) for n in range(1, 11)]
    for sid in sids:
        fidelity.assign(w.db, w.admin, sid, w.ra.id)
    made = fidelity.assign_random_second_ratings(w.db, w.admin, cohort, 0.20, rng_seed=7)
    assert len(made) == 2 and all(m["rater_id"] not in (w.ra.id, w.tr.id) for m in made)
    assert {m["session_id"] for m in made} <= set(sids)
    again = fidelity.assign_random_second_ratings(w.db, w.admin, cohort, 0.20, rng_seed=7)
    assert not {m["session_id"] for m in again} & {m["session_id"] for m in made}  # double-rated ones are not eligible
    purposes = {r["purpose"] for r in rows(w.db, "SELECT purpose FROM assignments WHERE rater_id <> ?", (w.ra.id,))}
    assert purposes == {"second_rating"}


# --- ratings -----------------------------------------------------------------------------


def test_out_of_range_score_refused_with_reason(w):
    sid = w.add()
    fidelity.assign(w.db, w.admin, sid, w.ra.id)
    r = fidelity.get_or_create_draft(w.db, w.ra, sid, "rater", library=w.library)
    for bad in (0, 6, 7):
        with pytest.raises(fidelity.FidelityError, match=rf"score of {bad} is outside the scale \(1 to 5\)"):
            fidelity.save_item(w.db, w.ra, r["id"], "tech_clarification", bad, False, library=w.library)
    with pytest.raises(fidelity.FidelityError, match="whole numbers"):
        fidelity.save_item(w.db, w.ra, r["id"], "tech_clarification", 3.5, False, library=w.library)
    with pytest.raises(fidelity.FidelityError, match="does not apply to a middle-phase session"):
        fidelity.save_item(w.db, w.ra, r["id"], "init_sick_role", 3, False, library=w.library)
    with pytest.raises(fidelity.FidelityError, match="either scored or marked N/A"):
        fidelity.save_item(w.db, w.ra, r["id"], "tech_clarification", 3, True, library=w.library)
    assert rows(w.db, "SELECT * FROM item_scores WHERE rating_id = ?", (r["id"],)) == []


def test_draft_survives_a_new_connection(w):
    sid = w.add()
    fidelity.assign(w.db, w.admin, sid, w.ra.id)
    r = fidelity.get_or_create_draft(w.db, w.ra, sid, "rater", library=w.library)
    fidelity.save_item(w.db, w.ra, r["id"], "tech_clarification", 2, False, library=w.library)
    fidelity.add_evidence_mark(w.db, w.ra, r["id"], 12.5, "tech_clarification", "restates the gap", library=w.library)
    fidelity.set_comment(w.db, w.ra, r["id"], "half way")
    w.db.conn.close()
    fresh = open_store(w.db_path)  # as after a refresh or a server restart
    again = fidelity.get_or_create_draft(fresh, w.ra, sid, "rater", library=w.library)
    assert again["id"] == r["id"] and again["status"] == "draft" and again["comment"] == "half way"
    mine = fidelity.own_rating(fresh, w.ra, sid, "rater")
    assert mine["scores"]["tech_clarification"]["score"] == 2
    assert [(m["time_s"], m["item_id"], m["note"]) for m in mine["marks"]] == [(12.5, "tech_clarification", "restates the gap")]


def test_submission_refused_with_missing_items_listed(w):
    sid = w.add()
    fidelity.assign(w.db, w.admin, sid, w.ra.id)
    items = w.items(sid)
    r = fidelity.get_or_create_draft(w.db, w.ra, sid, "rater", library=w.library)
    for item in items[:-2]:
        fidelity.save_item(w.db, w.ra, r["id"], item, 4, False, library=w.library)
    with pytest.raises(fidelity.FidelityError, match="Missing \\(2\\)") as exc:
        fidelity.submit_rating(w.db, w.ra, r["id"], library=w.library)
    assert exc.value.missing == items[-2:]
    assert all(i in str(exc.value) for i in items[-2:])
    assert rows(w.db, "SELECT status FROM ratings WHERE id = ?", (r["id"],))[0]["status"] == "draft"


def test_not_applicable_is_distinct_from_a_low_score(w):
    sid = w.add()
    for u in (w.ra, w.rb):
        fidelity.assign(w.db, w.admin, sid, u.id)
    na = w.rate(w.ra, sid, score=4, overrides={"tech_role_play": "na"})
    low = w.rate(w.rb, sid, score=4, overrides={"tech_role_play": 1})
    n = len([i for i in w.items(sid) if i not in w.proscribed()])  # proscribed items are not in the mean
    means = {r["id"]: r["mean"] for r in rows(w.db, "SELECT id, mean FROM ratings")}
    assert means[na] == pytest.approx(4.0)  # N/A left out of the mean
    assert means[low] == pytest.approx((4 * (n - 1) + 1) / n)  # a 1 pulls it down
    assert rows(w.db, "SELECT score, not_applicable FROM item_scores WHERE rating_id = ? AND item_id = 'tech_role_play'",
                (na,)) == [{"score": None, "not_applicable": 1}]


def test_pass_rule_needs_enough_scored_items(w):
    sid = w.add()
    fidelity.assign(w.db, w.admin, sid, w.ra.id)
    items = [i for i in w.items(sid) if i not in w.proscribed()]
    overrides = {i: "na" for i in items[2:]}  # only two IPT items scored; the rule needs three
    with pytest.raises(fidelity.FidelityError, match="needs at least 3 scored items"):
        w.rate(w.ra, sid, score=5, overrides=overrides)


def test_submitted_rating_is_locked_and_records_the_instrument(w):
    sid = w.add()
    fidelity.assign(w.db, w.admin, sid, w.ra.id)
    rid = w.rate(w.ra, sid, score=2)
    r = rows(w.db, "SELECT * FROM ratings WHERE id = ?", (rid,))[0]
    inst = w.library.instruments[INSTRUMENT]
    assert (r["status"], r["passed"], r["instrument_id"], r["instrument_hash"]) == ("submitted", 0, inst.id, inst.content_hash)
    with pytest.raises(fidelity.FidelityError, match="locked"):
        fidelity.save_item(w.db, w.ra, rid, "tech_clarification", 5, False, library=w.library)
    with pytest.raises(fidelity.FidelityError, match="locked"):
        fidelity.add_evidence_mark(w.db, w.ra, rid, 3, None, "late", library=w.library)
    with pytest.raises(fidelity.FidelityError, match="someone else"):
        fidelity.set_comment(w.db, w.rb, rid, "not mine")


# --- the blind rule ----------------------------------------------------------------------


def _kinds(db, user, sid):
    return sorted((r["kind"], r["rater_id"]) for r in fidelity.ratings_visible_to(db, user, sid) if not r["is_own"])


def test_blind_rule_rater_sees_others_only_after_submitting(w):
    sid = w.add()
    fidelity.mark_gold_standard(w.db, w.admin, sid, True)
    for u in (w.ra, w.rb):
        fidelity.assign(w.db, w.admin, sid, u.id, None, "calibration")
    w.rate(w.ra, sid, score=4)
    w.rate(w.tr, sid, kind="self", score=5)
    w.rate(w.admin, sid, kind="gold", score=3)
    rb_draft = fidelity.get_or_create_draft(w.db, w.rb, sid, "rater", library=w.library)
    # before rater B submits: nothing of A, the self-rating or the gold rating
    assert _kinds(w.db, w.rb, sid) == []
    results = fidelity.session_results(w.db, w.rb, sid, library=w.library)
    assert [r["label"] for r in results["ratings"]] == ["Rater: Rb"] and "until you submit" in results["hidden"]
    assert all(set(row) == {"item", "section", "text", "Rater: Rb"} for row in results["table"])
    w.rate(w.rb, sid, score=3)
    assert _kinds(w.db, w.rb, sid) == sorted([("gold", w.admin.id), ("rater", w.ra.id), ("self", w.tr.id)])
    seen_a = next(r for r in fidelity.ratings_visible_to(w.db, w.rb, sid) if r["rater_id"] == w.ra.id)
    assert {v["score"] for k, v in seen_a["scores"].items() if k not in w.proscribed()} == {4}
    assert rb_draft["id"] in [r["id"] for r in fidelity.ratings_visible_to(w.db, w.rb, sid)]


def test_blind_rule_hides_drafts_and_reopened_ratings(w):
    sid = w.add()
    for u in (w.ra, w.rb):
        fidelity.assign(w.db, w.admin, sid, u.id)
    ra_id = w.rate(w.ra, sid, score=4, submit=False)  # A's draft
    w.rate(w.rb, sid, score=3)
    assert _kinds(w.db, w.rb, sid) == []  # B submitted, but A has only a draft
    fidelity.submit_rating(w.db, w.ra, ra_id, library=w.library)
    assert _kinds(w.db, w.rb, sid) == [("rater", w.ra.id)]
    fidelity.reopen_rating(w.db, w.sup, ra_id, "scored the wrong session")
    assert _kinds(w.db, w.rb, sid) == []  # reopened: a draft again, hidden again
    assert _kinds(w.db, w.ra, sid) == []  # and A is blind again until re-submitting


def test_supervisor_assigned_as_rater_is_blind_until_submitting(w):
    sid = w.add()
    for u in (w.ra, w.sup):
        fidelity.assign(w.db, w.admin, sid, u.id)
    w.rate(w.ra, sid)
    assert _kinds(w.db, w.sup, sid) == []
    w.rate(w.sup, sid)
    assert _kinds(w.db, w.sup, sid) == [("rater", w.ra.id)]


def test_supervisor_not_rating_and_admin_see_submitted_ratings(w):
    sid = w.add()
    fidelity.assign(w.db, w.admin, sid, w.ra.id)
    w.rate(w.ra, sid)
    assert _kinds(w.db, w.sup, sid) == [("rater", w.ra.id)]
    assert _kinds(w.db, w.admin, sid) == [("rater", w.ra.id)]
    with pytest.raises(fidelity.FidelityError, match="access"):
        fidelity.ratings_visible_to(w.db, w.rb, sid)


def test_trainee_sees_rater_results_beside_self_rating_after_both_submit(w):
    sid = w.add()
    fidelity.assign(w.db, w.admin, sid, w.ra.id)
    w.rate(w.ra, sid, score=4)
    self_id = w.rate(w.tr, sid, kind="self", score=5, submit=False)
    assert _kinds(w.db, w.tr, sid) == []
    assert "self-rating" in fidelity.session_results(w.db, w.tr, sid, library=w.library)["hidden"]
    fidelity.submit_rating(w.db, w.tr, self_id, library=w.library)
    results = fidelity.session_results(w.db, w.tr, sid, library=w.library)
    assert results["hidden"] is None
    assert {r["label"] for r in results["ratings"]} == {"Rater: Ra", "Self-rating: Tr"}
    row = next(r for r in results["table"] if r["item"] == "tech_clarification")
    assert (row["Rater: Ra"], row["Self-rating: Tr"]) == ("4", "5")
    # and the rater, having submitted, sees the self-rating
    assert _kinds(w.db, w.ra, sid) == [("self", w.tr.id)]


# --- reopen, audit, deletion, gold standard ----------------------------------------------


def test_reopen_requires_reason_and_is_audited(w):
    sid = w.add()
    fidelity.assign(w.db, w.admin, sid, w.ra.id)
    rid = w.rate(w.ra, sid)
    with pytest.raises(fidelity.FidelityError, match="reason"):
        fidelity.reopen_rating(w.db, w.sup, rid, "   ")
    with pytest.raises(fidelity.FidelityError, match="supervisor or an administrator"):
        fidelity.reopen_rating(w.db, w.rb, rid, "because")
    fidelity.reopen_rating(w.db, w.sup, rid, "item 3 scored on the wrong session")
    entry = rows(w.db, "SELECT * FROM audit_log WHERE action = 'reopen_rating'")
    assert len(entry) == 1 and entry[0]["actor_id"] == w.sup.id and "wrong session" in entry[0]["detail"]
    r = rows(w.db, "SELECT status, mean, submitted_at FROM ratings WHERE id = ?", (rid,))[0]
    assert r == {"status": "draft", "mean": None, "submitted_at": None}
    sup_sid = w.add(number=9)
    fidelity.assign(w.db, w.admin, sup_sid, w.sup.id)
    own = w.rate(w.sup, sup_sid)
    with pytest.raises(fidelity.FidelityError, match="own rating"):
        fidelity.reopen_rating(w.db, w.sup, own, "I changed my mind after seeing the others")


def test_every_view_of_a_recording_is_audited(w):
    sid = w.add()
    for _ in range(2):
        data, media_type = fidelity.recording_bytes(w.db, w.settings, w.tr, sid)
    assert data == OGG and media_type == "audio/ogg"
    views = rows(w.db, "SELECT actor_id, object_id FROM audit_log WHERE action = 'view_recording'")
    assert views == [{"actor_id": w.tr.id, "object_id": str(sid)}] * 2


def test_delete_recording_keeps_ratings_and_shared_files(w):
    sid = w.add()
    twin = w.add(number=7)  # the same bytes: one file on disk
    fidelity.assign(w.db, w.admin, sid, w.ra.id)
    rid = w.rate(w.ra, sid)
    path = w.settings.recordings_dir / rows(w.db, "SELECT recording_file FROM recorded_sessions WHERE id = ?", (sid,))[0]["recording_file"]
    with pytest.raises(fidelity.FidelityError, match="administrator"):
        fidelity.delete_recording(w.db, w.settings, w.sup, sid)
    fidelity.delete_recording(w.db, w.settings, w.admin, sid, "consent withdrawn")
    assert path.exists()  # still used by the twin session
    assert rows(w.db, "SELECT status FROM ratings WHERE id = ?", (rid,)) == [{"status": "submitted"}]
    results = fidelity.session_results(w.db, w.tr, sid, library=w.library)
    assert results["deleted"] and fidelity.get_session(w.db, w.admin, sid)["cues"] == []
    with pytest.raises(fidelity.FidelityError, match="deleted"):
        fidelity.recording_bytes(w.db, w.settings, w.admin, sid)
    fidelity.delete_recording(w.db, w.settings, w.admin, twin)
    assert not path.exists()  # the last user of the file is gone
    assert len(rows(w.db, "SELECT * FROM audit_log WHERE action = 'delete_recording'")) == 2


def test_gold_standard_adopt_and_reasons(w):
    sid = w.add()
    fidelity.assign(w.db, w.admin, sid, w.ra.id)
    src = w.rate(w.ra, sid, score=4)
    with pytest.raises(fidelity.FidelityError, match="Mark the session"):
        fidelity.get_or_create_draft(w.db, w.admin, sid, "gold", library=w.library)
    fidelity.mark_gold_standard(w.db, w.admin, sid, True)
    gold = fidelity.adopt_gold_rating(w.db, w.admin, sid, src, library=w.library)
    adopted = fidelity.own_rating(w.db, w.admin, sid, "gold")["scores"]
    assert {v["score"] for k, v in adopted.items() if k not in w.proscribed()} == {4}
    assert {v["score"] for k, v in adopted.items() if k in w.proscribed()} == {1}
    with pytest.raises(fidelity.FidelityError, match="needs a reason for every item"):
        fidelity.submit_rating(w.db, w.admin, gold["id"], library=w.library)
    for item in w.items(sid):
        fidelity.set_item_reason(w.db, w.admin, gold["id"], item, f"why {item}")
    fidelity.submit_rating(w.db, w.admin, gold["id"], library=w.library)
    reasons = {r["reason"] for r in rows(w.db, "SELECT reason FROM item_scores WHERE rating_id = ?", (gold["id"],))}
    assert "why tech_clarification" in reasons
    assert rows(w.db, "SELECT COUNT(*) AS n FROM audit_log WHERE action IN ('mark_gold_standard', 'adopt_gold_rating')")[0]["n"] == 2


# --- demo data ---------------------------------------------------------------------------


def test_demo_fidelity_data(demo_db, library):
    db = demo_db
    ids = {u["username"]: u["id"] for u in rows(db, "SELECT id, username FROM users")}
    today = dt.date.today()
    # recordings are content-addressed files under the data dir, one per distinct recording
    files = {r["recording_file"] for r in rows(db, "SELECT recording_file FROM recorded_sessions")}
    settings_dir = Path(os.environ["IPT_TRAINING_DATA_DIR"]) / "recordings"
    manifest = yaml.safe_load((SESSIONS / "sessions.yaml").read_text())["sessions"]
    assert len(manifest) >= 8 and len(files) == len(manifest) and all((settings_dir / f).is_file() for f in files)
    # certification: rater and supervisor certified, rater2 not
    certified = {u: calibration.certification(db, library, ids[u], today)["certified"] for u in ("rater", "supervisor", "rater2")}
    assert certified == {"rater": True, "supervisor": True, "rater2": False}
    # the demo rater has one assigned session not started and one draft
    rater = auth.get_user(db, ids["rater"])
    statuses = [q["status"] for q in fidelity.rater_queue(db, rater)]
    assert statuses.count("not started") == 1 and statuses.count("draft") == 1
    # trainee.ready: passing rated sessions in every phase for Case R1-R3, by the certified rater
    ready = rows(db, """SELECT s.case_pseudonym, s.phase FROM recorded_sessions s JOIN ratings r ON r.session_id = s.id
                        WHERE s.trainee_id = ? AND r.kind = 'rater' AND r.status = 'submitted' AND r.passed = 1
                          AND r.rater_id = ?""", (ids["trainee.ready"], ids["rater"]))
    assert {(r["case_pseudonym"], r["phase"]) for r in ready} == {
        (c, p) for c in ("Case R1", "Case R2", "Case R3") for p in ("initial", "middle", "termination")}
    # about half the rated sessions double-rated; the weak session fails
    per_session = rows(db, """SELECT session_id, COUNT(*) AS n FROM ratings r JOIN recorded_sessions s ON s.id = r.session_id
                              WHERE r.kind = 'rater' AND r.status = 'submitted' AND s.is_gold_standard = 0 GROUP BY session_id""")
    assert sum(1 for p in per_session if p["n"] >= 2) >= len(per_session) // 3
    assert rows(db, """SELECT COUNT(*) AS n FROM ratings r JOIN recorded_sessions s ON s.id = r.session_id
                       WHERE s.case_pseudonym = 'Case N2' AND s.phase = 'middle' AND r.kind = 'rater' AND r.passed = 0""")[0]["n"] >= 1
    # evidence marks and self-ratings exist; gold ratings carry reasons
    assert rows(db, "SELECT COUNT(*) AS n FROM evidence_marks")[0]["n"] > 20
    assert rows(db, "SELECT COUNT(*) AS n FROM ratings WHERE kind = 'self' AND rater_id = ?", (ids["trainee"],))[0]["n"] >= 1
    assert rows(db, """SELECT COUNT(*) AS n FROM item_scores i JOIN ratings r ON r.id = i.rating_id
                       WHERE r.kind = 'gold' AND (i.reason IS NULL OR i.reason = '')""")[0]["n"] == 0


def test_submitted_rating_failed_by_a_critical_item_says_which(w):
    """Issue 13: a mean of 4.0 does not pass with the area strategy at 1, and the result says why."""
    sid = w.add()
    fidelity.assign(w.db, w.admin, sid, w.ra.id)
    ipt = [i for i in w.items(sid) if i not in w.proscribed() and i != "area_role_dispute"]
    overrides = {"area_role_dispute": 1, **{i: 5 for i in ipt[:3]}}  # (1 + 3 x 5 + 4 x rest) / n = 4.0
    rid = w.rate(w.ra, sid, overrides=overrides)
    stored = rows(w.db, "SELECT mean, passed FROM ratings WHERE id = ?", (rid,))[0]
    assert stored["mean"] == pytest.approx(4.0) and stored["passed"] == 0
    audit = rows(w.db, "SELECT detail FROM audit_log WHERE action = 'submit_rating' AND object_id = ?", (str(rid),))
    assert "area_role_dispute" in audit[0]["detail"]
    mine = next(r for r in fidelity.session_results(w.db, w.ra, sid, library=w.library)["ratings"] if r["is_own"])
    assert [f["item"] for f in mine["failed_by"]] == ["area_role_dispute"] and mine["passed"] is False


def test_proscribed_items_refuse_na_and_lower_the_stored_score(w):
    sid = w.add()
    fidelity.assign(w.db, w.admin, sid, w.ra.id)
    draft = fidelity.get_or_create_draft(w.db, w.ra, sid, "rater", library=w.library)
    with pytest.raises(fidelity.FidelityError, match="cannot be N/A"):
        fidelity.save_item(w.db, w.ra, draft["id"], "pro_directive_advice", None, True, library=w.library)
    rid = w.rate(w.ra, sid, score=4, overrides={"pro_directive_advice": 3})  # advice twice: 2 points x 0.25
    assert rows(w.db, "SELECT mean, passed FROM ratings WHERE id = ?", (rid,))[0] == {"mean": pytest.approx(3.5), "passed": 1}
    catalogue = {it["id"]: it for it in fidelity.item_catalogue(w.library, INSTRUMENT, fidelity.get_session(w.db, w.ra, sid))}
    assert catalogue["pro_directive_advice"]["proscribed"] and not catalogue["pro_directive_advice"]["na_allowed"]
    assert catalogue["pro_directive_advice"]["anchors"][0]["label"] == "Not at all"
    assert catalogue["area_role_dispute"]["critical"] and catalogue["area_role_dispute"]["anchors"][0]["label"] != "Not at all"
