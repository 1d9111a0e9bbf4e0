"""Credential readiness: how far a trainee's evidence meets a ``CredentialStandard``.

Pure logic (no Streamlit, no SQLite). The store layer fills the input dataclasses (read-only);
``evaluate`` returns a ``Readiness`` with one ``RequirementResult`` per requirement: met or not,
progress 0..1, what counts (``evidence``), what is shown but does not count (``not_counted``,
each with a reason) and plain-words next steps (``missing``).

Rules shared by all requirement types: entries not confirmed by the trainee's supervisor are
shown but do not count, and entries dated after ``today`` do not count.
"""

from __future__ import annotations

from dataclasses import asdict
from operator import attrgetter
from datetime import date
from typing import Callable

from ..display import requirement_title
from ..content import (
    POPULATIONS,
    CredentialStandard,
    OutcomeMonitoring,
    Prerequisite,
    RaterCalibration,
    SupervisedCases,
    SupervisedClinicalHours,
    SupervisionHours,
    TrainingHours,
    VignetteMastery,
)
from .readiness_base import (  # noqa: F401  (inputs, outputs and helpers, re-exported)
    FUTURE,
    PHASE_ALIASES,
    UNCERTIFIED,
    UNCONFIRMED,
    AttestationEntry,
    CaseReportEntry,
    ClinicalCase,
    ClinicalHours,
    Evidence,
    EvidenceRef,
    HeldCredential,
    RatedSession,
    Readiness,
    RequirementResult,
    SessionDraw,
    SupervisionGivenEntry,
    SupervisionSession,
    TrainingEvent,
    VignetteResult,
    _area,
    _case_label,
    _Ctx,
    _frac,
    _links,
    _norm,
    _num,
    _pct,
    _phase,
    _plural,
    _rated_phases,
    _rating_counts,
    _rating_label,
    _result,
    _sum_hours,
    training_hours_of,
)
from .readiness_portfolio import (
    attestation_rule,
    case_report_rule,
    continuing_education_rule,
    rated_sessions_rule,
    supervision_given_rule,
)

# --- hours -------------------------------------------------------------------------------


def _training_hours(req: TrainingHours, ev: Evidence, ctx: _Ctx) -> RequirementResult:
    return training_hours_of(req, ev.training_events, ctx.today, req.categories, "confirmed training")


def _supervised_clinical_hours(req: SupervisedClinicalHours, ev: Evidence, ctx: _Ctx) -> RequirementResult:
    return _sum_hours(
        req, ev.clinical_hours, ctx.today, "clinical_hours",
        lambda h: f"{h.date.isoformat()}: {_plural(h.hours, 'hour')} of supervised clinical practice",
        UNCONFIRMED, "supervised clinical practice", "log your clinical hours and ask your supervisor to confirm them",
    )


