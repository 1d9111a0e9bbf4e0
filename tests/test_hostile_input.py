"""Hostile input (issue 7): file names that try to leave the data directory, SQL- and
HTML-like text in every free-text field and filter, YAML with Python tags, oversized and
truncated recordings.

Free text is entered through the real pages (AppTest), stored verbatim (parameterised SQL,
the users table survives) and shown back as text: the page carries the exact string, and any
markdown element holding it has HTML switched off, so ``<script>`` is displayed, never run.

Not repeated here (already covered where the feature lives):
- the reliability command with 100,000 rows, and garbage rows refused with their line number:
  ``tests/test_reliability.py::test_cli_100k_rows`` and ``::test_cli_garbage_row_reports_line``
  (also ``::test_cli_missing_rater_reports_line``, ``::test_cli_duplicate_and_non_number_report_lines``);
- ``!!python`` tags in a vignette rubric: ``tests/test_content.py::test_broken_file_gives_path_line_field[python_tag]``;
- upload refusals in the core for every container type: ``tests/test_fidelity.py::test_upload_refused_with_a_reason``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import streamlit as st

from ipt_training import auth, fidelity, vignettes
from ipt_training.config import get_settings
from ipt_training.content import load_library, validate
from ipt_training.store import one, open_store

from apphelp import ROOT, app_as, shown

HOSTILE = ["'); DROP TABLE users; --", "<script>alert(1)</script>"]
SESSIONS = ROOT / "ipt_training" / "demo_data" / "sessions"
OGG = (SESSIONS / "initial-grief-ruth.ogg").read_bytes()
MP3_FRAME = b"\xff\xfb\x90\x64" + b"\x00" * 413  # one MPEG-1 layer III frame, 128 kbit/s, 44.1 kHz
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + MP3_FRAME * 3
PAGE = "ipt_training/app_pages/{}.py"


@pytest.fixture
def app(demo_db_path):
    """The demo database, with Streamlit's caches cleared around each test."""
    st.cache_resource.clear()
    st.cache_data.clear()
    yield open_store(demo_db_path)
    st.cache_resource.clear()
    st.cache_data.clear()


def _user(db, username: str) -> auth.User:
    return auth.find_user(db, username)


def _open(user_id: int, page: str, **state):
    at = app_as(user_id)
    for k, v in state.items():
        at.session_state[k] = v
    at.switch_page(PAGE.format(page)).run()
    assert not at.exception, at.exception
    return at


def _button(at, label: str):
    return next(b for b in at.button if b.label == label)


def _walk(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)


def _strings(node) -> list[str]:
    out = []
    for attr in ("value", "label", "body"):
        try:
            v = getattr(node, attr, None)
        except Exception:  # noqa: BLE001 - some widgets have no value outside a run
            continue
        if isinstance(v, str):
            out.append(shown(v))  # as a reader sees it: ui.text.plain's escapes undone
        elif hasattr(v, "to_numpy"):  # a DataFrame
            out.extend(str(x) for x in v.to_numpy().ravel())
    opts = getattr(node, "options", None)
    if isinstance(opts, (list, tuple)):
        out.extend(str(o) for o in opts)
    return out


def assert_shown_as_text(at, text: str) -> None:
    """The page shows ``text`` exactly, and never as HTML."""
    hits = [n for root in (at.main, at.sidebar) for n in _walk(root) if any(text in s for s in _strings(n))]
    assert hits, f"{text!r} is not on the page"
    for n in hits:
        proto = getattr(n, "proto", None)
        if proto is not None and hasattr(proto, "allow_html"):
            assert not proto.allow_html, f"{text!r} is rendered as HTML in a {n.type}"


def assert_users_table_intact(db, at_least: int = 7) -> None:
    assert one(db, "SELECT COUNT(*) AS n FROM users")["n"] >= at_least  # the 7 demo accounts and more
    assert db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# --- uploads: names, sizes, truncation -----------------------------------------------------


def _upload(at, name: str, data: bytes, pseudonym: str = "Case H", notes: str = ""):
    at.file_uploader(key="add_recording_0").set_value((name, data, "application/octet-stream"))
    at.text_input(key="add_case_0").input(pseudonym)
    at.text_area(key="add_notes_0").input(notes)
    at.checkbox(key="add_consent_0").check()
    _button(at, "Add session").click().run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("name, data", [("../../etc/evil.mp3", MP3), ("/abs/path.ogg", OGG),
                                        ("..\\..\\windows\\evil.ogg", OGG)])
