"""The readiness engine's inputs, outputs and small helpers (pure), shared by the rules in
:mod:`.readiness` and :mod:`.readiness_portfolio`; re-exported by :mod:`.readiness`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from types import SimpleNamespace
from dataclasses import dataclass, field
from datetime import date
from typing import Callable, Optional, Sequence

from ..display import humanize, requirement_title
from ..content import PROBLEM_AREAS, TRAINING_CATEGORIES, CredentialStandard

# --- inputs ------------------------------------------------------------------------------
# The entries and EvidenceRef are plain dataclasses, read-only by convention (the rules never
# assign to them: tests/credentials/test_readiness_batch.py checks it): a frozen dataclass sets
# each field through object.__setattr__, three to four times the cost of building a plain one,
# and a cohort at scale L builds about 90,000 entries and 100,000 references (issue 16: 90 ms of
# the cold cohort). Evidence itself stays frozen.


@dataclass
class TrainingEvent:
    id: str
    date: date
    hours: float
    title: str
    trainer: str
    confirmed: bool
    category: str = "other"  # a key of content.TRAINING_CATEGORIES


@dataclass
class ClinicalHours:
    """General supervised clinical practice (any modality)."""

    id: str
    date: date
    hours: float
    confirmed: bool


@dataclass
class SupervisionSession:
    id: str
    date: date
    hours: float
    supervisor: str
    case_id: Optional[str]
    confirmed: bool


@dataclass
class ClinicalCase:
    """A supervised IPT case. ``symptom_scores``: (session_number, measure, score) tuples."""

    id: str
    pseudonym: str
    problem_area: str
    start: date
    end: Optional[date]
    n_sessions: int
    confirmed: bool
    symptom_scores: tuple = ()
    population: str = "adult"  # a key of content.POPULATIONS; names the outcome measure


@dataclass
class RatedSession:
    """One submitted rating of one of the trainee's recorded sessions.

    Entries sharing an ``id`` are read as several ratings of the same session: the session
    counts once, with the mean of its counted ratings, and passes when all of them passed.
    """

    id: str
    case_id: Optional[str]
    case_pseudonym: str
    phase: str
    instrument_id: str
    rater_certified: bool
    mean: float
    passed: bool
    submitted_on: date


@dataclass
class VignetteResult:
    """One vignette attempt; ``problem_area`` is the vignette's primary area, score 0..1."""

    attempt_id: str
    vignette_id: str
    problem_area: str
    score: float
    passed: bool
    final: bool
    submitted_on: date


@dataclass
class HeldCredential:
    """A credential already awarded; valid up to and including ``expires_on`` (None: no expiry)."""

    standard_id: str
    awarded_on: date
    expires_on: Optional[date]
    decision_id: str = ""


@dataclass
class SessionDraw:
    """A recorded session drawn at random for a ``selection: random`` requirement (issue 13).

    ``case_key`` is the case (its id when linked, else its pseudonym); draws of one case and
    phase are ordered by ``seq``: a later draw is a further draw after a failed session.
    """

    standard_id: str
    requirement_id: str
    case_key: str
    case_pseudonym: str
    phase: str
    session_id: str
    seq: int
    drawn_on: date


@dataclass
class CaseReportEntry:
    """A written case report of one case; ``level`` (a CASE_REPORT_LEVELS key) once graded."""

    id: str
    case_id: str
    case_pseudonym: str
    submitted_on: date
    level: Optional[str] = None
    graded_by: str = ""
    graded_on: Optional[date] = None


@dataclass
class AttestationEntry:
    """A signed statement of competence for a standard: who signed it, as what, when, and the text."""

    id: str
    standard_id: str
    attester: str  # 'supervisor' or 'observer'
    signed_by: str
    signed_on: date
    statement: str


@dataclass(frozen=True)
class SupervisionGivenEntry:
    """Supervision the person gave: a supervisee's supervision session they confirmed."""

    id: str
    date: date
    hours: float
    supervisee: str  # an id or name; distinct values count as distinct supervisees