def _supervision_hours(req: SupervisionHours, ev: Evidence, ctx: _Ctx) -> RequirementResult:
    def label(s: SupervisionSession) -> str:
        about = f", case {cases[s.case_id].pseudonym!r}" if s.case_id in cases else ""
        return f"{s.date.isoformat()}: {_plural(s.hours, 'hour')} with {s.supervisor}{about}"

    cases = {c.id: c for c in ev.cases}
    if not req.per_case:
        return _sum_hours(req, ev.supervision, ctx.today, "supervision", label, UNCONFIRMED, "confirmed supervision",
                          "book supervision and ask your supervisor to confirm each session")
    # per case: each case the standard counts needs min_hours of supervision on that case
    n_needed = max([r.min_cases for r in ctx.standard.requirements if isinstance(r, SupervisedCases)] or [1])
    evidence, not_counted = [], []
    per_case: dict[str, float] = {}
    for s in sorted(ev.supervision, key=lambda x: x.date):
        ref = EvidenceRef("supervision", s.id, label(s))
        if not s.confirmed:
            not_counted.append(EvidenceRef(ref.kind, ref.id, ref.label, UNCONFIRMED))
        elif s.date > ctx.today:
            not_counted.append(EvidenceRef(ref.kind, ref.id, ref.label, FUTURE))
        elif s.case_id not in cases or not cases[s.case_id].confirmed:
            not_counted.append(EvidenceRef(ref.kind, ref.id, ref.label, "not linked to a confirmed case"))
        else:
            per_case[s.case_id] = per_case.get(s.case_id, 0.0) + s.hours
            evidence.append(ref)
    ranked = sorted((c for c in ev.cases if c.confirmed), key=lambda c: -per_case.get(c.id, 0.0))
    done = [c for c in ranked if per_case.get(c.id, 0.0) >= req.min_hours - 1e-9]
    met = len(done) >= n_needed
    progress = sum(_frac(per_case.get(c.id, 0.0), req.min_hours) for c in ranked[:n_needed]) / n_needed
    missing = []
    short = len(done)
    for c in ranked[len(done):n_needed]:
        need = req.min_hours - per_case.get(c.id, 0.0)
        missing.append(f"Case '{c.pseudonym}': {_plural(need, 'more hour')} of confirmed supervision on this case")
        short += 1
    if short < n_needed:
        missing.append(f"{n_needed - short} more confirmed case(s) with {_plural(req.min_hours, 'hour')} of supervision each")
    current = f"{len(done)} of {n_needed} cases with {_plural(req.min_hours, 'hour')} of supervision"
    return _result(req, met, progress, current, missing, evidence, not_counted)


# --- cases -------------------------------------------------------------------------------


def _supervised_cases(req: SupervisedCases, ev: Evidence, ctx: _Ctx) -> RequirementResult:
    wanted = [p for p in ("initial", "middle", "termination") if p in req.phases_rated]
    evidence, not_counted, rows = [], [], []
    by_case: dict[str, list] = {}  # :func:`_links`, in one pass: case id, else pseudonym -> ratings
    by_name: dict[str, list] = {}
    for r in ev.rated_sessions:
        if r.case_id is not None:
            by_case.setdefault(r.case_id, []).append(r)
        elif r.case_pseudonym:
            by_name.setdefault(r.case_pseudonym.strip().lower(), []).append(r)
    order = {id(r): n for n, r in enumerate(ev.rated_sessions)}
    for c in sorted(ev.cases, key=lambda x: x.start):
        ratings = by_case.get(c.id, []) + by_name.get(c.pseudonym.strip().lower(), [])
        if len(ratings) > 1:
            ratings.sort(key=lambda r: order[id(r)])  # in the order of the evidence, as listed before
        counted = [r for r in ratings if _rating_counts(r, ctx) is None]
        phases = {_phase(r.phase) for r in counted}
        lacks_phases = [p for p in wanted if p not in phases]
        lacks_sessions = max(0, req.min_sessions_per_case - c.n_sessions)
        problems = []
        if lacks_sessions:
            problems.append(f"{_plural(lacks_sessions, 'more session')} ({c.n_sessions} of {req.min_sessions_per_case})")
        if lacks_phases:
            problems.append(_rated_phases(lacks_phases))
        if not c.confirmed:
            problems.append("confirmation by your supervisor")
        parts = [_frac(c.n_sessions, req.min_sessions_per_case)]
        if wanted:
            parts.append((len(wanted) - len(lacks_phases)) / len(wanted))
        closeness = sum(parts) / len(parts)  # ranks the cases nearest to counting first
        rows.append((c, problems, closeness))
        if not problems:
            evidence.append(EvidenceRef("case", c.id, _case_label(c)))
            evidence.extend(EvidenceRef("rated_session", r.id, _rating_label(r)) for r in counted if _phase(r.phase) in wanted)
        else:
            reason = UNCONFIRMED if not c.confirmed else "needs " + " and ".join(problems)
            not_counted.append(EvidenceRef("case", c.id, _case_label(c), reason))
        for r in ratings if wanted else ():
            why = _rating_counts(r, ctx)
            if why:
                not_counted.append(EvidenceRef("rated_session", r.id, _rating_label(r), why))
    done = [row for row in rows if not row[1]]
    need = req.min_cases - len(done)
    met = need <= 0
    others = sorted((row for row in rows if row[1]), key=lambda row: (-row[2], not row[0].confirmed))
    # unconfirmed cases add nothing to progress: they do not count until confirmed
    partial = sum(row[2] for row in others[: max(0, need)] if row[0].confirmed)
    progress = (len(done) + partial) / req.min_cases
    missing = []
    for c, problems, _ in others[: max(0, need)]:
        missing.append(f"1 more supervised case: case '{c.pseudonym}' needs " + " and ".join(problems))
    rest = need - min(need, len(others))
    if rest > 0:
        what = f"at least {_plural(req.min_sessions_per_case, 'session')}"
        if wanted:
            what += " and " + _rated_phases(wanted)
        missing.append(f"{rest} more supervised case{'s' if rest > 1 else ''} with {what}, confirmed by your supervisor")
    current = f"{len(done)} of {req.min_cases} cases"
    return _result(req, met, progress, current, missing, evidence, not_counted)


