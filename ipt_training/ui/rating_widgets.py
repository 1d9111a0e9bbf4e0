"""Widgets of the rating workspace and the results views: transcript player, item scorer,
evidence list, results. They read and write only through :mod:`ipt_training.fidelity`, which
applies the access and blind rules; every change is saved the moment it happens."""

from __future__ import annotations

from typing import Optional

import pandas as pd
import streamlit as st

from .. import fidelity
from ..auth import User
from ..config import Settings
from ..fidelity.transcripts import fmt_time
from .common import still_signed_in
from .recording_player import session_player
from .text import plain

NA = "N/A"
SCORE_ERROR = "ws_error"
RATING_WORKSPACE = "ipt_training/app_pages/rating_workspace.py"


def open_in_workspace(session_id: int, kind: str) -> None:
    """Hand a (session, kind) to the rating workspace and go there."""
    st.session_state["rating_session_id"] = int(session_id)
    st.session_state["rating_kind"] = kind
    st.switch_page(RATING_WORKSPACE)


def forget_widget_state(rating: dict) -> None:
    """Drop the score/reason/comment widgets' state of a rating changed elsewhere (e.g. adopted),
    so the workspace reads it fresh from the store."""
    prefixes = tuple(f"{w}_{_rid(rating)}_" for w in ("score", "reason", "comment"))
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(prefixes)]:
        del st.session_state[key]


def _editable(rating: dict) -> bool:
    return rating["status"] in ("draft", fidelity.NOT_STARTED)


def _rid(rating: dict) -> str:
    """The rating's part of its widgets' keys: its session and kind, the same before and after
    the first score starts the draft, so the control just used keeps the keyboard focus."""
    return f"{rating['session_id']}_{rating['kind']}"


def _state(rating: dict) -> str:
    """'draft' or 'locked': a key that changes on submit and reopen, so the widgets re-read the store."""
    return "draft" if _editable(rating) else "locked"


def _draft_id(db, user: User, rating: dict, library=None) -> int:
    """The id of the rating's draft, started now if it was not started (issue 17: opening a
    session starts nothing; the first score, mark or comment does)."""
    if rating["id"] is not None:
        return rating["id"]
    return fidelity.get_or_create_draft(db, user, rating["session_id"], rating["kind"], library=library)["id"]


FOCUS_CSS = ("<style>[data-testid='stMain'] :focus-visible, [data-testid='stMain'] summary:focus-visible "
             "{outline: 2px solid #1a56db !important; outline-offset: 2px;}</style>")


def focus_styles() -> None:
    """A clear outline on whatever holds the keyboard focus (WCAG 2.4.7), beyond the theme's faint ring."""
    st.html(FOCUS_CSS)


def show_saved_error() -> None:
    """Show (once) an error that a widget callback stored."""
    msg = st.session_state.pop(SCORE_ERROR, None)
    if msg:
        st.error(msg)


def _jump(prefix: str, time_s: float) -> None:
    """Ask the player to play from ``time_s`` (once: each request has a new number)."""
    previous = st.session_state.get(f"{prefix}_seek") or {}
    st.session_state[f"{prefix}_seek"] = {"t": float(time_s), "n": int(previous.get("n", 0)) + 1}


def transcript_player(db, settings: Settings, user: User, session: dict, prefix: str,
                      rating: Optional[dict] = None, mark_key: Optional[str] = None, library=None) -> bool:
    """The recording with its speed, the transcript that follows playback, and (for an
    editable rating) "Mark this moment", which adds an evidence mark at the playback time.
    Returns True when it added a mark, so the page reads the rating again."""
    if session.get("deleted_at"):
        st.warning("The recording of this session was deleted by an administrator; the ratings remain.")
        return False
    can_mark = rating is not None and _editable(rating)
    event = session_player(db, settings, user, session, key=f"{prefix}_player",
                           seek=st.session_state.get(f"{prefix}_seek"), can_mark=can_mark)
    if not session.get("cues"):
        st.info("This session has no transcript; listen to the recording and mark the moments as you go.")
    if not can_mark:
        return False
    return handle_player_event(db, user, rating, event, prefix, mark_key, library)


