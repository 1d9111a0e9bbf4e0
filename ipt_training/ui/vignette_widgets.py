"""Widgets shared by the vignette pages: score breakdown card, expert key, a trainee's answers,
mastery charts. They render plain data from ``ipt_training.vignettes``; no scoring here."""

from __future__ import annotations

from typing import Optional

import altair as alt
import pandas as pd
import streamlit as st

from ..display import name_of
from ..vignettes import area_label, technique_label
from .charts import latest_by_group
from .common import chart_with_table, get_library
from .text import plain


def rubric_name(rubric_id: str) -> str:
    """A rubric's name for the reader (its id only where the rubric is no longer loaded)."""
    return name_of(get_library().rubrics, rubric_id)


def pct(x: Optional[float]) -> str:
    return "—" if x is None else f"{round(100 * x)} %"


def score_card(result: dict, key: str) -> None:
    """The score and one row per rubric criterion, with each criterion's explanation."""
    with st.container(border=True, key=f"{key}_card"):
        c1, c2 = st.columns([1, 3])
        c1.metric("Final score" if result["final"] else "Provisional score", pct(result["score"]))
        if result["final"]:
            verdict = "Passed" if result["passed"] else "Not passed"
            c2.markdown(f"**{verdict}** (pass mark {pct(result['pass_mark'])}).")
        else:
            c2.markdown(f"**Awaiting grading.** {result['score_label']} Pass mark {pct(result['pass_mark'])}.")
        for reason in result.get("fails") or []:
            st.error(reason, icon=":material/block:")
        table = pd.DataFrame([{
            "criterion": e["title"], "weight": e["weight"],
            "credit": pct(e["credit"]), "points": "—" if e["points"] is None else f"{e['points']:.1f}",
            "status": e["status"]} for e in result["criteria"]])
        st.dataframe(table, hide_index=True, width="stretch")
        for e in result["criteria"]:
            st.markdown(f"**{e['title']}** ({pct(e['credit'])}): {plain(e['explanation'])}")
            comment = e["details"].get("comment") if isinstance(e["details"], dict) else None
            if comment:
                st.info(f"Supervisor's comment on {e['title'].lower()}: {plain(comment)}")
        st.caption(f"Scored against the rubric {rubric_name(result['rubric_id'])}, version {result['rubric_version']} "
                   f"(content hash {result['rubric_hash'][:12]}).")


def expert_key(view: dict, key: str) -> None:
    """The expert key beside the trainee's answers. Only ever called for submitted attempts."""
    if view.get("feedback_hidden") or view.get("key") is None:
        return
    k, ans = view["key"], view["answers"]
    st.subheader("Expert key")
    st.markdown("**Problem areas that apply**, in the expert's order")
    for a in k["problem_areas"]:
        yours = ans.get("ranking", {}).get(a["area"])
        mine = (f"you ranked it {yours}" if yours else
                "you selected it" if a["area"] in ans.get("areas", []) else "you did not select it")
        stage = f", stage: {a['dispute_stage']}" if a["dispute_stage"] else ""
        if a["dispute_stage"] and ans.get("dispute_stage"):
            stage += f" (you named: {ans['dispute_stage']})"
        st.markdown(f"{a['rank']}. **{area_label(a['area'])}**{stage} ({mine}): {a['reason']}")
    if k["alternatives"]:
        st.markdown("**Acceptable alternative focus** (partial credit where experts could disagree)")
        for a in k["alternatives"]:
            st.markdown(f"- {area_label(a['area'])} ({pct(a['credit'])} credit): {a['reason']}")
    if k["not_applicable"]:
        st.markdown("**Areas that do not apply, and why**")
        for a in k["not_applicable"]:
            st.markdown(f"- {area_label(a['area'])}: {a['reason']}")
    if k["tempting_but_wrong"]:
        st.warning(f"A tempting choice: {k['tempting_but_wrong']}")
    c1, c2 = st.columns(2)
    with c1:
        st.markdown("**Your formulation**")
        st.markdown(plain(ans["formulation"]) if ans.get("formulation") else "_(none written)_")
    with c2:
        st.markdown("**Model interpersonal formulation**")
        st.write(k["formulation"])
    st.markdown("**Moments**")
    credit = {d["moment"]: d["credit"] for e in (view.get("result") or {}).get("criteria", [])
              if e["type"] == "technique_choice" for d in e["details"]}
    for m in k["moments"]:
        mine = ans.get("moments", {}).get(m["id"], {})
        with st.container(border=True, key=f"{key}_m_{m['id']}"):
            st.markdown(f"> {m['client_statement']}")
            if m.get("critical"):
                st.caption("Critical moment: a risk is disclosed here, and a safety response comes first.")
            c1, c2 = st.columns(2)
            with c1:
                earned = f" (credit {pct(credit[m['id']])})" if m["id"] in credit else ""
                st.markdown(f"**You:** {technique_label(mine.get('technique'))}{earned}")
                st.markdown(plain(mine["response"]) if mine.get("response") else "_(no response written)_")
            with c2:
                alts = ", ".join(f"{technique_label(a['technique'])} ({pct(a['credit'])})" for a in m["alternatives"])
                st.markdown(f"**Expert:** {', '.join(technique_label(t) for t in m['techniques'])}"
                            + (f"; acceptable: {alts}" if alts else ""))
                st.write(m["model_response"])
            st.caption(f"Rationale: {m['rationale']}")