@dataclass(frozen=True)
class Evidence:
    training_events: Sequence[TrainingEvent] = ()
    clinical_hours: Sequence[ClinicalHours] = ()
    supervision: Sequence[SupervisionSession] = ()
    cases: Sequence[ClinicalCase] = ()
    rated_sessions: Sequence[RatedSession] = ()
    vignette_results: Sequence[VignetteResult] = ()
    credentials_held: Sequence[HeldCredential] = ()
    rater_certified: dict = field(default_factory=dict)  # instrument_id -> bool
    draws: Sequence[SessionDraw] = ()
    case_reports: Sequence[CaseReportEntry] = ()
    attestations: Sequence[AttestationEntry] = ()
    supervision_given: Sequence[SupervisionGivenEntry] = ()
    first_awarded: dict = field(default_factory=dict)  # standard_id -> the day first certified (held since)
    # content id -> the name a reader sees (instrument and standard names, vignette titles); an id
    # missing here is shown humanized (display.humanize), never as it is stored (issue 17)
    names: dict = field(default_factory=dict)

    def name(self, content_id: str) -> str:
        return self.names.get(content_id) or humanize(content_id)


# --- outputs -----------------------------------------------------------------------------


@dataclass
class EvidenceRef:
    """A piece of evidence to link to; ``reason`` says why it does not count (if it does not)."""

    kind: str
    id: str
    label: str
    reason: str = ""

    def __post_init__(self):
        if self.id.__class__ is not str:  # store ids may be integers
            self.id = str(self.id)


@dataclass
class RequirementResult:
    requirement_id: str
    type: str
    description: str
    met: bool
    progress: float
    current: str
    missing: list[str] = field(default_factory=list)
    evidence: list[EvidenceRef] = field(default_factory=list)
    not_counted: list[EvidenceRef] = field(default_factory=list)
    title: str = ""  # the requirement's name for the reader (display.requirement_title)


@dataclass
class Readiness:
    standard_id: str
    standard_version: str
    requirements: list[RequirementResult]
    met_count: int
    total: int
    progress: float
    ready: bool


@dataclass(frozen=True)
class _Ctx:
    standard: CredentialStandard
    today: date
    count_uncertified: bool


# --- small helpers -----------------------------------------------------------------------

# every logged entry, training events included, is confirmed by the trainee's linked supervisor
# (or an administrator): the training log asks them, so readiness says the same (issue 17)
UNCONFIRMED = "unconfirmed by supervisor"
UNCERTIFIED = "rated by an uncertified rater"
FUTURE = "dated after today"
PHASE_ALIASES = {"early": "initial", "late": "termination", "initial": "initial",
                 "middle": "middle", "termination": "termination"}


@lru_cache(maxsize=4096)  # issue 16: the same few numbers and names recur for 2,000 trainees
def _num(x: float) -> str:
    """12.0 -> '12', 12.5 -> '12.5'."""
    return f"{x:.2f}".rstrip("0").rstrip(".")


@lru_cache(maxsize=4096)
def _plural(n: float, one: str, many: Optional[str] = None) -> str:
    return f"{_num(n)} {one if n == 1 else (many or one + 's')}"


def _frac(current: float, required: float) -> float:
    return 1.0 if required <= 0 else max(0.0, min(1.0, current / required))


def _pct(x: float) -> str:
    return f"{round(x * 100)} %"


def _area(a: str) -> str:
    return PROBLEM_AREAS.get(a, a)


@lru_cache(maxsize=4096)
def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", (s or "").lower())


@lru_cache(maxsize=1024)  # a handful of spellings, looked up about 60,000 times per cohort at L
def _phase(p: str) -> str:
    return PHASE_ALIASES.get((p or "").strip().lower(), (p or "").strip().lower())


def _rated_phases(phases: Sequence[str]) -> str:
    """['termination'] -> 'a rated termination-phase session';
    ['initial', 'middle'] -> 'rated initial- and middle-phase sessions'."""
    if len(phases) == 1:
        return f"a rated {phases[0]}-phase session"
    heads = ", ".join(f"{p}-" for p in phases[:-1])
    return f"rated {heads} and {phases[-1]}-phase sessions"


