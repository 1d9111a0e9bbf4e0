"""Trainees, supervisors and admins: add a recorded session with an optional timed transcript."""

import streamlit as st

from ipt_training import fidelity
from ipt_training.config import get_settings
from ipt_training.content import PHASES, PROBLEM_AREAS
from ipt_training.ui.common import get_db, require_user
from ipt_training.ui.text import plain

user = require_user("trainee", "supervisor", "admin")
db = get_db()
settings = get_settings()
st.title("Add a recorded session")
st.caption(f"Audio or video ({', '.join(e.lstrip('.') for e in fidelity.MEDIA)}), at most {settings.max_upload_mb} MB, "
           f"with an optional transcript (WebVTT .vtt or SubRip .srt, at most {settings.max_transcript_mb} MB) "
           "whose timed lines let raters jump through "
           "the recording. The file is stored under a name made from its content, never under the name you give it.")
if flash := st.session_state.pop("add_flash", None):
    st.success(plain(flash))

trainees = fidelity.trainees_for_upload(db, user)
if not trainees:
    st.info("You have no trainee whose sessions you can add: supervisors add sessions of their supervisees.")
    st.stop()
names = {t["id"]: t["display_name"] for t in trainees}
n = st.session_state.get("add_form_n", 0)  # a new form (empty widgets) after each session added

with st.form("add_session_form"):
    recording = st.file_uploader("Recording", type=[e.lstrip(".") for e in fidelity.MEDIA], key=f"add_recording_{n}",
                                 max_upload_size=settings.max_upload_mb)
    transcript = st.file_uploader("Transcript (optional)", type=["vtt", "srt"], key=f"add_transcript_{n}",
                                  max_upload_size=settings.max_transcript_mb)
    if len(names) == 1:  # nothing to choose: said as text (a greyed-out box is hard to read, issue 17)
        trainee_id = next(iter(names))
        st.markdown(f"Therapist (trainee): **{plain(names[trainee_id])}**")
    else:
        trainee_id = st.selectbox("Therapist (trainee)", list(names), format_func=names.get, key=f"add_trainee_{n}")
    c1, c2 = st.columns(2)
    pseudonym = c1.text_input("Case pseudonym", key=f"add_case_{n}", placeholder="e.g. Case A (never a real name)")
    number = c2.number_input("Session number", min_value=1, max_value=200, value=1, step=1, key=f"add_number_{n}")
    c3, c4 = st.columns(2)
    phase = c3.selectbox("Phase", list(PHASES), key=f"add_phase_{n}", format_func=str.capitalize)
    area = c4.selectbox("Problem area", list(PROBLEM_AREAS), key=f"add_area_{n}", format_func=PROBLEM_AREAS.get)
    notes = st.text_area("Notes (optional)", key=f"add_notes_{n}")
    consent = st.checkbox("The client consented to this recording being used for training and rating, and the "
                          "recording and transcript hold no identifying details.", key=f"add_consent_{n}")
    submitted = st.form_submit_button("Add session", key=f"add_submit_{n}", type="primary", icon=":material/upload:")

if submitted:
    if recording is None:
        st.error("Choose the recording file to upload; the session was not added.")
    else:
        try:
            sid = fidelity.add_session(
                db, settings, user, trainee_id, recording.name, recording.getvalue(),
                transcript.name if transcript else None, transcript.getvalue() if transcript else None,
                {"case_pseudonym": pseudonym, "session_number": number, "phase": phase, "problem_area": area,
                 "notes": notes},
                consent)
            st.session_state["add_form_n"] = n + 1
            st.session_state["add_flash"] = (f"Session added: {pseudonym.strip()}, session {int(number)} "
                                             f"for {names[trainee_id]}. A supervisor assigns it to a rater.")
            st.rerun()
        except fidelity.FidelityError as exc:
            st.error(plain(str(exc)))