def test_uploaded_file_name_stays_inside_the_data_directory(app, tmp_path, name, data):
    before = {p for p in tmp_path.rglob("*") if p.is_file()}
    at = _upload(_open(_user(app, "trainee").id, "add_session"), name, data)
    assert "Session added" in " ".join(s.value for s in at.success)
    row = one(app, "SELECT recording_file, original_name FROM recorded_sessions WHERE case_pseudonym = 'Case H'")
    recordings = get_settings().recordings_dir.resolve()
    assert (recordings / row["recording_file"]).resolve().parent == recordings
    assert (recordings / row["recording_file"]).read_bytes() == data
    new = {p for p in tmp_path.rglob("*") if p.is_file()} - before
    assert all(p.resolve().parent == recordings for p in new if p.suffix in (".mp3", ".ogg")), new
    assert not any(ch in row["original_name"] for ch in "/\\") and ".." not in row["recording_file"]
    assert not Path("/etc/evil.mp3").exists() and not Path("/abs/path.ogg").exists()


def test_oversized_recording_is_refused_with_a_message(app, monkeypatch):
    monkeypatch.setenv("IPT_TRAINING_MAX_UPLOAD_MB", "1")
    big = OGG + b"\x00" * (2 * 1024 * 1024 - len(OGG))  # 2 MB that starts like a real ogg
    at = _upload(_open(_user(app, "trainee").id, "add_session"), "long.ogg", big)
    assert any("over the limit of 1.0 MB" in e.value for e in at.error), [e.value for e in at.error]
    assert not at.success
    assert one(app, "SELECT COUNT(*) AS n FROM recorded_sessions WHERE case_pseudonym = 'Case H'")["n"] == 0