def handle_player_event(db, user: User, rating: dict, event, prefix: str, mark_key: Optional[str], library) -> bool:
    """Act once on a player event (its nonce is remembered for this browser session): a
    ``mark`` adds an evidence mark at its playback time, starting the draft if need be."""
    if not isinstance(event, dict) or event.get("kind") != "mark":
        return False
    done = st.session_state.setdefault(f"{prefix}_player_done", set())
    nonce = str(event.get("nonce") or "")
    if not nonce or nonce in done:
        return False
    done.add(nonce)
    try:
        t = float(event.get("t"))
        add_mark(db, user, rating, t, None, "", library)
    except (TypeError, ValueError):
        st.session_state[SCORE_ERROR] = "The player sent no playback time; press Mark this moment again."
        return False
    except fidelity.FidelityError as exc:
        st.session_state[SCORE_ERROR] = str(exc)
        return False
    if mark_key:
        st.session_state[mark_key] = float(round(t, 1))
    st.toast(f"Evidence mark added at {fmt_time(t)}.")
    return True


# --- item scorer -------------------------------------------------------------------------


def _score_key(rating: dict, item_id: str) -> str:
    return f"score_{_rid(rating)}_{_state(rating)}_{item_id}"


def _reason_key(rating: dict, item_id: str) -> str:
    return f"reason_{_rid(rating)}_{_state(rating)}_{item_id}"


def _save_score(db, user: User, rating: dict, item_id: str, key: str, library) -> None:
    if not still_signed_in(user):
        return
    value = st.session_state.get(key)
    try:
        if value is None and rating["id"] is None:
            return  # clearing an item of a rating not started: nothing to save, no draft to start
        rating_id = _draft_id(db, user, rating, library)
        if value is None:
            fidelity.save_item(db, user, rating_id, item_id, None, False, library=library)
        elif value == NA:
            fidelity.save_item(db, user, rating_id, item_id, None, True, library=library)
        else:
            fidelity.save_item(db, user, rating_id, item_id, int(value), False, library=library)
    except fidelity.FidelityError as exc:
        st.session_state[SCORE_ERROR] = str(exc)


def _save_reason(db, user: User, rating: dict, item_id: str, key: str) -> None:
    if not still_signed_in(user):
        return
    try:
        text = st.session_state.get(key, "")
        if rating["id"] is None and not text.strip():
            return
        fidelity.set_item_reason(db, user, _draft_id(db, user, rating), item_id, text)
    except fidelity.FidelityError as exc:
        st.session_state[SCORE_ERROR] = str(exc)


def _current(entry: Optional[dict]):
    if not entry:
        return None
    if entry["not_applicable"]:
        return NA
    return entry["score"]


def _badge(item: dict) -> str:
    if item.get("critical"):
        return " · :red-badge[critical: must pass]"
    if item.get("proscribed"):
        return " · :orange-badge[proscribed: higher is worse]"
    return ""


def item_label(n: int, item: dict) -> str:
    """The item's name on the page and in its controls' labels: its number in this session's
    list and its text, cut short (unique, so a screen reader tells the score groups apart)."""
    return f"Item {n}: {item['short']}"


def progress(library, rating: dict, session: dict) -> None:
    """'x of N' items done and the session score so far, as the instrument's pass rule counts it."""
    p = fidelity.rating_progress(library, rating, session)
    st.progress(p["done"] / p["total"] if p["total"] else 0.0,
                text=f"Items scored or N/A: {p['done']} of {p['total']}")
    if p["mean"] is None:
        st.caption("Session score so far: none yet (no IPT item scored).")
        return
    how = f"the mean of the {p['n_scored']} IPT item(s) scored, N/A left out"
    if p["deduction"]:
        how += f", minus {p['deduction']:.2f} for interventions from other therapies"
    st.markdown(f"Session score so far: **{p['mean']:.2f}** ({how})")


def _chosen(value, anchors: list[dict]) -> str:
    if value is None:
        return "not scored"
    if value == NA:
        return "N/A (no occasion in this session)"
    label = next((a["label"] for a in anchors if a["score"] == value), "")
    return f"{value} - {label}" if label else str(value)


