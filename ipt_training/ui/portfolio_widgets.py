"""The random draw of sessions to be rated (issue 13), shared by Supervisees and Rating assignments."""

from __future__ import annotations

import streamlit as st
from sqlite_utils import Database

from ..auth import User
from ..content import Library
from ..credentials import portfolio
from ..display import name_of, requirement_title


def _requirement_name(library: Library, standard_id: str, requirement_id: str) -> str:
    """The requirement's title (its id humanized when the standard no longer has it)."""
    std = library.standards.get(standard_id)
    req = next((r for r in std.requirements if r.id == requirement_id), None) if std else None
    return requirement_title(req) if req else name_of({}, requirement_id)


def draw_panel(db: Database, library: Library, user: User, trainee_id: int, key: str) -> None:
    """Draw one recorded session of each phase of a case at random for a ``selection: random``
    requirement, and list the draws made for the trainee. Refusals are shown as their sentence."""
    reqs = portfolio.random_requirements(library)
    if not reqs:
        st.caption("No loaded standard rates sessions drawn at random.")
        return
    st.caption("For a standard that rates sessions drawn at random, draw one recorded session of each phase of a "
               "case. A further draw of a case and phase is allowed only after the drawn session failed, as often "
               "as the standard allows. Every draw is kept; assign the drawn sessions on Rating assignments.")
    rq = st.selectbox("Requirement", reqs, key=f"{key}_req",
                      format_func=lambda p: f"{library.standards[p[0]].name}: {_requirement_name(library, *p)}")
    case = st.selectbox("Case", portfolio.recorded_cases(db, trainee_id), index=None,
                        placeholder="Choose a case with recorded sessions", key=f"{key}_case")
    if st.button("Draw at random", key=f"{key}_btn", disabled=case is None, icon=":material/casino:"):
        try:
            made, skipped = portfolio.draw_sessions(db, library, user, trainee_id, rq[0], rq[1], case)
            st.success("Drawn: " + "; ".join(f"{d['phase']} phase, one of {d['candidates']} recorded session(s)"
                                              for d in made) + ".")
            for note in skipped:
                st.caption(f"Not drawn: {note}")
        except portfolio.PortfolioError as exc:
            st.error(str(exc))
    draws = portfolio.list_draws(db, trainee_id)
    if draws:
        st.dataframe([{"case": d["case_pseudonym"], "phase": d["phase"], "draw": d["seq"],
                       "session": d["session_number"], "requirement": _requirement_name(library, d["standard_id"], d["requirement_id"]),
                       "drawn by": d["drawn_by_name"], "drawn at": d["drawn_at"][:16]} for d in draws],
                     hide_index=True, key=f"{key}_table")
