"""Trainee: work through one vignette; drafts are saved on every change; feedback after submission.

The page renders a draft only from ``attempt_view_for``, whose draft view carries no part of the
expert key; the key, rationales and model responses are drawn only for submitted attempts.
While a retake is in progress, earlier attempts are listed by score only, so the retake is
practice rather than copying.
"""

import streamlit as st

from ipt_training.content import DISPUTE_STAGES, PROBLEM_AREAS, TECHNIQUES
from ipt_training.ui.common import get_db, get_library, require_user, still_signed_in
from ipt_training.ui.vignette_widgets import attempts_table, expert_key, score_card
from ipt_training.vignettes import (
    VignetteError,
    area_label,
    attempt_view_for,
    attempts_for,
    commit_focus,
    library_rows,
    missing_parts,
    offered_vignette,
    reveal_next_stage,
    save_draft,
    start_attempt,
    submit_attempt,
    technique_label,
)
from ipt_training.ui.text import plain

user = require_user("trainee")
db, lib = get_db(), get_library()
st.title("Vignette workspace")

offered = {r["vignette_id"]: r for r in library_rows(db, lib, user.id)}
if not offered:
    st.info("No vignette is offered at the moment. Ask your training body to check the content status.")
    st.stop()


def _picked():
    st.session_state["vignette_id"] = st.session_state["ws_pick"]


if st.session_state.get("vignette_id") in offered:
    st.session_state["ws_pick"] = st.session_state["vignette_id"]
st.selectbox("Vignette", list(offered), index=None, format_func=lambda v: f"{offered[v]['title']} ({offered[v]['status']})",
             key="ws_pick", on_change=_picked, placeholder="Choose a vignette")
vignette_id = st.session_state.get("vignette_id")
if vignette_id not in offered:
    st.info("Choose a vignette above, or open one from the vignette library.")
    st.stop()

for msg_kind in ("vignette_flash_error", "vignette_flash_success"):
    if msg := st.session_state.pop(msg_kind, None):
        (st.error if msg_kind.endswith("error") else st.success)(msg)

past = attempts_for(db, lib, user, user.id, vignette_id)  # newest first
draft = next((a for a in past if a["status"] == "in progress"), None)
submitted = [a for a in past if a["status"] != "in progress"]


# --- a draft: the case so far, and the trainee's answers -----------------------------------

def _answers_from_state(prefix: str, view: dict) -> dict:
    """The answers as the widgets hold them now; moments not yet shown keep their stored answer."""
    ss, stored = st.session_state, view["answers"]
    areas = list(ss.get(f"{prefix}areas", stored.get("areas", [])))
    ranking = {a: ss.get(f"{prefix}rank_{a}", stored.get("ranking", {}).get(a)) for a in areas}
    moments = dict(stored.get("moments", {}))
    for mid in view["case"]["revealed_moment_ids"]:
        old = moments.get(mid, {})
        moments[mid] = {"technique": ss.get(f"{prefix}tech_{mid}", old.get("technique")),
                        "response": ss.get(f"{prefix}resp_{mid}", old.get("response", ""))}
    stage = ss.get(f"{prefix}dispute_stage", stored.get("dispute_stage")) if "role_dispute" in areas else None
    return {"areas": areas, "ranking": {a: r for a, r in ranking.items() if r}, "dispute_stage": stage,
            "formulation": ss.get(f"{prefix}formulation", stored.get("formulation", "")), "moments": moments}


def _save(attempt_id: int, prefix: str, view: dict):
    if not still_signed_in(user):
        return  # a callback runs before the sign-in check
    try:
        save_draft(db, lib, user, attempt_id, _answers_from_state(prefix, view))
    except VignetteError as exc:
        st.session_state["vignette_flash_error"] = str(exc)