def item_scorer(db, user: User, rating: dict, items: list[dict], library, with_reasons: bool = False) -> None:
    """Each applicable item with its anchors and a 1-5 / N/A control, saved on change (the
    first change starts the draft). A submitted rating shows each chosen score as text."""
    editable = _editable(rating)
    section = None
    for n, it in enumerate(items, start=1):
        if it["section"] != section:
            section = it["section"]
            st.markdown(f"##### {section}")
        key = _score_key(rating, it["id"])
        if key not in st.session_state:
            st.session_state[key] = _current(rating["scores"].get(it["id"]))
        options = [a["score"] for a in it["anchors"]] + ([NA] if it.get("na_allowed", True) else [])
        name = item_label(n, it)
        with st.container(border=True, key=f"item_{_rid(rating)}_{it['id']}"):
            st.markdown(f"**Item {n}**{_badge(it)} · {it['text']}")
            with st.expander(f"Anchors of item {n}: what each score means"):
                # one element for all anchors, not one each: every element a run draws is a hand-over
                # to the server's event loop, and a workspace of 25 items drew 125 of them (issue 16)
                st.markdown("\n\n".join(f"**{a['score']} - {a['label']}**: {a['text']}" for a in it["anchors"]))
                if it.get("proscribed"):
                    st.caption("Rated on how much of it the therapist did: the lowest score means none, a higher "
                               "score is worse and lowers the session score. Never N/A.")
                elif it.get("na_allowed", True):
                    st.caption("N/A: the session gave no occasion for this item (not the same as a low score).")
                else:
                    st.caption("Never N/A: every session gives occasion for this item.")
            if editable:
                st.segmented_control(
                    f"Score for {name}", options, key=key, format_func=str, label_visibility="collapsed",
                    on_change=_save_score, args=(db, user, rating, it["id"], key, library),
                )
            else:
                st.markdown(f"Score: **{_chosen(st.session_state.get(key), it['anchors'])}**")
            if with_reasons:
                rkey = _reason_key(rating, it["id"])
                if rkey not in st.session_state:
                    st.session_state[rkey] = (rating["scores"].get(it["id"]) or {}).get("reason") or ""
                st.text_input(f"Reason for the score of item {n} (shown to raters after they calibrate)", key=rkey,
                              disabled=not editable, on_change=_save_reason, args=(db, user, rating, it["id"], rkey))


# --- evidence marks ----------------------------------------------------------------------


def item_names(items: list[dict]) -> dict[str, str]:
    """Item id -> 'Item n: short text', numbered as the item scorer numbers them."""
    return {it["id"]: item_label(n, it) for n, it in enumerate(items, start=1)}


def add_mark(db, user: User, rating: dict, time_s: float, item_id: Optional[str], note: str, library) -> None:
    """Add an evidence mark to the rating (starting its draft if need be); raises FidelityError."""
    fidelity.add_evidence_mark(db, user, _draft_id(db, user, rating, library), time_s, item_id, note, library=library)


