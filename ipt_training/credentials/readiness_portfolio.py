"""Readiness rules for the rated portfolio and the requirement types of issue 13 (pure).

* ``rated_sessions``: sessions rated on an instrument. With ``selection: random`` only the
  sessions the platform drew for this requirement count (the latest draw of each case and
  phase; an earlier draw was replaced by a further draw after it failed); ``phases_per_case``
  and ``min_cases`` ask for a passing rated session of each phase in each case, and
  ``all_must_pass`` makes a failed session block the requirement until a further draw (within
  ``further_draws``) passes. :func:`draw_state` says whether a further draw may be made.
* ``case_report``: per case, the latest graded report must reach ``min_level``.
* ``attestation``: signed statements for this standard by the named kind of attester.
* ``supervision_given``: hours given, distinct supervisees, months since own certification.
* ``continuing_education``: confirmed training hours in the period (the renewal period when
  the holder's evidence is cut at the award, see :func:`holding.evidence_since`).
"""

from __future__ import annotations

from datetime import date
from typing import Optional

from ..content import (
    ATTESTERS,
    CASE_REPORT_LEVELS,
    Attestation,
    CaseReport,
    ContinuingEducation,
    RatedSessions,
    SupervisionGiven,
)
from .readiness_base import (
    FUTURE,
    Evidence,
    EvidenceRef,
    RatedSession,
    RequirementResult,
    SessionDraw,
    _Ctx,
    _frac,
    _num,
    _phase,
    _plural,
    _rating_counts,
    _rating_label,
    _result,
    training_hours_of,
)

NOT_DRAWN = "not drawn at random for this requirement (only sessions the platform drew count)"
REPLACED = "replaced by a further random draw"
PHASE_ORDER = ("initial", "middle", "termination")


def _case_key(r: RatedSession) -> str:
    return r.case_id if r.case_id is not None else (r.case_pseudonym or "").strip().lower()


def _add_months(day: date, months: int) -> date:
    y, m = divmod(day.month - 1 + months, 12)
    y += day.year
    m += 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(y, m, d)
        except ValueError:
            continue
    return date(y, m, 28)


# --- rated sessions and random draws -----------------------------------------------------


def session_outcomes(req: RatedSessions, ev: Evidence, ctx: _Ctx) -> tuple[dict, list[EvidenceRef]]:
    """session id -> (first rating, mean of counted ratings, passed by all) on ``req.instrument``,
    and the ratings that do not count (future, uncertified rater) with their reason."""
    not_counted, sessions = [], {}
    for r in sorted(ev.rated_sessions, key=lambda x: x.submitted_on):
        if r.instrument_id != req.instrument:
            continue
        why = _rating_counts(r, ctx, certified_only=req.certified_raters_only)
        if why:
            not_counted.append(EvidenceRef("rated_session", r.id, _rating_label(r), why))
        else:
            sessions.setdefault(r.id, []).append(r)
    out = {sid: (rs[0], sum(r.mean for r in rs) / len(rs), all(r.passed for r in rs)) for sid, rs in sessions.items()}
    return out, not_counted


def draws_for(ev: Evidence, standard_id: str, requirement_id: str) -> dict[tuple[str, str], list[SessionDraw]]:
    """(case key, phase) -> the draws for this requirement, in order."""
    out: dict[tuple[str, str], list[SessionDraw]] = {}
    for d in sorted(ev.draws, key=lambda d: d.seq):
        if d.standard_id == standard_id and d.requirement_id == requirement_id:
            out.setdefault((d.case_key, _phase(d.phase)), []).append(d)
    return out


def draw_state(req: RatedSessions, draws: list[SessionDraw], outcomes: dict) -> tuple[bool, str]:
    """(may a draw be made now, why in plain words) for one case and phase."""
    if not draws:
        return True, "no session drawn yet"
    last = draws[-1]
    if last.session_id not in outcomes:
        return False, f"the session drawn on {last.drawn_on.isoformat()} awaits its rating"
    if outcomes[last.session_id][2]:
        return False, "the drawn session passed; no further draw is needed"
    left = req.further_draws - (len(draws) - 1)
    if left > 0:
        return True, f"the drawn session did not pass; {_plural(left, 'further draw')} left"
    allowed = f"the standard allows {_plural(req.further_draws, 'further draw')}" if req.further_draws else \
        "the standard allows no further draw"
    return False, f"the drawn session did not pass and {allowed}; talk to your supervisor and the training body"