def _outcome_monitoring(req: OutcomeMonitoring, ev: Evidence, ctx: _Ctx) -> RequirementResult:
    """Each confirmed case needs its population's measure (``measure_for``) at least every n sessions."""
    n = req.every_n_sessions
    evidence, not_counted, missing = [], [], []
    ok_cases = checked = 0
    used: list[str] = []
    for c in sorted(ev.cases, key=lambda x: x.start):
        label = _case_label(c)
        measure = req.measure_for(c.population)
        if not c.confirmed:
            not_counted.append(EvidenceRef("case", c.id, label, UNCONFIRMED))
            continue
        if c.n_sessions < 1:
            not_counted.append(EvidenceRef("case", c.id, label, "no sessions yet"))
            continue
        if measure is None:
            who = POPULATIONS.get(c.population, c.population)
            not_counted.append(EvidenceRef("case", c.id, label, f"this standard names no measure for cases of the population '{who}'"))
            continue
        checked += 1
        used += [measure] if measure not in used else []
        sessions = sorted({int(s[0]) for s in c.symptom_scores
                           if _norm(s[1]) == _norm(measure) and 1 <= int(s[0]) <= c.n_sessions})
        gaps = []  # (first session without a score, last session of the run)
        prev = 0
        for s in sessions + [c.n_sessions + 1]:
            if s - prev > n:
                gaps.append((prev + 1, s - 1))
            prev = s
        if not sessions:
            gaps = [(1, c.n_sessions)]
        if gaps:
            where = "; ".join(f"none in sessions {a}-{b}" if a != b else f"none in session {a}" for a, b in gaps)
            not_counted.append(EvidenceRef("case", c.id, label, f"{measure} gap: {where}"))
            missing.append(
                f"Case '{c.pseudonym}': no {measure} score "
                + "; ".join(f"between sessions {a} and {b}" if a != b else f"at session {a}" for a, b in gaps)
                + f" (record one at least every {_plural(n, 'session')})"
            )
        else:
            ok_cases += 1
            evidence.append(EvidenceRef("case", c.id, f"{label}: {measure} at sessions {', '.join(map(str, sessions))}"))
    named = ", ".join(f"{m} ({p.replace('_', ' ')})" for p, m in req.measures.items())
    if req.measure and req.measure not in req.measures.values():
        named = f"{named}, else {req.measure}" if named else req.measure
    if checked == 0:
        missing.append(f"Add a confirmed case with its symptom measure ({named}) recorded at least every "
                       f"{_plural(n, 'session')}")
        current = "no confirmed case with sessions yet"
    else:
        current = f"{ok_cases} of {_plural(checked, 'case')} with {' / '.join(used)} every {_plural(n, 'session')}"
    met = checked > 0 and ok_cases == checked
    progress = ok_cases / checked if checked else 0.0
    return _result(req, met, progress, current, missing, evidence, not_counted)