def evidence_list(db, user: User, rating: dict, items: list[dict], prefix: str, mark_key: str, library) -> None:
    """Add an evidence mark (time, optional item, note) and list the rating's marks."""
    editable = _editable(rating)
    labels = item_names(items)
    if editable:
        if mark_key not in st.session_state:
            st.session_state[mark_key] = 0.0
        with st.form(f"{prefix}_mark_form", clear_on_submit=False):
            c1, c2 = st.columns([1, 3])
            c1.number_input("Time (seconds)", min_value=0.0, step=1.0, key=mark_key,
                            help="Pre-filled with the time of your last mark; Mark this moment in the player "
                                 "marks the playback time at once.")
            item = c2.selectbox("Item (optional)", [None] + list(labels), key=f"{prefix}_mark_item",
                                format_func=lambda i: "- no item -" if i is None else labels[i])
            note = st.text_input("Note", key=f"{prefix}_mark_note", placeholder="What happens here that supports the score")
            if st.form_submit_button("Add evidence mark", key=f"{prefix}_mark_submit", icon=":material/bookmark_add:"):
                try:
                    add_mark(db, user, rating, st.session_state[mark_key], item, note, library)
                    st.session_state.pop(f"{prefix}_mark_note", None)
                    st.rerun()
                except fidelity.FidelityError as exc:
                    st.error(plain(str(exc)))
    marks = rating.get("marks") or []
    if not marks:
        st.caption("No evidence marks yet.")
    for m in marks:
        # one row, each part as wide as its content: a time such as 1:02:03 is never cut off
        with st.container(horizontal=True, vertical_alignment="center", key=f"{prefix}_markrow_{m['id']}"):
            st.button(m["time"], key=f"{prefix}_markjump_{m['id']}", on_click=_jump, width="content",
                      args=(prefix, m["time_s"]), help=f"Play from {m['time']}")
            item = f"{labels[m['item_id']]} · " if m["item_id"] in labels else ""
            st.markdown(f"{plain(item)}{plain(m['note']) if m['note'] else '(no note)'}", width="stretch")
            if editable:
                with st.popover(f"Edit {m['time']}", icon=":material/edit:", width="content",
                                key=f"{prefix}_markedit_{m['id']}",
                                help=f"Give the mark at {m['time']} an item and a note"):
                    _mark_editor(db, user, m, labels, prefix, library)
            if editable and st.button(f"Delete {m['time']}", key=f"{prefix}_markdel_{m['id']}", icon=":material/delete:",
                                      width="content", help=f"Delete the evidence mark at {m['time']}"):
                try:
                    fidelity.delete_evidence_mark(db, user, m["id"])
                    st.rerun()
                except fidelity.FidelityError as exc:
                    st.error(plain(str(exc)))


def _save_mark(db, user: User, mark_id: int, item_key: str, note_key: str, library) -> None:
    if not still_signed_in(user):
        return
    try:
        fidelity.update_evidence_mark(db, user, mark_id, st.session_state.get(item_key),
                                      st.session_state.get(note_key, ""), library=library)
    except fidelity.FidelityError as exc:
        st.session_state[SCORE_ERROR] = str(exc)


def _mark_editor(db, user: User, mark: dict, labels: dict[str, str], prefix: str, library) -> None:
    """The item and note of one mark, saved as they change (labels name the mark's time: unique)."""
    item_key, note_key = f"{prefix}_markitem_{mark['id']}", f"{prefix}_marknote_{mark['id']}"
    st.session_state.setdefault(item_key, mark["item_id"] if mark["item_id"] in labels else None)
    st.session_state.setdefault(note_key, mark["note"])
    args = (db, user, mark["id"], item_key, note_key, library)
    st.selectbox(f"Item of the mark at {mark['time']}", [None] + list(labels), key=item_key, on_change=_save_mark,
                 args=args, format_func=lambda i: "- no item -" if i is None else labels[i])
    st.text_input(f"Note of the mark at {mark['time']}", key=note_key, on_change=_save_mark, args=args,
                  placeholder="What happens here that supports the score")


def _save_comment(db, user: User, rating: dict, key: str) -> None:
    if not still_signed_in(user):
        return
    try:
        text = st.session_state.get(key, "")
        if rating["id"] is None and not text.strip():
            return
        fidelity.set_comment(db, user, _draft_id(db, user, rating), text)
    except fidelity.FidelityError as exc:
        st.session_state[SCORE_ERROR] = str(exc)


def comment_box(db, user: User, rating: dict) -> None:
    """The rating's comment for the trainee, saved when it changes."""
    key = f"comment_{_rid(rating)}_{_state(rating)}"
    if key not in st.session_state:
        st.session_state[key] = rating["comment"]
    st.text_area("Comment for the trainee", key=key, disabled=not _editable(rating),
                 on_change=_save_comment, args=(db, user, rating, key),
                 placeholder="What went well, what to work on")


def submit_button(db, user: User, rating: dict, library, key: str) -> None:
    """Submit (and lock) a draft; a refusal lists what is missing."""
    if not _editable(rating):
        return
    if st.button("Submit rating", key=key, type="primary", icon=":material/send:"):
        if rating["id"] is None:
            st.error("Score or mark N/A every item before submitting; nothing is scored yet.")
            return
        try:
            fidelity.submit_rating(db, user, rating["id"], library=library)
            st.rerun()
        except fidelity.FidelityError as exc:
            st.error(plain(str(exc)))