def rated_sessions_rule(req: RatedSessions, ev: Evidence, ctx: _Ctx) -> RequirementResult:
    """Count passing rated sessions (drawn ones only with ``selection: random``), their mean,
    the phases covered per case and, with ``all_must_pass``, no failed session left standing."""
    outcomes, not_counted = session_outcomes(req, ev, ctx)
    evidence, missing, failed = [], [], []
    counted = dict(outcomes)
    groups = draws_for(ev, ctx.standard.id, req.id) if req.selection == "random" else {}
    if req.selection == "random":
        current = {g[-1].session_id for g in groups.values()}
        replaced = {d.session_id for g in groups.values() for d in g[:-1]} - current
        for sid, (first, mean, _) in outcomes.items():
            if sid not in current:
                not_counted.append(EvidenceRef("rated_session", sid, f"{_rating_label(first)}",
                                               REPLACED if sid in replaced else NOT_DRAWN))
                counted.pop(sid)
        for (key, phase), g in groups.items():
            if g[-1].session_id not in outcomes:
                missing.append(f"Case '{g[-1].case_pseudonym}', {phase} phase: the session drawn on "
                               f"{g[-1].drawn_on.isoformat()} awaits rating by "
                               + ("a certified rater" if req.certified_raters_only and not ctx.count_uncertified else "a rater"))
    means, passing_by_case = [], {}
    n_ratings: dict[str, int] = {}  # session id -> its ratings on the instrument, counted or not
    for r in ev.rated_sessions:
        if r.instrument_id == req.instrument:
            n_ratings[r.id] = n_ratings.get(r.id, 0) + 1
    for sid, (first, mean, passed) in counted.items():
        n = n_ratings[sid]
        label = _rating_label(first) if n == 1 else f"{_rating_label(first)}; {n} ratings, mean {mean:.2f}"
        if passed:
            means.append(mean)
            evidence.append(EvidenceRef("rated_session", sid, label))
            passing_by_case.setdefault(_case_key(first), (first.case_pseudonym, set()))[1].add(_phase(first.phase))
        else:
            not_counted.append(EvidenceRef("rated_session", sid, label, f"did not reach the pass mark (mean {mean:.2f})"))
            failed.append((first, mean))
    for first, mean in failed if req.all_must_pass else ():
        where = f"Case '{first.case_pseudonym}', {_phase(first.phase)} phase"
        if req.selection == "random":
            g = groups.get((_case_key(first), _phase(first.phase)), [])
            ok, why = draw_state(req, g, outcomes)
            step = "ask your supervisor for a further random draw" if ok else "no further draw can be made"
            missing.append(f"{where}: the drawn session did not reach the pass mark (mean {mean:.2f}); {step} ({why})")
        else:
            missing.append(f"{where}: the rated session did not reach the pass mark (mean {mean:.2f}); "
                           "every rated session must pass")
    count = len(means)
    overall = sum(means) / count if count else None
    need = req.min_sessions - count
    mean_ok = req.min_mean is None or (overall is not None and overall >= req.min_mean - 1e-9)
    parts = [_frac(count, req.min_sessions)]
    if req.min_mean is not None:
        parts.append(_frac(overall or 0.0, req.min_mean))
    cases_ok = True
    if req.min_cases:
        wanted = [p for p in PHASE_ORDER if p in req.phases_per_case]
        full = [k for k, (_, ph) in passing_by_case.items() if all(p in ph for p in wanted)]
        cases_ok = len(full) >= req.min_cases
        partial = sorted(((len(set(wanted) & ph), k) for k, (_, ph) in passing_by_case.items() if k not in full), reverse=True)
        parts.append(min(1.0, (len(full) + sum(n / len(wanted) for n, _ in partial[: max(0, req.min_cases - len(full))]))
                         / req.min_cases))
        if not cases_ok:
            for n, k in partial[: req.min_cases - len(full)]:
                name, ph = passing_by_case[k]
                lack = [p for p in wanted if p not in ph]
                how = "drawn at random, " if req.selection == "random" else ""
                missing.append(f"Case '{name}': a passing rated session ({how}on {ev.name(req.instrument)}) from the "
                               + " and ".join(f"{p} phase" for p in lack))
            rest = req.min_cases - len(full) - len(partial)
            if rest > 0:
                missing.append(f"{rest} more case{'s' if rest > 1 else ''} with a passing rated session from each of "
                               f"the {', '.join(wanted)} phases" + (" (drawn at random by your supervisor)"
                                                                     if req.selection == "random" else ""))
    if need > 0 and not (req.min_cases and not cases_ok):
        by = "certified raters" if req.certified_raters_only and not ctx.count_uncertified else "a rater"
        how = " drawn at random by your supervisor and" if req.selection == "random" else ""
        missing.append(f"{need} more recorded session{'s' if need > 1 else ''}{how} rated on {ev.name(req.instrument)} "
                       f"by {by} and reaching the pass mark")
    if not mean_ok and overall is not None:
        missing.append(f"Raise the mean of your counted rated sessions to at least {req.min_mean:.2f} (now {overall:.2f})")
    blocked = req.all_must_pass and bool(failed)
    met = need <= 0 and mean_ok and cases_ok and not blocked
    current = f"{count} of {req.min_sessions} sessions"
    if overall is not None:
        current += f", mean {overall:.2f}"
    if req.min_mean is not None:
        current += f" (needs {req.min_mean:.2f})"
    if req.min_cases:
        current += f"; {len([1 for _, ph in passing_by_case.values() if all(p in ph for p in req.phases_per_case)])} of {req.min_cases} cases with every phase"
    if blocked:
        current += f"; {_plural(len(failed), 'failed session')}"
    return _result(req, met, sum(parts) / len(parts), current, missing, evidence, not_counted)