@pytest.mark.parametrize("name, data", [("cut.ogg", OGG[: len(OGG) // 3]), ("cut.mp3", MP3[:300])])
def test_truncated_recording_is_refused_with_a_message(app, name, data):
    at = _upload(_open(_user(app, "trainee").id, "add_session"), name, data)
    assert any("truncated" in e.value and "Upload the complete file again" in e.value for e in at.error), \
        [e.value for e in at.error]
    assert one(app, "SELECT COUNT(*) AS n FROM recorded_sessions WHERE case_pseudonym = 'Case H'")["n"] == 0


# --- free text in every field: stored verbatim, shown as text -----------------------------


@pytest.mark.parametrize("text", HOSTILE)
def test_case_pseudonym_and_notes(app, text):
    trainee = _user(app, "trainee")
    at = _upload(_open(trainee.id, "add_session"), "s.ogg", OGG, pseudonym=text, notes=text)
    assert at.success, [e.value for e in at.error]
    row = one(app, "SELECT case_pseudonym, notes FROM recorded_sessions WHERE case_pseudonym = ?", (text,))
    assert row == {"case_pseudonym": text, "notes": text}
    assert_users_table_intact(app)
    assert_shown_as_text(_open(trainee.id, "my_sessions"), text)
    assert_shown_as_text(_open(_user(app, "admin").id, "recordings_admin"), text)


@pytest.mark.parametrize("text", HOSTILE)
def test_vignette_formulation_and_responses(app, library, text):
    trainee = _user(app, "trainee")
    v = library.vignettes["case-a02"]
    att = vignettes.start_attempt(app, library, trainee, v.id)
    for _ in range(vignettes.focus_commit_stage(v) - 1):
        vignettes.reveal_next_stage(app, library, trainee, att["id"])
    at = _open(trainee.id, "vignette_workspace", vignette_id=v.id)
    moment = v.moments[0].id  # answered before the commit, on the assessment stages
    at.multiselect(key=f"ws{att['id']}_areas").set_value([v.primary_area]).run()
    at.text_area(key=f"ws{att['id']}_formulation").input(text).run()
    at.text_area(key=f"ws{att['id']}_resp_{moment}").input(text + " (response)").run()
    assert not at.exception
    saved = vignettes.get_attempt(app, att["id"])["answers"]
    assert saved["formulation"] == text and saved["moments"][moment]["response"] == text + " (response)"
    at.button(key=f"ws{att['id']}_commit").click().run()
    while vignettes.get_attempt(app, att["id"])["stages_revealed"] < len(v.stages):
        vignettes.reveal_next_stage(app, library, trainee, att["id"])
    at.run()
    at.button(key=f"ws{att['id']}_submit").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert_users_table_intact(app)
    assert_shown_as_text(at, text)  # the feedback shows the trainee's formulation beside the model one
    assert_shown_as_text(at, text + " (response)")
    # and the supervisor grading it sees it as written
    at = _open(_user(app, "supervisor").id, "grading_queue")
    at.selectbox(key="gq_attempt").set_value(att["id"]).run()
    assert not at.exception
    assert_shown_as_text(at, text)


@pytest.mark.parametrize("text", HOSTILE)
def test_rating_comment_and_evidence_note(app, text):
    rater = _user(app, "rater")
    sid = one(app, "SELECT id FROM recorded_sessions WHERE case_pseudonym = 'Case T1' AND session_number = 2")["id"]
    state = {"rating_session_id": sid, "rating_kind": "rater"}
    at = _open(rater.id, "rating_workspace", **state)
    assert fidelity.own_rating(app, rater, sid, "rater") is None  # opening starts no draft (issue 17)
    at.text_area(key=f"comment_{sid}_rater_draft").input(text).run()  # the comment starts it
    at.text_input(key=f"ws_{sid}_mark_note").input(text + " at 0:45")
    _button(at, "Add evidence mark").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    rating = fidelity.own_rating(app, rater, sid, "rater")
    assert rating["comment"] == text
    assert [m["note"] for m in rating["marks"]] == [text + " at 0:45"]
    assert_users_table_intact(app)
    at = _open(rater.id, "rating_workspace", **state)
    assert_shown_as_text(at, text + " at 0:45")  # the evidence list
    assert at.text_area(key=f"comment_{sid}_rater_draft").value == text  # the draft's comment box
    # submitted (every item scored), the rating and its comment are listed under the session's ratings
    proscribed = {it.id for it in fidelity.default_library().instruments["ipt-session-fidelity"].items if it.proscribed}
    for sc in [s for s in at.segmented_control if s.key and s.key.startswith("score_")]:
        sc.set_value(1 if sc.key.split("_", 4)[4] in proscribed else 4)
    at.run()
    _button(at, "Submit rating").click().run()
    assert fidelity.own_rating(app, rater, sid, "rater")["status"] == "submitted", [e.value for e in at.error]
    at = _open(rater.id, "rating_workspace", **state)
    assert_shown_as_text(at, "Comment: " + text)  # the results view of the submitted rating


@pytest.mark.parametrize("text", HOSTILE)
def test_display_name(app, text):
    admin = _user(app, "admin")
    at = _open(admin.id, "users")
    at.text_input(key="cu_username").input("hostile.name")
    at.text_input(key="cu_display").input(text)
    at.text_input(key="cu_password").input("long-enough-1")
    _button(at, "Create account").click().run()
    assert not at.exception and at.success, [e.value for e in at.error]
    user = auth.find_user(app, "hostile.name")
    assert user.display_name == text
    assert_users_table_intact(app, at_least=8)
    at = _open(user.id, "home")
    assert shown(at.title[0].value) == f"Welcome, {text}"
    assert_shown_as_text(at, text)  # title and the sidebar's "Signed in as"
    assert_shown_as_text(_open(admin.id, "users"), text)


@pytest.mark.parametrize("text", HOSTILE)
def test_cohort_name(app, text):
    admin = _user(app, "admin")
    at = _open(admin.id, "cohorts")
    at.text_input(key="nc_name").input(text)
    _button(at, "Create cohort").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert text in [c["name"] for c in auth.list_cohorts(app)]
    assert_users_table_intact(app)
    assert_shown_as_text(at, text)  # the cohort table and the "Edit members of" choice


@pytest.mark.parametrize("text", HOSTILE)
def test_training_event_title_trainer_and_case_pseudonym(app, text):
    trainee = _user(app, "trainee")
    at = _open(trainee.id, "my_evidence")
    at.text_input(key="ev_t_title_0").input(text)
    at.text_input(key="ev_t_trainer_0").input(text + " (trainer)")
    at.button(key="ev_t_submit_0").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.text_input(key="ev_c_name_1").input(text)
    at.button(key="ev_c_submit_1").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert one(app, "SELECT trainer FROM training_events WHERE title = ?", (text,)) == {"trainer": text + " (trainer)"}
    assert one(app, "SELECT COUNT(*) AS n FROM clinical_cases WHERE pseudonym = ?", (text,))["n"] == 1
    assert_users_table_intact(app)
    assert_shown_as_text(at, text)  # the training-event and case tables
    assert_shown_as_text(at, text + " (trainer)")
    # the supervisor confirming the entries sees them as written
    at = _open(_user(app, "supervisor").id, "supervisees")
    at.selectbox(key="sv_trainee").set_value(trainee.id).run()
    assert not at.exception
    assert_shown_as_text(at, text)


@pytest.mark.parametrize("text", HOSTILE)
def test_credential_decision_reasons(app, text):
    admin, near = _user(app, "admin"), _user(app, "trainee.near")
    at = _open(admin.id, "credential_review")
    at.selectbox(key="cr_trainee").set_value(near.id).run()
    at.radio(key="cr_decision_0").set_value("defer")
    at.text_area(key="cr_reasons_0").input(text)
    at.button(key="cr_decide").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    row = one(app, "SELECT decision, reasons FROM credential_decisions WHERE trainee_id = ? ORDER BY id DESC LIMIT 1",
              (near.id,))
    assert row == {"decision": "defer", "reasons": text}
    assert_users_table_intact(app)
    assert_shown_as_text(at, text)  # the append-only decision log


@pytest.mark.parametrize("text", HOSTILE)
def test_sign_in_name_and_audit_filter(app, text):
    st.cache_resource.clear()
    at = app_as(None)
    at.text_input(key="si_username").input(text)
    at.text_input(key="si_password").input(text)
    at.button[0].click().run()
    assert not at.exception
    assert "wrong" in at.error[0].value and "user_id" not in at.session_state
    assert_users_table_intact(app)
    # the audit log's free-text filter: a LIKE pattern bound as a parameter, so nothing matches
    at = _open(_user(app, "admin").id, "audit_log")
    at.text_input(key="al_action").input(text).run()
    assert not at.exception and not at.error
    assert "No entries match." in [i.value for i in at.info]
    assert_users_table_intact(app)


@pytest.mark.parametrize("typed, matches", [("d%a", "odd%action"), ("t_a", "set_at_ax"), ("%", "odd%action")])
def test_audit_filter_wildcards_are_harmless(app, typed, matches):
    """``%`` and ``_`` in the filter match themselves: as LIKE wildcards 'd%a' would also match
    'record_case' and 't_a' 'record_training_event', both in the demo's log."""
    from ipt_training.store import audit, transaction

    with transaction(app):
        for action in ("odd%action", "set_at_ax", "plain"):
            audit(app, None, action)
    at = _open(_user(app, "admin").id, "audit_log")
    at.text_input(key="al_action").input(typed).run()
    assert not at.exception
    assert set(at.dataframe[0].value["Action"]) == {matches}


# --- YAML with Python tags -----------------------------------------------------------------


def _with_tag(text: str, marker: Path) -> str:
    """Insert a line carrying a Python tag that would create ``marker`` if it were ever run."""
    lines = text.splitlines()
    lines.insert(2, f"evil: !!python/object/apply:os.system ['touch {marker}']")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("folder, source, kind", [
    ("rubrics", "rubrics/ipt_session_fidelity.yaml", "instruments"),
    ("training", "training/ipt_therapist_example.yaml", "standards"),
    ("vignettes", "vignettes/a02_grief_late_life.yaml", "vignettes"),
])
def test_yaml_python_tag_is_refused_in_every_content_folder(tmp_path, folder, source, kind):
    root = tmp_path / "content"
    for f in ("vignettes", "rubrics", "training"):
        shutil.copytree(ROOT / f, root / f)
    marker = tmp_path / "pwned"
    evil = root / folder / "zz_evil.yaml"
    evil.write_text(_with_tag((ROOT / source).read_text("utf-8"), marker))
    errors = [e for e in validate(root) if e.path == f"{folder}/zz_evil.yaml"]
    assert errors and errors[0].field == "(yaml)" and "no !!python tags" in errors[0].message, errors
    assert errors[0].line == 3
    assert not marker.exists(), "a YAML tag ran code"
    # the valid copy of the same content is still served
    assert len(getattr(load_library(root), kind)) == len(getattr(load_library(ROOT), kind))


@pytest.mark.parametrize("tag", ["!!python/object/new:os.system [['true']]", "!!python/name:os.system",
                                 "!!python/module:os"])
def test_other_python_tags_are_refused_in_an_instrument(tmp_path, tag):
    root = tmp_path / "content"
    shutil.copytree(ROOT / "rubrics", root / "rubrics")
    (root / "rubrics" / "zz_evil.yaml").write_text(f"kind: fidelity_instrument\nid: evil\nname: {tag}\n")
    errors = [e for e in validate(root) if e.path == "rubrics/zz_evil.yaml"]
    assert errors and "no !!python tags" in errors[0].message


def test_the_database_file_is_never_inside_the_static_folder(monkeypatch):
    """Run as the README says (project root, no settings): the database, recordings and files
    default to ./data, outside Streamlit's static folder and outside ./static, which is not served
    because static serving stays off in .streamlit/config.toml."""
    import tomllib

    for var in ("IPT_TRAINING_DATA_DIR", "IPT_TRAINING_DB"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(ROOT)
    settings = get_settings()
    assert settings.db_path == (ROOT / "data" / "ipt_training.db").resolve()
    for served in (Path(st.__file__).parent / "static", ROOT / "static"):
        for path in (settings.db_path, settings.recordings_dir, settings.files_dir):
            assert not path.resolve().is_relative_to(served.resolve()), (path, served)
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text("utf-8"))
    assert config.get("server", {}).get("enableStaticServing", False) is False
