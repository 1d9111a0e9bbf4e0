"""Trainee: the vignette library, searchable by title and summary, filterable by population,
difficulty and status.

Why there is no problem-area filter: choosing the problem area is the first thing a vignette
asks of the trainee, so any filter drawn from the key's areas would hint at that answer (and
most of the ranking credit). A case's areas are shown on its card once submitted; to practise
a weak area on a new case, My progress recommends one without naming its focus (issue 12, 17).
"Start" starts the attempt and opens it; "Continue" opens the one in progress.
"""

import streamlit as st

from ipt_training.ui.common import get_db, get_library, require_user
from ipt_training.ui.vignette_widgets import pct
from ipt_training.ui.finding import search_box
from ipt_training.ui.text import plain
from ipt_training.vignettes import VignetteError, filter_options, library_rows, start_attempt

user = require_user("trainee")
db, lib = get_db(), get_library()
st.title("Vignette library")
st.caption("Expert-keyed IPT cases, listed in the suggested order from introductory to advanced. Each unfolds in "
           "stages; you choose the problem areas and write a formulation, commit to them before the later stages "
           "are revealed, and respond at key moments. The expert key is shown only after you submit.")

opts = filter_options()


def _any(labels: dict):
    return lambda v: "Any" if v is None else labels[v]


text = search_box("Search titles and summaries", key="lib_text", placeholder="e.g. move, retirement, teenager")
c1, c2, c3 = st.columns(3)
population = c1.selectbox("Population", [None, *opts["population"]], format_func=_any(opts["population"]), key="lib_population")
difficulty = c2.selectbox("Difficulty", [None, *opts["difficulty"]], format_func=_any(opts["difficulty"]), key="lib_difficulty")
status = c3.selectbox("Status", [None, *opts["status"]], format_func=_any(opts["status"]), key="lib_status")

items = library_rows(db, lib, user.id, population=population, difficulty=difficulty, status=status, text=text)
if not items:
    st.info("No vignette matches this search. Clear the search or set a filter back to Any to see more.")
for row in items:
    with st.container(border=True, key=f"lib_card_{row['vignette_id']}"):
        left, right = st.columns([5, 1])
        left.markdown(f"**{row['order']}. {row['title']}**")
        best = f" · best {pct(row['best_score'])}" if row["best_score"] is not None else ""
        left.caption(f"{row['population_label']} · {row['difficulty']} · **{opts['status'].get(row['status'], row['status'])}**"
                     f" · {row['attempts']} submitted{best}" + (" · passed" if row["passed"] else "")
                     + f" · problem areas: {row['areas_label']}")
        left.write(row["summary"])
        label = {"new": "Start", "in progress": "Continue"}.get(row["status"], "Open")
        if right.button(label, key=f"lib_open_{row['vignette_id']}", width="stretch",
                        type="primary" if row["status"] == "new" else "secondary"):
            try:
                if row["status"] == "new":  # Start means start: the workspace opens on stage 1
                    start_attempt(db, lib, user, row["vignette_id"])
                st.session_state["vignette_id"] = row["vignette_id"]
                st.switch_page("ipt_training/app_pages/vignette_workspace.py")
            except VignetteError as exc:
                st.error(plain(str(exc)))
