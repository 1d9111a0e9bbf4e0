"""Admin: which content files are served and which were rejected, and why."""

import pandas as pd
import streamlit as st

from ipt_training.ui.common import get_library, require_user

require_user("admin")
lib = get_library()
st.title("Content status")
c1, c2, c3, c4, c5 = st.columns(5)
c1.metric("Vignettes", len(lib.vignettes))
c2.metric("Vignette rubrics", len(lib.rubrics))
c3.metric("Fidelity instruments", len(lib.instruments))
c4.metric("Credential standards", len(lib.standards))
c5.metric("Rejected files", len({e.path for e in lib.errors}))

if lib.errors:
    st.error("These files were rejected and are not offered to anyone. Fix each line below, then reload the page.")
    st.dataframe(pd.DataFrame([{"file": e.path, "line": e.line, "field": e.field, "problem": e.message} for e in lib.errors]),
                 hide_index=True, width="stretch")
else:
    st.success("Every content file is valid.")

rows = []
for kind, bucket in (("vignette", lib.vignettes), ("rubric", lib.rubrics), ("rating scale", lib.scales),
                     ("instrument", lib.instruments), ("standard", lib.standards), ("policy", lib.policies)):
    for model in bucket.values():
        rows.append({"kind": kind, "id": model.id, "file": model.source_path, "version hash": model.content_hash[:12]})
st.subheader("Served content")
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
