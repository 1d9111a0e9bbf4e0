"""The instrument's pass rule applied to one rating (pure; issue 13).

A session's result, from the item scores of one rating:

* adherence mean: the mean of the IPT items scored (N/A and proscribed items left out);
* session score: the adherence mean minus ``pass_rule.proscribed_deduction`` for every point a
  proscribed item scores above the lowest point of its scale ("none"), summed over the
  proscribed items, and never below the lowest point of the scale;
* passed: at least ``min_applicable_items`` IPT items scored, the session score at or above
  ``threshold``, every scored critical item at or above ``critical_min``, and no proscribed
  item above ``proscribed_max``.

``failed_by`` names every item that fails the session on its own (a critical item below the
minimum, a proscribed item above the maximum), so the result can say why a session with a
good mean failed. The rule is documented for raters in the instrument's description and for
authors in the README's content-format section.
"""

from __future__ import annotations

from typing import Optional

from ..content import Instrument, InstrumentItem
from ..display import item_label

EPS = 1e-9


def _scored(entry: Optional[dict]) -> Optional[int]:
    if not entry or entry.get("not_applicable") or entry.get("score") is None:
        return None
    return int(entry["score"])


def session_result(inst: Instrument, applicable: list[InstrumentItem], scores: dict[str, dict],
                   scale_min: int = 1) -> dict:
    """Apply the pass rule to ``scores`` (item id -> {score, not_applicable}) over the
    ``applicable`` items of a session.

    Returns a dict: missing (items neither scored nor N/A), na_refused (items marked N/A that
    may not be), n_scored and n_not_applicable (IPT items), adherence_mean, deduction, mean
    (the session score; None when nothing is scored), enough, passed, and failed_by (one
    {item, score, rule, text} per item that fails the session on its own).
    """
    rule = inst.pass_rule
    missing, na_refused, ipt, failed_by = [], [], [], []
    n_na = 0
    deduction = 0.0
    for it in applicable:
        entry = scores.get(it.id)
        score = _scored(entry)
        na = bool(entry and entry.get("not_applicable"))
        if na and not it.na_allowed:
            na_refused.append(it.id)
            continue
        if score is None and not na:
            missing.append(it.id)
            continue
        if na:
            n_na += 0 if it.proscribed else 1
            continue
        if it.proscribed:
            deduction += rule.proscribed_deduction * (score - scale_min)
            if rule.proscribed_max is not None and score > rule.proscribed_max:
                failed_by.append({"item": it.id, "score": score, "rule": "proscribed",
                                  "text": f"{item_label(it)} scored {score}, above the proscribed maximum of {rule.proscribed_max}"})
            continue
        ipt.append(score)
        if it.critical and rule.critical_min is not None and score < rule.critical_min:
            failed_by.append({"item": it.id, "score": score, "rule": "critical",
                              "text": f"critical item {item_label(it)} scored {score}, below the critical minimum of {rule.critical_min}"})
    adherence = sum(ipt) / len(ipt) if ipt else None
    mean = None if adherence is None else max(float(scale_min), adherence - deduction)
    enough = len(ipt) >= rule.min_applicable_items
    passed = bool(enough and mean is not None and mean >= rule.threshold - EPS and not failed_by)
    return {"missing": missing, "na_refused": na_refused, "n_scored": len(ipt), "n_not_applicable": n_na,
            "adherence_mean": adherence, "deduction": deduction, "mean": mean, "enough": enough,
            "passed": passed, "failed_by": failed_by}


def describe(inst: Instrument) -> str:
    """The pass rule in words, completing 'a session ...'."""
    rule = inst.pass_rule
    text = (f"passes with a score of {rule.threshold:g} or more: the mean of the IPT items scored (N/A items left "
            f"out), with at least {rule.min_applicable_items} item(s) scored")
    if rule.proscribed_deduction:
        text += (f", minus {rule.proscribed_deduction:g} for every point a proscribed item (another therapy's move) "
                 "scores above none")
    if rule.critical_min is not None:
        text += f"; every critical item scored must be {rule.critical_min} or more"
    if rule.proscribed_max is not None:
        text += f"; a proscribed item above {rule.proscribed_max} fails the session"
    return text
