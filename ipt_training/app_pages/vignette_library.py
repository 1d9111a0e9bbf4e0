"""Trainee: the vignette library, filterable by population, difficulty, status and problem area.

Why the problem-area filter only knows submitted vignettes: choosing the problem area is the
first thing a vignette asks of the trainee, so tagging an untried case "role dispute" would
hand over that answer (and most of the ranking credit). A vignette is therefore tagged with
its areas once the trainee has submitted an attempt on it, and the area filter searches
those, which is what a trainee needs for reviewing cases in an area. To practise a weak area
on a new case, My progress recommends one without naming its focus.
"""

import streamlit as st

from ipt_training.ui.common import get_db, get_library, require_user
from ipt_training.ui.vignette_widgets import pct
from ipt_training.vignettes import filter_options, library_rows

user = require_user("trainee")
db, lib = get_db(), get_library()
st.title("Vignette library")
st.caption("Expert-keyed IPT cases, listed in the suggested order from introductory to advanced. Each unfolds in "
           "stages; you choose the problem areas and write a formulation, commit to them before the later stages "
           "are revealed, and respond at key moments. The expert key is shown only after you submit.")

opts = filter_options()


def _any(labels: dict):
    return lambda v: "Any" if v is None else labels[v]


c1, c2, c3, c4 = st.columns(4)
population = c1.selectbox("Population", [None, *opts["population"]], format_func=_any(opts["population"]), key="lib_population")
difficulty = c2.selectbox("Difficulty", [None, *opts["difficulty"]], format_func=_any(opts["difficulty"]), key="lib_difficulty")
status = c3.selectbox("Status", [None, *opts["status"]], format_func=_any(opts["status"]), key="lib_status")
area = c4.selectbox("Problem area (submitted cases)", [None, *opts["area"]], format_func=_any(opts["area"]), key="lib_area",
                    help="A case is tagged with its problem areas once you have submitted it: naming the area of a case "
                         "you have not tried would give away the answer.")
if area:
    st.info("Showing only cases you have submitted: cases you have not tried are not tagged with their problem "
            "areas, because that would give away the first answer. For a new case in a weak area, see the "
            "recommendation on My progress.")

items = library_rows(db, lib, user.id, population=population, difficulty=difficulty, status=status, area=area)
if not items:
    st.info("No vignette matches these filters. Set a filter back to Any to see more.")
for row in items:
    with st.container(border=True, key=f"lib_card_{row['vignette_id']}"):
        left, right = st.columns([5, 1])
        left.markdown(f"**{row['order']}. {row['title']}**")
        best = f" · best {pct(row['best_score'])}" if row["best_score"] is not None else ""
        left.caption(f"{row['population_label']} · {row['difficulty']} · **{row['status']}**"
                     f" · {row['attempts']} submitted{best}" + (" · passed" if row["passed"] else "")
                     + f" · problem areas: {row['areas_label']}")
        left.write(row["summary"])
        label = {"new": "Start", "in progress": "Continue"}.get(row["status"], "Open")
        if right.button(label, key=f"lib_open_{row['vignette_id']}", width="stretch"):
            st.session_state["vignette_id"] = row["vignette_id"]
            st.switch_page("ipt_training/app_pages/vignette_workspace.py")