# --- results -----------------------------------------------------------------------------


def results_view(results: dict, key: str, leave_out: Optional[int] = None) -> None:
    """Per item, the score of every rating the user may see; then each rating's mean against
    the pass rule, its comment, evidence marks and (gold) reasons. ``leave_out``: the id of the
    viewer's own draft that the workspace already shows live above (an item score reruns only
    that part, so a copy here would fall behind)."""
    if results["deleted"]:
        st.warning("These ratings are of a deleted recording: the recording was removed, the ratings remain.")
    if results["hidden"]:
        st.info(plain(results["hidden"]))
    ratings = [r for r in results["ratings"] if r["rating_id"] != leave_out]
    left_out = [r["label"] for r in results["ratings"] if r["rating_id"] == leave_out]
    if not ratings:
        st.caption("No submitted rating of this session is visible to you yet; your draft is above." if left_out
                   else "No rating of this session is visible to you yet.")
        return
    st.caption(f"{results['instrument']['name']} (version {results['instrument']['version']}): a session "
               f"{results['pass_rule']}.")
    names = item_names(results["items"])
    table = pd.DataFrame(results["table"]).drop(columns=left_out)
    table["item"] = [names.get(i, i).split(":")[0] for i in table["item"]]  # "Item n", as the scorer numbers it
    st.dataframe(table, hide_index=True, width="stretch", key=f"{key}_table")
    for r in ratings:
        mean = "-" if r["mean"] is None else f"{r['mean']:.2f}"
        verdict = "" if r["passed"] is None else (" · **passes**" if r["passed"] else " · **below the pass mark**")
        draft = r["status"] != "submitted"
        score_name = "session score so far" if draft else "session score"
        with st.expander(f"{plain(r['label'])}{' (draft, not submitted)' if draft else ''}: {score_name} {mean}",
                         expanded=False):
            st.markdown(f"{score_name.capitalize()}: **{mean}**{verdict}")
            if r.get("deduction"):
                st.markdown(f"Mean of the IPT items {r['adherence_mean']:.2f}, minus {r['deduction']:.2f} for "
                            "interventions from other therapies.")
            for f in r.get("failed_by") or []:
                st.markdown(f"Fails the session on its own: {f['text']}.")
            if r["comment"]:
                st.markdown(f"Comment: {plain(r['comment'])}")
            if r["reasons"]:
                st.dataframe(pd.DataFrame([{"item": names.get(k, k), "reason": v} for k, v in r["reasons"].items()]),
                             hide_index=True, width="stretch", key=f"{key}_reasons_{r['rating_id']}")
            if r["marks"]:
                st.dataframe(pd.DataFrame([{"time": m["time"], "item": names.get(m["item_id"], m["item_id"] or ""),
                                            "note": m["note"]} for m in r["marks"]]),
                             hide_index=True, width="stretch", key=f"{key}_marks_{r['rating_id']}",
                             # m:ss or h:mm:ss, never cut off
                             column_config={"time": st.column_config.TextColumn("time", width=80)})
            else:
                st.caption("No evidence marks.")


def reopen_controls(db, user: User, results: dict, key: str) -> None:
    """For supervisors and admins: reopen another person's submitted rating, with a reason."""
    for r in results["ratings"]:
        if not r["can_reopen"]:
            continue
        with st.form(f"{key}_reopen_{r['rating_id']}", clear_on_submit=True):
            st.markdown(f"Reopen **{plain(r['label'])}** for correction")
            reason = st.text_input("Reason (kept in the audit log)", key=f"{key}_reopen_reason_{r['rating_id']}")
            if st.form_submit_button("Reopen with reason", key=f"{key}_reopen_submit_{r['rating_id']}", icon=":material/lock_open:"):
                try:
                    fidelity.reopen_rating(db, user, r["rating_id"], reason)
                    st.toast(f"{plain(r['label'])} is reopened as a draft.")
                    st.rerun()
                except fidelity.FidelityError as exc:
                    st.error(plain(str(exc)))
