"""Credential readiness widgets: the checklist, status badges, decision log, evidence tables.

They render plain data from :mod:`ipt_training.credentials`, :mod:`ipt_training.evidence` and
:mod:`ipt_training.credential_review`; every link points only at pages the viewer's roles may use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import pandas as pd
import streamlit as st

from ..access import pages_for
from ..auth import User
from ..display import humanize, name_of
from .common import get_library
from ..content import PROBLEM_AREAS
from ..credentials import Readiness, status_label
from ..credentials.wording import for_reader
from .text import plain

PAGES_DIR = Path(__file__).resolve().parent.parent / "app_pages"
STATUS_COLOURS = {"ready for review": "green", "nearly ready": "orange", "in progress": "gray", "held": "blue",
                  "ready for renewal review": "green", "renewal due": "orange", "expired": "red"}
KIND_WORDS = {
    "training_event": "training events", "clinical_hours": "clinical hours", "supervision": "supervision sessions",
    "case": "cases", "rated_session": "rated sessions", "vignette_result": "vignette attempts",
    "rater_certification": "rater certification", "credential": "credentials",
}
# where a piece of evidence lives, per kind: the first page of the list the viewer may use wins
EVIDENCE_PAGES = {
    "training_event": ("my_evidence.py", "supervisees.py"),
    "clinical_hours": ("my_evidence.py", "supervisees.py"),
    "supervision": ("my_evidence.py", "supervisees.py"),
    "case": ("my_evidence.py", "supervisees.py"),
    "rated_session": ("my_sessions.py", "recordings_admin.py", "assignments.py"),
    "vignette_result": ("progress.py", "grading_queue.py"),
    "rater_certification": ("calibration.py", "reliability_report.py"),
    "credential": ("my_readiness.py", "credential_review.py"),
    "case_report": ("my_evidence.py", "supervisees.py"),
    "attestation": ("my_readiness.py", "supervisees.py", "credential_review.py"),
    "supervision_given": ("supervisees.py",),
}


def evidence_links(user: User) -> dict[str, tuple[str, str]]:
    """kind -> (page path, page title) for the evidence pages this user may open."""
    allowed = {p.file: p.title for p in pages_for(user.roles) if (PAGES_DIR / p.file).exists()}
    out = {}
    for kind, files in EVIDENCE_PAGES.items():
        page = next((f for f in files if f in allowed), None)
        if page:
            out[kind] = (f"ipt_training/app_pages/{page}", allowed[page])
    return out


def status_badge(status: str) -> str:
    """Markdown for a coloured status badge."""
    return f":{STATUS_COLOURS.get(status, 'gray')}-badge[{status}]"


def readiness_summary(readiness: Readiness, key: str, status: Optional[str] = None) -> None:
    status = status or status_label(readiness)
    with st.container(key=f"{key}_summary"):
        st.markdown(f"{status_badge(status)} **{readiness.met_count} of {readiness.total} requirements met**")
        st.progress(readiness.progress, text=f"Overall progress {round(readiness.progress * 100)} %")


def readiness_checklist(readiness: Readiness, key: str, links: Optional[dict[str, tuple[str, str]]] = None,
                        show_summary: bool = True, status: Optional[str] = None, reader: str = "self") -> None:
    """Each requirement: met or not, progress bar, where it stands, next steps, and its evidence
    one click away (an expander listing what counts and what is shown but not counted, with a
    link to the page that holds it). ``reader``: "self" (the candidate), "supervisor" or
    "admin": the next steps are worded to them (:func:`credentials.wording.for_reader`)."""
    links = links or {}
    readiness = for_reader(readiness, reader)
    if show_summary:
        readiness_summary(readiness, key, status)
    for n, req in enumerate(readiness.requirements):
        with st.container(border=True, key=f"{key}_req_{n}"):
            icon = ":material/check_circle:" if req.met else ":material/radio_button_unchecked:"
            st.markdown(f"{icon} **{req.title or humanize(req.requirement_id)}** — {req.description}")
            st.progress(req.progress, text=req.current)
            for m in req.missing:
                st.markdown(f"- {plain(m)}")
            label = f"Evidence: {len(req.evidence)} counted"
            if req.not_counted:
                label += f", {len(req.not_counted)} shown but not counted"
            with st.expander(label, expanded=False, key=f"{key}_ev_{n}"):
                if not req.evidence and not req.not_counted:
                    st.caption("No evidence yet.")
                for e in req.evidence:
                    st.markdown(f"- :material/check: {plain(e.label)}")
                for e in req.not_counted:
                    st.markdown(f"- :material/block: {plain(e.label)} — *not counted: {plain(e.reason)}*")
                kinds = dict.fromkeys(e.kind for e in list(req.evidence) + list(req.not_counted))
                for kind in kinds:
                    if kind in links:
                        path, title = links[kind]
                        st.page_link(path, label=f"Open {title} ({KIND_WORDS.get(kind, kind)})",
                                     icon=":material/open_in_new:")


def decision_log(decisions: Sequence[dict], key: str) -> None:
    """The append-only log of decisions, newest first."""
    if not decisions:
        st.caption("No decision recorded yet.")
        return
    st.dataframe(pd.DataFrame([{
        "id": d["id"], "decision": d["decision"], "standard": name_of(get_library().standards, d["standard_id"]), "version": d["standard_version"],
        "decided at (UTC)": d["decided_at"].replace("T", " ")[:16], "reviewer": d["reviewer"],
        "expires": d["expires_on"] or "", "state": d["state"], "reasons": d["reasons"],
    } for d in decisions]), hide_index=True, width="stretch", key=key)


def entries_table(table: str, entries: Sequence[dict], key: str) -> None:
    """One kind of logged evidence as a table; unconfirmed entries say they await confirmation."""
    if not entries:
        st.caption("Nothing logged yet.")
        return
    if table == "training_events":
        data = [{"date": e["date"], "title": e["title"], "trainer": e["trainer"], "hours": e["hours"],
                 "certificate": "yes" if e["certificate_file"] else "", "status": e["status"]} for e in entries]
    elif table == "clinical_hours":
        data = [{"date": e["date"], "hours": e["hours"], "setting": e["setting"], "status": e["status"]}
                for e in entries]
    elif table == "clinical_cases":
        data = [{"case": e["pseudonym"], "problem area": PROBLEM_AREAS.get(e["problem_area"], e["problem_area"]),
                 "start": e["start_date"], "end": e["end_date"] or "ongoing", "sessions": e["n_sessions"],
                 "symptom scores": len(e["symptom_scores"]),
                 "rated sessions": ", ".join(f"{s} ({p})" for s, p in e["rated_sessions"]),
                 "status": e["status"]} for e in entries]
    else:
        data = [{"date": e["date"], "hours": e["hours"], "supervisor": e["supervisor_name"],
                 "case": e.get("case_pseudonym") or "", "status": e["status"]} for e in entries]
    total = sum(e.get("hours") or 0 for e in entries) if table != "clinical_cases" else None
    waiting = sum(1 for e in entries if not e["confirmed"])
    st.dataframe(pd.DataFrame(data), hide_index=True, width="stretch", key=key)
    if total is not None:
        done = sum(e["hours"] for e in entries if e["confirmed"])
        st.caption(f"{done:g} of {total:g} hours confirmed." + (
            (" 1 entry is awaiting supervisor confirmation and does not count yet." if waiting == 1 else
             f" {waiting} entries are awaiting supervisor confirmation and do not count yet.")
            if waiting else ""))
    elif waiting:
        st.caption(f"{waiting} case(s) awaiting supervisor confirmation; they do not count yet.")


def symptom_scores_table(case: dict, key: str) -> None:
    if not case["symptom_scores"]:
        st.caption("No symptom scores recorded for this case yet.")
        return
    df = pd.DataFrame(case["symptom_scores"], columns=["session", "measure", "score"])
    st.dataframe(df.pivot_table(index="session", columns="measure", values="score").reset_index(),
                 hide_index=True, width="stretch", key=key)