# --- case reports ------------------------------------------------------------------------


def case_report_rule(req: CaseReport, ev: Evidence, ctx: _Ctx) -> RequirementResult:
    """Per case, the latest graded report counts when its level is ``min_level`` or higher."""
    order = list(CASE_REPORT_LEVELS)
    need_at = order.index(req.min_level)
    evidence, not_counted, waiting, low = [], [], [], []
    latest: dict[str, object] = {}
    for r in sorted(ev.case_reports, key=lambda r: (r.submitted_on, r.id)):
        label = f"Case report on '{r.case_pseudonym}', submitted {r.submitted_on.isoformat()}"
        if r.level is None:
            not_counted.append(EvidenceRef("case_report", r.id, label, "awaiting grading by a supervisor"))
            waiting.append(r)
            continue
        label += f", graded {CASE_REPORT_LEVELS.get(r.level, r.level).lower()}" + (f" by {r.graded_by}" if r.graded_by else "")
        if r.submitted_on > ctx.today:
            not_counted.append(EvidenceRef("case_report", r.id, label, FUTURE))
        elif r.level not in order or order.index(r.level) < need_at:
            not_counted.append(EvidenceRef("case_report", r.id, label,
                                           f"below the level this standard asks for ({CASE_REPORT_LEVELS[req.min_level].lower()})"))
            latest.setdefault(r.case_id, None)
            low.append(r)
        else:
            latest[r.case_id] = r
            evidence.append(EvidenceRef("case_report", r.id, label))
    done = [k for k, r in latest.items() if r is not None]
    met = len(done) >= req.min_cases
    level = CASE_REPORT_LEVELS[req.min_level].lower()
    missing = []
    for r in waiting:
        if r.case_id not in done:
            missing.append(f"Case '{r.case_pseudonym}': your report awaits grading by your supervisor")
    for r in low:
        if r.case_id not in done and not any(w.case_id == r.case_id for w in waiting):
            missing.append(f"Case '{r.case_pseudonym}': revise the report and submit it again (graded "
                           f"{CASE_REPORT_LEVELS.get(r.level, r.level).lower()}, needs {level} or better)")
    pending = {r.case_id for r in waiting} | {r.case_id for r in low}
    rest = req.min_cases - len(done) - len(pending - set(done))
    if rest > 0:
        missing.append(f"Write a case report (formulation, course and outcome) for {_plural(rest, 'more case')} "
                       f"and submit it for grading; it needs {level} or better")
    current = f"{len(done)} of {req.min_cases} case reports graded {level} or better"
    return _result(req, met, _frac(len(done), req.min_cases), current, missing, evidence, not_counted)


# --- attestation -------------------------------------------------------------------------


