"""Typed models of the vignette content: cases with their expert key, and the rubrics that score
attempts on them (YAML under ``vignettes/`` and ``rubrics/``). Loaded and validated by
:mod:`ipt_training.content`, which re-exports every name here.
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import Field, model_validator

from .content_base import AreaId, Credit, Model, TechniqueId, Text, Version


# --- vignettes ---------------------------------------------------------------------------


class Relationship(Model):
    person: Text
    description: Text


class Stage(Model):
    id: Text
    title: Text
    text: Text
    relationships: list[Relationship] = []


class Moment(Model):
    """A client statement at a point in the case; the trainee picks a technique and replies."""

    id: Text
    stage: Text
    client_statement: Text
    # a safety moment (suicidal thoughts, risk to a child, domestic violence): missing the
    # safety response fails the attempt, whatever the total (issue 12)
    critical: bool = False


class KeyArea(Model):
    area: AreaId
    rank: Annotated[int, Field(ge=1, le=4)]
    dispute_stage: Optional[Literal["renegotiation", "impasse", "dissolution"]] = None
    reason: Text


class NotApplicable(Model):
    area: AreaId
    reason: Text


class AlternativeArea(Model):
    """An area some experts would pick as the focus; earns partial credit if ranked first."""

    area: AreaId
    credit: Credit
    reason: Text


class AlternativeTechnique(Model):
    technique: TechniqueId
    credit: Credit


class MomentKey(Model):
    techniques: list[TechniqueId] = Field(min_length=1)
    alternatives: list[AlternativeTechnique] = []
    model_response: Text
    rationale: Text


class VignetteKey(Model):
    """The expert key. Never shown to a trainee before they submit."""

    problem_areas: list[KeyArea] = Field(min_length=1)
    not_applicable: list[NotApplicable] = []
    alternatives: list[AlternativeArea] = []
    tempting_but_wrong: Optional[str] = None
    formulation: Text
    moments: dict[str, MomentKey]

    @model_validator(mode="after")
    def _areas_consistent(self):
        ranks = [a.rank for a in self.problem_areas]
        if sorted(ranks) != list(range(1, len(ranks) + 1)):
            raise ValueError("problem_areas ranks must be 1, 2, ... without gaps or ties")
        applies = {a.area for a in self.problem_areas}
        if len(applies) != len(self.problem_areas):
            raise ValueError("problem_areas lists the same area twice")
        for na in self.not_applicable:
            if na.area in applies:
                raise ValueError(f"area '{na.area}' is both applicable and not applicable")
        for a in self.problem_areas:
            if a.area == "role_dispute" and a.dispute_stage is None:
                raise ValueError("a role_dispute area needs its dispute_stage")
        for alt in self.alternatives:
            if any(p.area == alt.area and p.rank == 1 for p in self.problem_areas):
                raise ValueError(f"alternative '{alt.area}' is already the primary focus")
        return self


class Vignette(Model):
    kind: Literal["vignette"] = "vignette"
    id: Text
    title: Text
    population: Literal["adult", "adolescent", "perinatal", "late_life", "group"]
    difficulty: Literal["introductory", "intermediate", "advanced"]
    rubric: Text
    summary: Text
    stages: list[Stage] = Field(min_length=4)
    moments: list[Moment] = Field(min_length=3)
    key: VignetteKey
    # id of the last stage shown before the trainee commits (and locks) the problem areas,
    # ranking and formulation; later stages are revealed only after the commit (issue 12)
    focus_commit_after: Optional[Text] = None
    content_hash: str = ""
    source_path: str = ""

    @model_validator(mode="after")
    def _moments_resolve(self):
        stage_ids = [s.id for s in self.stages]
        if len(set(stage_ids)) != len(stage_ids):
            raise ValueError("stage ids must be unique within the vignette")
        moment_ids = [m.id for m in self.moments]
        if len(set(moment_ids)) != len(moment_ids):
            raise ValueError("moment ids must be unique within the vignette")
        for m in self.moments:
            if m.stage not in stage_ids:
                raise ValueError(f"moment '{m.id}' refers to unknown stage '{m.stage}'")
        if self.focus_commit_after is not None:
            if self.focus_commit_after not in stage_ids:
                raise ValueError(f"focus_commit_after names unknown stage '{self.focus_commit_after}'")
            if self.focus_commit_after == stage_ids[-1]:
                raise ValueError("focus_commit_after must leave at least one stage to reveal after the commit")
        missing = set(moment_ids) - set(self.key.moments)
        extra = set(self.key.moments) - set(moment_ids)
        if missing:
            raise ValueError(f"key.moments lacks an entry for moment(s) {sorted(missing)}")
        if extra:
            raise ValueError(f"key.moments has entries for unknown moment(s) {sorted(extra)}")
        return self

    @property
    def primary_area(self) -> str:
        return next(a.area for a in self.key.problem_areas if a.rank == 1)


# --- vignette scoring rubric -------------------------------------------------------------


class Level(Model):
    score: Annotated[int, Field(ge=0)]
    label: Text
    description: Text


class MachineCriterion(Model):
    id: Text
    # dispute_stage: the stage the trainee names for a role dispute (renegotiation, impasse,
    # dissolution); not applicable to a vignette whose key has no role dispute (issue 12)
    type: Literal["area_identification", "area_ranking", "technique_choice", "dispute_stage"]
    title: Text
    weight: Annotated[float, Field(gt=0)]
    description: Text
    # area_ranking: credit for the trainee's primary focus by its distance from expert rank 1
    rank_distance_credit: list[Annotated[float, Field(ge=0, le=1)]] = [1.0, 0.5, 0.25]
    # accepted only to refuse it with a sentence: a gate needs a supervisor's judgement
    min_level: Optional[int] = None

    @model_validator(mode="after")
    def _no_gate(self):
        if self.min_level is not None:
            raise ValueError(f"min_level (a pass gate) is allowed only on supervisor_graded criteria; "
                             f"'{self.id}' is machine-scored ({self.type}). Remove min_level or make it supervisor_graded")
        return self


class GradedCriterion(Model):
    id: Text
    type: Literal["supervisor_graded"]
    title: Text
    weight: Annotated[float, Field(gt=0)]
    description: Text
    applies_to: Literal["formulation", "responses"]
    levels: list[Level] = Field(min_length=2)
    # a gate (issue 12): an attempt graded below this level on this criterion does not pass,
    # whatever its total
    min_level: Optional[int] = None

    @model_validator(mode="after")
    def _levels(self):
        scores = [lv.score for lv in self.levels]
        if sorted(scores) != list(range(0, len(scores))):
            raise ValueError("levels must score 0, 1, 2, ... each once")
        if self.min_level is not None and not 0 < self.min_level <= max(scores):
            raise ValueError(f"min_level {self.min_level} of '{self.id}' must be one of its levels above 0 "
                             f"(1 to {max(scores)})")
        return self

    @property
    def max_level(self) -> int:
        return max(lv.score for lv in self.levels)


Criterion = Annotated[Union[MachineCriterion, GradedCriterion], Field(discriminator="type")]


class VignetteRubric(Model):
    kind: Literal["vignette_rubric"]
    id: Text
    name: Text
    version: Version
    pass_mark: Annotated[float, Field(gt=0, le=1)]
    criteria: list[Criterion] = Field(min_length=1)
    content_hash: str = ""
    source_path: str = ""

    @model_validator(mode="after")
    def _unique(self):
        ids = [c.id for c in self.criteria]
        if len(set(ids)) != len(ids):
            raise ValueError("criterion ids must be unique within the rubric")
        return self
