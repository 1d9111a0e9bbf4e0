"""My readiness for each credential standard (trainees, raters, supervisors), my awards and their certificates."""

import datetime as _dt

import pandas as pd
import streamlit as st

from ipt_training import credentials
from ipt_training.ui.common import get_db, get_library, require_user
from ipt_training.ui.errors import pdf_download
from ipt_training.ui.readiness_widgets import decision_log, evidence_links, readiness_checklist

user = require_user("trainee", "rater", "supervisor")
db, library = get_db(), get_library()
today = _dt.date.today()
st.title("My credential readiness")

awards = credentials.awards_held(db, user.id, today)
if awards:
    st.subheader("My credentials")
    for a in awards:
        with st.container(border=True, key=f"mr_award_{a['decision_id']}"):
            c1, c2 = st.columns([3, 1.3], vertical_alignment="center")
            if a["expired"]:
                c1.warning(f"**{a['standard_name']}** (version {a['standard_version']}): awarded {a['awarded_on']}, "
                           f"{a['state']}. Ask the training body how to renew it.", icon=":material/history:")
            else:
                c1.success(f"**Awarded: {a['standard_name']}** (version {a['standard_version']}) on {a['awarded_on']}, "
                           f"{a['state']}.", icon=":material/workspace_premium:")
                # built before the button is drawn, so a refusal or a broken PDF shows as a sentence
                pdf_download("Download certificate",
                             lambda a=a: credentials.certificate_pdf(db, a["decision_id"], today, viewer=user),
                             file_name=f"certificate-{a['standard_id']}-{a['decision_id']}.pdf",
                             key=f"mr_cert_{a['decision_id']}", where=c2, icon=":material/download:",
                             expected=(credentials.ReviewError,))

results = credentials.my_readiness(db, library, user, user.id, today)
if not results:
    st.info("No credential standard is loaded; an administrator adds them under training/.")
    st.stop()
st.subheader("Where I stand")
st.dataframe(pd.DataFrame([{
    "standard": r["standard"].name, "status": r["status"],
    "requirements met": f"{r['readiness'].met_count} of {r['readiness'].total}",
    "progress %": round(r["readiness"].progress * 100),
    "held": r["holding"]["text"] if r["holding"] else ""} for r in results]), hide_index=True, width="stretch",
    key="mr_overview")
st.caption("For a credential you hold, the requirements are those of its renewal, counted from the day of the award.")

ids = [r["standard"].id for r in results]
mine = credentials.default_standard_id(library, user)
default = ids.index(mine) if mine in ids else 0
chosen = st.selectbox("Standard", ids, index=default, key="mr_standard",
                      format_func=lambda i: next(r["standard"].name for r in results if r["standard"].id == i))
res = next(r for r in results if r["standard"].id == chosen)
std, readiness = res["standard"], res["readiness"]
st.markdown(f"**{std.name}**, version {std.version}, issued by {std.issuing_body}. "
            f"Valid for {std.validity_months} months once awarded.")
st.caption(std.description)
if res["holding"]:
    h = res["holding"]
    st.success(f"**Held** ({res['status']}): {h['text']}. Below: what renewing it asks for, counting evidence "
               "dated since the award.", icon=":material/workspace_premium:")
if res["next_steps"]:
    with st.container(border=True, key="mr_next"):
        st.markdown("**Next steps**")
        for step in res["next_steps"]:
            st.markdown(f"- {step}")
elif res["status"] in ("ready for review", "ready for renewal review"):
    st.success("You meet every requirement of this standard. The training body reviews your evidence and "
               "records its decision.")
readiness_checklist(readiness, key=f"mr_{std.id}", links=evidence_links(user), status=res["status"])
st.page_link("ipt_training/app_pages/my_evidence.py", label="Log training, clinical hours, cases and supervision",
             icon=":material/fact_check:")
st.subheader("Decisions on this credential")
decision_log(credentials.decisions_for(db, user.id, std.id, viewer=user, today=today), key="mr_decisions")