def attestation_rule(req: Attestation, ev: Evidence, ctx: _Ctx) -> RequirementResult:
    """Signed statements for this standard by the requirement's kind of attester."""
    evidence, not_counted = [], []
    oldest = _add_months(ctx.today, -req.within_months) if req.within_months else None
    for a in sorted(ev.attestations, key=lambda a: a.signed_on):
        if a.standard_id != ctx.standard.id:
            continue
        label = f"Statement signed by {a.signed_by} as {ATTESTERS.get(a.attester, a.attester)} on {a.signed_on.isoformat()}"
        if a.attester != req.attester:
            not_counted.append(EvidenceRef("attestation", a.id, label, f"this requirement asks for {ATTESTERS[req.attester]}'s"))
        elif a.signed_on > ctx.today:
            not_counted.append(EvidenceRef("attestation", a.id, label, FUTURE))
        elif oldest and a.signed_on < oldest:
            not_counted.append(EvidenceRef("attestation", a.id, label, f"signed more than {_plural(req.within_months, 'month')} ago"))
        else:
            evidence.append(EvidenceRef("attestation", a.id, label))
    n = len(evidence)
    met = n >= req.min_attestations
    need = req.min_attestations - n
    who = {"supervisor": "your supervisor", "observer": "a certified supervisor who observed your work"}[req.attester]
    missing = [f"Ask {who} to sign a statement of your competence for this credential "
               f"({_plural(need, 'more statement')})"]
    current = f"{n} of {_plural(req.min_attestations, 'signed statement')}"
    return _result(req, met, _frac(n, req.min_attestations), current, missing, evidence, not_counted)


# --- supervision given -------------------------------------------------------------------


def supervision_given_rule(req: SupervisionGiven, ev: Evidence, ctx: _Ctx) -> RequirementResult:
    """Hours of supervision given, distinct supervisees, and months since own certification."""
    evidence, not_counted, total, people = [], [], 0.0, set()
    for s in sorted(ev.supervision_given, key=lambda s: s.date):
        label = f"{s.date.isoformat()}: {_plural(s.hours, 'hour')} of supervision given to {s.supervisee}"
        if s.date > ctx.today:
            not_counted.append(EvidenceRef("supervision_given", s.id, label, FUTURE))
            continue
        total += s.hours
        people.add(s.supervisee)
        evidence.append(EvidenceRef("supervision_given", s.id, label))
    missing, parts = [], [_frac(total, req.min_hours), _frac(len(people), req.min_supervisees)]
    if total < req.min_hours - 1e-9:
        missing.append(f"{_plural(req.min_hours - total, 'more hour')} of supervision given: supervisees log their "
                       "supervision with you and you confirm it")
    if len(people) < req.min_supervisees:
        missing.append(f"Supervise {_plural(req.min_supervisees - len(people), 'more clinician')} "
                       f"({len(people)} of {req.min_supervisees} so far)")
    current = f"{_num(total)} of {_num(req.min_hours)} hours to {len(people)} of {req.min_supervisees} supervisees"
    if req.since_credential:
        since = ev.first_awarded.get(req.since_credential)
        if since is None:
            parts.append(0.0)
            missing.append(f"Hold the {req.since_credential} credential (the time counts from your own certification)")
            current += f"; {req.since_credential} not held"
        else:
            ready_on = _add_months(since, req.min_months_since)
            months = (ctx.today.year - since.year) * 12 + ctx.today.month - since.month - (ctx.today.day < since.day)
            parts.append(_frac(max(0, months), req.min_months_since) if req.min_months_since else 1.0)
            current += f"; certified {since.isoformat()}"
            if ready_on > ctx.today:
                missing.append(f"Wait until {ready_on.isoformat()}: {_plural(req.min_months_since, 'month')} after your "
                               f"own certification ({ev.name(req.since_credential)}, {since.isoformat()})")
            evidence.append(EvidenceRef("credential", req.since_credential,
                                        f"{ev.name(req.since_credential)} held since {since.isoformat()}"))
    met = not missing
    return _result(req, met, sum(parts) / len(parts), current, missing, evidence, not_counted)


# --- continuing education ----------------------------------------------------------------


def continuing_education_rule(req: ContinuingEducation, ev: Evidence, ctx: _Ctx) -> RequirementResult:
    """Confirmed training hours in the last ``period_months`` (else the whole evidence given,
    which for a holder is the renewal period), of the named categories."""
    start: Optional[date] = _add_months(ctx.today, -req.period_months) if req.period_months else None
    events = [t for t in ev.training_events if start is None or t.date >= start]
    result = training_hours_of(req, events, ctx.today, req.categories, "confirmed continuing education")
    if start is not None:
        result.current += f" since {start.isoformat()}"
        for t in ev.training_events:
            if t.date < start:
                result.not_counted.append(EvidenceRef("training_event", t.id, f"{t.date.isoformat()}: {t.title}",
                                                      f"before this period ({start.isoformat()})"))
    return result