def _draft(attempt_id: int):
    view = attempt_view_for(db, lib, user, attempt_id)
    case, stored, prefix = view["case"], view["answers"], f"ws{attempt_id}_"
    ss = st.session_state
    # seed each widget from the stored draft once; afterwards the widget holds the value
    ss.setdefault(f"{prefix}areas", list(stored.get("areas", [])))
    ss.setdefault(f"{prefix}formulation", stored.get("formulation", ""))
    ss.setdefault(f"{prefix}dispute_stage", stored.get("dispute_stage"))
    for a in PROBLEM_AREAS:
        ss.setdefault(f"{prefix}rank_{a}", stored.get("ranking", {}).get(a))
    for mid in case["revealed_moment_ids"]:
        ss.setdefault(f"{prefix}tech_{mid}", stored.get("moments", {}).get(mid, {}).get("technique"))
        ss.setdefault(f"{prefix}resp_{mid}", stored.get("moments", {}).get(mid, {}).get("response", ""))
    on_change = dict(on_change=_save, args=(attempt_id, prefix, view))

    commit_at = case["focus_commit_stage"]
    locked = bool(view["focus_committed_at"])
    st.caption(f"Attempt {view['number']} · draft saved as you go · stage {case['stages_revealed']} of {case['n_stages']}")

    def _stage(n: int, stage: dict) -> None:
        st.subheader(f"Stage {n}: {stage['title']}")
        st.write(stage["text"])
        for rel in stage["relationships"]:
            st.markdown(f"- **{rel['person']}**: {rel['description']}")
        for m in stage["moments"]:
            with st.container(border=True, key=f"{prefix}moment_{m['id']}"):
                st.markdown(f"**Moment** · the client says:\n\n> {m['client_statement']}")
                k = case["all_moment_ids"].index(m["id"]) + 1
                st.selectbox(f"Technique you would use at moment {k}", list(TECHNIQUES), index=None,
                             format_func=technique_label, key=f"{prefix}tech_{m['id']}",
                             placeholder="Choose a technique", label_visibility="visible", **on_change)
                st.text_area(f"What you would say at moment {k}", key=f"{prefix}resp_{m['id']}", **on_change)

    def _assessment() -> None:
        st.subheader("Your assessment")
        if locked:
            st.caption(f"Committed on {view['focus_committed_at'][:16].replace('T', ' ')}: the problem areas, ranking "
                       "and formulation can no longer change.")
        selected = st.multiselect("Problem areas that apply", list(PROBLEM_AREAS), format_func=area_label,
                                  key=f"{prefix}areas", disabled=locked, **on_change)
        if len(selected) > 1:
            st.caption("Rank the areas you selected: 1 is the focus you would work on.")
            cols = st.columns(len(selected))
            for col, a in zip(cols, selected):
                col.selectbox(f"Rank of {area_label(a)}", list(range(1, len(PROBLEM_AREAS) + 1)), index=None,
                              key=f"{prefix}rank_{a}", placeholder="rank", disabled=locked, **on_change)
        if "role_dispute" in selected:
            st.selectbox("Stage of the role dispute", list(DISPUTE_STAGES), index=None, key=f"{prefix}dispute_stage",
                         format_func=str.capitalize, placeholder="Choose the stage", disabled=locked, **on_change)
        st.text_area("Interpersonal formulation (as you would say it to the client)", key=f"{prefix}formulation",
                     height=160, disabled=locked, **on_change)

    stages = list(enumerate(case["stages"], start=1))
    before = stages if commit_at is None else stages[:commit_at]
    after = [] if commit_at is None else stages[commit_at:]
    for n, stage in before:
        _stage(n, stage)
    if commit_at is not None:
        _assessment()
        if not locked:
            st.info("Commit your problem areas, ranking and formulation to reveal the rest of the case. Once "
                    "committed they cannot change: in practice the focus is agreed before the middle phase.")
            if case["stages_revealed"] >= commit_at and st.button("Commit my focus", key=f"{prefix}commit",
                                                                  icon=":material/lock:"):
                try:
                    _save(attempt_id, prefix, view)
                    commit_focus(db, lib, user, attempt_id)
                    st.rerun()
                except VignetteError as exc:
                    st.error(plain(str(exc)))
    for n, stage in after:
        _stage(n, stage)
    may_reveal = commit_at is None or locked or case["stages_revealed"] < commit_at
    if case["stages_revealed"] < case["n_stages"] and may_reveal:
        if st.button("Reveal the next stage", key=f"{prefix}reveal", icon=":material/expand_more:"):
            _save(attempt_id, prefix, view)
            try:
                reveal_next_stage(db, lib, user, attempt_id)
                st.rerun()
            except VignetteError as exc:
                st.error(plain(str(exc)))
    if commit_at is None:
        _assessment()

    current = _answers_from_state(prefix, view)
    try:
        todo = missing_parts(offered_vignette(lib, vignette_id)[0], current)
    except VignetteError as exc:
        todo = []
        st.error(plain(str(exc)))
    if case["stages_revealed"] < case["n_stages"]:
        st.info("Reveal every stage of the case before you submit.")
    elif todo:
        st.warning("Not answered yet (unanswered parts score zero): " + "; ".join(todo) + ".")
    if st.button("Submit for scoring", key=f"{prefix}submit", type="primary",
                 disabled=case["stages_revealed"] < case["n_stages"] or (commit_at is not None and not locked)):
        try:
            save_draft(db, lib, user, attempt_id, current)
            submit_attempt(db, lib, user, attempt_id)
            st.session_state["vignette_flash_success"] = "Submitted. Your score and the expert feedback are below."
            st.rerun()
        except VignetteError as exc:
            st.error(plain(str(exc)))


if draft:
    _draft(draft["attempt_id"])
else:
    st.markdown(f"**{offered[vignette_id]['title']}**")
    st.write(offered[vignette_id]["summary"])
    label = "Retake this vignette" if submitted else "Start this vignette"
    if st.button(label, key="ws_start", type="secondary" if submitted else "primary", icon=":material/play_arrow:"):
        try:
            start_attempt(db, lib, user, vignette_id)
            st.rerun()
        except VignetteError as exc:
            st.error(plain(str(exc)))

# --- earlier attempts ------------------------------------------------------------------------
if submitted:
    st.divider()
    st.subheader("Your attempts at this vignette")
    attempts_table(submitted)
    if draft:
        st.caption("Feedback on earlier attempts is hidden while a retake is in progress.")
    else:
        choice = st.selectbox("Feedback for attempt", [a["attempt_id"] for a in submitted],
                              format_func=lambda i: next(f"Attempt {a['number']} ({a['status']})" for a in submitted
                                                         if a["attempt_id"] == i), key="ws_feedback_attempt")
        view = attempt_view_for(db, lib, user, choice)
        if view["grader"]:
            st.caption(f"Graded by {plain(view['grader'])} on {(view['graded_at'] or '')[:10]}.")
        score_card(view["result"], key=f"ws_card_{choice}")
        expert_key(view, key=f"ws_key_{choice}")