@lru_cache(maxsize=1024)
def _title(title: Optional[str], req_id: str) -> str:
    """:func:`requirement_title`, once per requirement (issue 16: it ran 18,000 times per cohort)."""
    return requirement_title(SimpleNamespace(title=title, id=req_id))


def _result(req, met: bool, progress: float, current: str, missing: list, evidence: list,
            not_counted: list) -> RequirementResult:
    """The rule's result; the three lists become the result's own (each rule builds them afresh
    and returns at once, so they are not copied: 54,000 lists per cohort at L)."""
    return RequirementResult(req.id, req.type, req.description, met, 1.0 if met else round(min(progress, 0.99), 4),
                             current, [] if met else missing, evidence, not_counted,
                             _title(getattr(req, "title", None), req.id))


def _case_label(c: ClinicalCase) -> str:
    return f"Case '{c.pseudonym}' ({_area(c.problem_area)}, {_plural(c.n_sessions, 'session')})"


def _rating_label(r: RatedSession) -> str:
    return f"Case '{r.case_pseudonym}', {_phase(r.phase)} phase, mean {r.mean:.2f} ({r.submitted_on.isoformat()})"


def _rating_counts(r: RatedSession, ctx: _Ctx, certified_only: bool = True) -> Optional[str]:
    """None when the rating counts, else the reason it does not."""
    if r.submitted_on > ctx.today:
        return FUTURE
    if certified_only and not ctx.count_uncertified and not r.rater_certified:
        return UNCERTIFIED
    return None


def _links(r: RatedSession, c: ClinicalCase) -> bool:
    if r.case_id is not None:
        return r.case_id == c.id
    return bool(r.case_pseudonym) and r.case_pseudonym.strip().lower() == c.pseudonym.strip().lower()




# --- hours -------------------------------------------------------------------------------


def _sum_hours(req, items, today: date, kind: str, label: Callable, unconfirmed_reason: str, noun: str, next_step: str) -> RequirementResult:
    evidence, not_counted, total = [], [], 0.0
    for it in sorted(items, key=lambda x: x.date):
        ref = EvidenceRef(kind, it.id, label(it))
        if not it.confirmed:
            not_counted.append(EvidenceRef(kind, it.id, ref.label, unconfirmed_reason))
        elif it.date > today:
            not_counted.append(EvidenceRef(kind, it.id, ref.label, FUTURE))
        else:
            total += it.hours
            evidence.append(ref)
    need = req.min_hours - total
    met = need <= 1e-9
    missing = [f"{_plural(need, 'more hour')} of {noun}: {next_step}"]
    pending = sum(it.hours for it in items if not it.confirmed)
    if pending:
        missing.append(f"{_plural(pending, 'hour')} logged but not yet confirmed: ask for confirmation")
    current = f"{_num(total)} of {_num(req.min_hours)} hours"
    return _result(req, met, _frac(total, req.min_hours), current, missing, evidence, not_counted)



def training_hours_of(req, events: Sequence[TrainingEvent], today: date, categories: Sequence[str], noun: str) -> RequirementResult:
    """Confirmed training hours, counting only ``categories`` when the requirement names some."""
    def label(t: TrainingEvent) -> str:
        return f"{t.date.isoformat()}: {t.title} ({t.trainer}), {_plural(t.hours, 'hour')}"

    kinds = [TRAINING_CATEGORIES.get(c, c) for c in categories]
    step = "log the training events you attend and ask your supervisor to confirm them"
    if categories:
        noun += " (" + " or ".join(kinds) + ")"
        step = "log training of these kinds and ask your supervisor to confirm it"
    counted = [t for t in events if not categories or t.category in categories]
    result = _sum_hours(req, counted, today, "training_event", label, UNCONFIRMED, noun, step)
    for t in sorted(events, key=lambda x: x.date):
        if categories and t.category not in categories:
            result.not_counted.append(EvidenceRef("training_event", t.id, label(t),
                                                  f"{TRAINING_CATEGORIES.get(t.category, t.category)}; "
                                                  f"this requirement counts {' or '.join(kinds)}"))
    return result