def answers_panel(view: dict) -> None:
    """A trainee's answers as written (for graders), moment by moment."""
    ans = view["answers"]
    ranking = ans.get("ranking", {})
    chosen = sorted(ans.get("areas", []), key=lambda a: ranking.get(a, 99))
    st.markdown("**Areas selected (rank):** " + (", ".join(
        f"{area_label(a)} ({ranking.get(a, '—')})" for a in chosen) or "none"))
    st.markdown("**Formulation**")
    st.markdown(plain(ans["formulation"]) if ans.get("formulation") else "_(none written)_")
    statements = {m["id"]: m["client_statement"] for s in (view["case"] or {}).get("stages", []) for m in s["moments"]}
    for mid, statement in statements.items():
        mine = ans.get("moments", {}).get(mid, {})
        st.markdown(f"> {statement}")
        response = plain(mine["response"]) if mine.get("response") else "_(no response)_"
        st.markdown(f"**{technique_label(mine.get('technique'))}:** {response}")


def mastery_chart(series: list[dict], colour: str, colour_title: str, title: str) -> None:
    """Mastery (0..1) over time, one line per area or technique."""
    df = pd.DataFrame(series)
    df["date"] = pd.to_datetime(df["date"])
    chart = (
        alt.Chart(df, title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X("date:T", title="submitted"),
            y=alt.Y("mastery:Q", title="mastery", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            color=alt.Color(f"{colour}:N", title=colour_title),
            tooltip=[alt.Tooltip(f"{colour}:N", title=colour_title), alt.Tooltip("mastery:Q", format=".0%"),
                     alt.Tooltip("date:T", title="submitted")],
        )
    )
    summary = f"{title}: " + latest_by_group(df, "mastery", colour, pct)
    table = df.sort_values("date").assign(date=df["date"].dt.date, mastery=df["mastery"].map(pct))[
        ["date", colour, "mastery"]].rename(columns={"date": "Submitted", colour: colour_title.capitalize(),
                                                     "mastery": "Mastery"})
    chart_with_table(chart, table, summary, key=f"mastery_{colour}")


def attempts_table(items: list[dict]) -> None:
    df = pd.DataFrame([{
        "vignette": a["title"], "attempt": a["number"], "status": a["status"], "score": pct(a["score"]),
        "final": "yes" if a["final"] else "no (provisional)" if a["score"] is not None else "—",
        "submitted": (a["submitted_at"] or "")[:10], "rubric version": f"{rubric_name(a['rubric_id'])} · {a['rubric_hash'][:8]}"}
        for a in items])
    st.dataframe(df, hide_index=True, width="stretch")