# --- ratings -----------------------------------------------------------------------------


def _rater_calibration(req: RaterCalibration, ev: Evidence, ctx: _Ctx) -> RequirementResult:
    ok = bool(ev.rater_certified.get(req.instrument, False))
    ref = EvidenceRef("rater_certification", req.instrument, f"Rater certification on {ev.name(req.instrument)}")
    missing = [f"Get certified as a rater on {ev.name(req.instrument)}: rate the calibration sessions and match the expert ratings"]
    current = "certified" if ok else "not certified"
    return _result(req, ok, 0.0, current, missing, [ref] if ok else [], [])


# --- vignettes ---------------------------------------------------------------------------


_SUBMITTED_ON = attrgetter("submitted_on")
# (heading, score, passed) -> an attempt's label: a cohort's 50,000 attempts have a few hundred (issue 16)
_VIGNETTE_LABELS: dict[tuple, str] = {}


def _vignette_label(head: str, score: float, passed: bool) -> str:
    key = (head, score, passed)
    label = _VIGNETTE_LABELS.get(key)
    if label is None:
        if len(_VIGNETTE_LABELS) >= 65536:
            _VIGNETTE_LABELS.clear()
        label = _VIGNETTE_LABELS[key] = f"{head}: {_pct(score)}{', passed' if passed else ''}"
    return label


def _vignette_mastery(req: VignetteMastery, ev: Evidence, ctx: _Ctx) -> RequirementResult:
    evidence, not_counted, missing = [], [], []
    by_area: dict[str, list[VignetteResult]] = {a: [] for a in req.areas}
    heads: dict[tuple, str] = {}  # issue 16: a person's 25 attempts are at a few vignettes
    today = ctx.today
    for v in sorted(ev.vignette_results, key=_SUBMITTED_ON):
        area = v.problem_area
        if area not in by_area:
            continue
        head = heads.get((v.vignette_id, area))
        if head is None:
            head = heads[(v.vignette_id, area)] = f"{ev.name(v.vignette_id)} ({_area(area)})"
        label = _vignette_label(head, v.score, v.passed)
        if not v.final:
            not_counted.append(EvidenceRef("vignette_result", v.attempt_id, label, "not final yet (awaiting grading)"))
        elif v.submitted_on > today:
            not_counted.append(EvidenceRef("vignette_result", v.attempt_id, label, FUTURE))
        else:
            by_area[area].append(v)
            evidence.append(EvidenceRef("vignette_result", v.attempt_id, label))
    progresses, areas_met = [], 0
    for area in req.areas:
        rs = by_area[area]
        n = len(rs)
        parts = [_frac(n, req.min_attempts_per_area)]
        area_ok = n >= req.min_attempts_per_area
        if n < req.min_attempts_per_area:
            k = req.min_attempts_per_area - n
            missing.append(f"{_area(area)}: {k} more graded vignette attempt{'s' if k > 1 else ''}")
        if req.min_mean_score is not None:
            mean = sum(r.score for r in rs) / n if n else 0.0
            parts.append(_frac(mean, req.min_mean_score))
            if mean < req.min_mean_score - 1e-9:
                area_ok = False
                if n:
                    missing.append(f"{_area(area)}: raise your mean score to at least {_pct(req.min_mean_score)} (now {_pct(mean)})")
        if req.min_pass_rate is not None:
            rate = sum(1 for r in rs if r.passed) / n if n else 0.0
            parts.append(_frac(rate, req.min_pass_rate))
            if rate < req.min_pass_rate - 1e-9:
                area_ok = False
                if n:
                    missing.append(f"{_area(area)}: raise your pass rate to at least {_pct(req.min_pass_rate)} (now {_pct(rate)})")
        areas_met += area_ok
        progresses.append(1.0 if area_ok else min(0.99, sum(parts) / len(parts)))
    met = areas_met == len(req.areas)
    progress = sum(progresses) / len(progresses) if progresses else 1.0
    current = f"{areas_met} of {len(req.areas)} problem areas"
    return _result(req, met, progress, current, missing, evidence, not_counted)


