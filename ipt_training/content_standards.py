"""Credential-standard requirement types added for issue 13, their vocabularies, and the
shared base of every requirement. Re-exported by :mod:`ipt_training.content`, which joins them
to the ``Requirement`` union.

* ``case_report``: a written case report (formulation) per case, graded by a supervisor on
  ``CASE_REPORT_LEVELS``;
* ``attestation``: a supervisor's (or an observer's) signed statement of competence;
* ``supervision_given``: for supervisor standards, hours of supervision given, distinct
  supervisees, and time since the person's own certification;
* ``continuing_education``: confirmed training hours in the renewal period.
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import Field, model_validator

from .content_base import Model, Text

# the populations of content_base.POPULATIONS, as a type (outcome measures are named per population)
PopulationId = Literal["adult", "adolescent", "perinatal", "late_life", "group"]

# the kinds of training event, so a requirement can name the ones it counts
TRAINING_CATEGORIES = {
    "introductory": "Introductory IPT course",
    "advanced": "Advanced or specialist IPT training",
    "supervision": "Supervisor training",
    "rater": "Fidelity rater training",
    "continuing": "Continuing education (case conference, refresher, conference)",
    "other": "Other training",
}
TrainingCategory = Literal["introductory", "advanced", "supervision", "rater", "continuing", "other"]

# the levels a supervisor grades a case report on, lowest first
CASE_REPORT_LEVELS = {
    "revise": "Needs revision",
    "adequate": "Adequate",
    "good": "Good",
    "excellent": "Excellent",
}
CaseReportLevel = Literal["revise", "adequate", "good", "excellent"]

# who signs an attestation
ATTESTERS = {"supervisor": "the trainee's supervisor", "observer": "an observer of the candidate's work"}


class _Req(Model):
    id: Text
    description: Text
    title: Optional[Text] = None  # a short name for the interface; default: the id humanized (display.requirement_title)


class CaseReport(_Req):
    type: Literal["case_report"]
    min_cases: Annotated[int, Field(ge=1)]
    min_level: CaseReportLevel = "adequate"

    @model_validator(mode="after")
    def _passable(self):
        if self.min_level == "revise":
            raise ValueError("min_level 'revise' would count reports that need revision; use adequate, good or excellent")
        return self


class Attestation(_Req):
    type: Literal["attestation"]
    attester: Literal["supervisor", "observer"] = "supervisor"
    min_attestations: Annotated[int, Field(ge=1)] = 1
    within_months: Optional[Annotated[int, Field(ge=1)]] = None  # signed no longer ago than this


class SupervisionGiven(_Req):
    type: Literal["supervision_given"]
    min_hours: Annotated[float, Field(gt=0)]
    min_supervisees: Annotated[int, Field(ge=1)] = 1
    since_credential: Optional[Text] = None  # the person's own certification the time counts from
    min_months_since: Annotated[int, Field(ge=0)] = 0

    @model_validator(mode="after")
    def _since(self):
        if self.min_months_since and not self.since_credential:
            raise ValueError("min_months_since needs since_credential: the standard id of the person's own certification")
        return self


class ContinuingEducation(_Req):
    type: Literal["continuing_education"]
    min_hours: Annotated[float, Field(gt=0)]
    period_months: Optional[Annotated[int, Field(ge=1)]] = None  # None: the renewal period (since the award)
    categories: list[TrainingCategory] = []  # empty: every category counts
