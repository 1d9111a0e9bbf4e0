"""Held credentials: the award a person holds, when its renewal is due, and readiness to renew (pure, issue 14).

A person who holds an award of a standard is not a candidate for it again: every view shows the
award as **held** (certified on, valid until, renewal due from) apart from "ready for review".
From ``renewal_window_days`` before expiry (and after expiry) their readiness is evaluated on the
standard's ``renewal_requirements``, counting only evidence dated on or after the day the award
took effect, so a holder is asked for continuing training, not for the initial hours again. A
standard without renewal requirements asks for its full requirements again, on that same
evidence. No database, no Streamlit: callers pass the :class:`Evidence` they built.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from dataclasses import dataclass
from typing import Optional

from ..content import CredentialStandard
from .readiness import Evidence, HeldCredential, Readiness, evaluate, status_label

HELD = "held"
RENEWAL_DUE = "renewal due"
EXPIRED = "expired"
RENEWAL_READY = "ready for renewal review"


@dataclass(frozen=True)
class Holding:
    """The award of one standard a person holds; ``phase`` is 'held', 'renewal due' or 'expired'."""

    standard_id: str
    decision_id: str
    certified_on: _dt.date
    valid_until: Optional[_dt.date]
    renewal_due: Optional[_dt.date]
    phase: str

    def text(self) -> str:
        """'certified on 2024-01-13, valid until 2027-01-13, renewal due from 2026-10-15'."""
        out = f"certified on {self.certified_on.isoformat()}"
        out += f", valid until {self.valid_until.isoformat()}" if self.valid_until else ", no expiry"
        if self.phase == EXPIRED:
            out += " (expired)"
        elif self.renewal_due:
            out += f", renewal due from {self.renewal_due.isoformat()}"
        return out


def holding_of(standard: CredentialStandard, evidence: Evidence, today: _dt.date) -> Optional[Holding]:
    """The award of ``standard`` in ``evidence.credentials_held`` that took effect by ``today``
    (the latest one), as a :class:`Holding`; None when the person holds none."""
    held = [h for h in evidence.credentials_held if h.standard_id == standard.id and h.awarded_on <= today]
    if not held:
        return None
    return holding_from(max(held, key=lambda h: h.awarded_on), standard.renewal_window_days, today)


def holding_from(h: HeldCredential, window_days: int, today: _dt.date) -> Holding:
    due = h.expires_on - _dt.timedelta(days=int(window_days)) if h.expires_on else None
    if h.expires_on is not None and h.expires_on < today:
        phase = EXPIRED
    elif due is not None and due <= today:
        phase = RENEWAL_DUE
    else:
        phase = HELD
    return Holding(h.standard_id, h.decision_id, h.awarded_on, h.expires_on, due, phase)


def renewal_standard(standard: CredentialStandard) -> CredentialStandard:
    """The standard with its renewal requirements in place of the initial ones (the same
    standard when it has none)."""
    if not standard.renewal_requirements:
        return standard
    return standard.model_copy(update={"requirements": list(standard.renewal_requirements)})


def evidence_since(evidence: Evidence, day: _dt.date) -> Evidence:
    """Only the evidence dated on or after ``day``: training, hours and supervision by their date,
    cases still open or ended since, ratings, vignette attempts and case reports by the day they
    were submitted, attestations by the day signed, supervision given by its date. Credentials
    held, rater certification (a state on ``today``) and draws are kept as they are."""
    return dataclasses.replace(
        evidence,
        training_events=tuple(e for e in evidence.training_events if e.date >= day),
        clinical_hours=tuple(e for e in evidence.clinical_hours if e.date >= day),
        supervision=tuple(e for e in evidence.supervision if e.date >= day),
        cases=tuple(c for c in evidence.cases if c.end is None or c.end >= day),
        rated_sessions=tuple(r for r in evidence.rated_sessions if r.submitted_on >= day),
        vignette_results=tuple(v for v in evidence.vignette_results if v.submitted_on >= day),
        case_reports=tuple(r for r in evidence.case_reports if r.submitted_on >= day),
        attestations=tuple(a for a in evidence.attestations if a.signed_on >= day),
        supervision_given=tuple(s for s in evidence.supervision_given if s.date >= day))


def assess(standard: CredentialStandard, evidence: Evidence, today: _dt.date,
           count_uncertified_ratings: bool = False) -> tuple[Readiness, Optional[Holding], str]:
    """(readiness, holding, status) of one person for ``standard``.

    Without an award: the readiness on the standard's requirements and its
    :func:`status_label`. With one: the renewal readiness (:func:`renewal_standard` on
    :func:`evidence_since` the award) and the status 'held', 'renewal due', 'expired' or, once
    the renewal requirements are met in the renewal period, 'ready for renewal review'.
    """
    holding = holding_of(standard, evidence, today)
    if holding is None:
        r = evaluate(standard, evidence, today, count_uncertified_ratings)
        return r, None, status_label(r)
    r = evaluate(renewal_standard(standard), evidence_since(evidence, holding.certified_on), today,
                 count_uncertified_ratings)
    if holding.phase == HELD:
        return r, holding, HELD
    return r, holding, RENEWAL_READY if r.ready else holding.phase


def role_standard_id(standards: dict[str, CredentialStandard], roles) -> Optional[str]:
    """The standard a person's readiness opens on: the one certifying their own role
    (supervisor, then rater, then therapist for everyone else), else the first by name."""
    roles = set(roles)
    order = [c for c, role in (("supervisor", "supervisor"), ("rater", "rater")) if role in roles] + ["therapist"]
    for certifies in order:
        ids = sorted(i for i, s in standards.items() if s.certifies == certifies)
        if ids:
            return ids[0]
    return min(standards, key=lambda i: standards[i].name) if standards else None