# --- prerequisite ------------------------------------------------------------------------


def _prerequisite(req: Prerequisite, ev: Evidence, ctx: _Ctx) -> RequirementResult:
    evidence, not_counted = [], []
    for h in sorted(ev.credentials_held, key=lambda x: x.awarded_on):
        if h.standard_id != req.credential:
            continue
        until = f", valid until {h.expires_on.isoformat()}" if h.expires_on else ""
        label = f"{ev.name(h.standard_id)}, awarded {h.awarded_on.isoformat()}{until}"
        if h.expires_on is not None and h.expires_on < ctx.today:
            not_counted.append(EvidenceRef("credential", h.standard_id, label, f"expired on {h.expires_on.isoformat()}"))
        elif h.awarded_on > ctx.today:
            not_counted.append(EvidenceRef("credential", h.standard_id, label, FUTURE))
        else:
            evidence.append(EvidenceRef("credential", h.standard_id, label))
    met = bool(evidence)
    if met:
        current = "held"
        missing = []
    elif not_counted and not_counted[-1].reason.startswith("expired"):
        current = not_counted[-1].reason
        missing = [f"Renew your {ev.name(req.credential)} credential: it {not_counted[-1].reason}"]
    else:
        current = "not held"
        missing = [f"Earn the {ev.name(req.credential)} credential first"]
    return _result(req, met, 0.0, current, missing, evidence, not_counted)


# --- dispatch ----------------------------------------------------------------------------

EVALUATORS: dict[str, Callable[..., RequirementResult]] = {
    "training_hours": _training_hours,
    "supervised_clinical_hours": _supervised_clinical_hours,
    "supervised_cases": _supervised_cases,
    "supervision_hours": _supervision_hours,
    "rated_sessions": rated_sessions_rule,
    "vignette_mastery": _vignette_mastery,
    "outcome_monitoring": _outcome_monitoring,
    "rater_calibration": _rater_calibration,
    "prerequisite": _prerequisite,
    "case_report": case_report_rule,
    "attestation": attestation_rule,
    "supervision_given": supervision_given_rule,
    "continuing_education": continuing_education_rule,
}


def evaluate(standard: CredentialStandard, evidence: Evidence, today: date,
             count_uncertified_ratings: bool = False) -> Readiness:
    """Evaluate every requirement of ``standard`` against ``evidence`` as of ``today``."""
    ctx = _Ctx(standard, today, count_uncertified_ratings)
    results = []
    for req in standard.requirements:
        fn = EVALUATORS.get(req.type)
        if fn is None:
            results.append(RequirementResult(req.id, req.type, req.description, False, 0.0, "not supported",
                                             [f"Requirement type '{req.type}' is not supported by this version"],
                                             title=requirement_title(req)))
            continue
        results.append(fn(req, evidence, ctx))
    met_count = sum(r.met for r in results)
    progress = sum(r.progress for r in results) / len(results) if results else 0.0
    ready = bool(results) and met_count == len(results)
    return Readiness(standard.id, standard.version, results, met_count, len(results),
                     1.0 if ready else round(min(progress, 0.99), 4), ready)


def status_label(readiness: Readiness) -> str:
    """'ready for review', 'nearly ready' (progress >= 0.75 or at most one unmet) or 'in progress'."""
    if readiness.ready:
        return "ready for review"
    if readiness.progress >= 0.75 or readiness.total - readiness.met_count <= 1:
        return "nearly ready"
    return "in progress"


def format_missing(readiness: Readiness) -> list[str]:
    """All next steps of the unmet requirements, in the standard's order."""
    return [m for r in readiness.requirements if not r.met for m in r.missing]


def readiness_to_dict(readiness: Readiness) -> dict:
    """A JSON-able dict of the readiness, with its ``status`` label."""
    d = asdict(readiness)
    d["status"] = status_label(readiness)
    return d
