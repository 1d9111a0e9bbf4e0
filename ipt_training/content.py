"""Content as code: YAML files parsed into typed, validated models.

Vignettes live in ``vignettes/``, scoring rubrics, rating scales and fidelity instruments in
``rubrics/``, credential standards and the rater-certification policy in ``training/``.
Every file is read with ``yaml.safe_load`` semantics (``yaml.SafeLoader``; a
``!!python/object`` tag is refused), validated with pydantic, and every error is reported as
``path:line: field: message``. Each model carries ``content_hash`` (sha256 of the file's
bytes) so stored results can record the version they were scored with.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal, Optional, Union

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from .content_errors import ContentError, YAMLProblem, field_name, friendly, line_of, parse_yaml

# --- vocabularies from the field (see IPT_PRIMER.md) -------------------------------------

PROBLEM_AREAS = {
    "grief": "Grief (complicated bereavement)",
    "role_dispute": "Role dispute",
    "role_transition": "Role transition",
    "interpersonal_deficits": "Interpersonal deficits / sensitivity",
}
DISPUTE_STAGES = ("renegotiation", "impasse", "dissolution")
TECHNIQUES = {
    "non_directive_exploration": "Non-directive exploration",
    "direct_elicitation": "Direct elicitation",
    "encouragement_of_affect": "Encouragement of affect / supportive listening",
    "clarification": "Clarification",
    "communication_analysis": "Communication analysis",
    "decision_analysis": "Decision analysis",
    "role_play": "Role play",
    "use_of_therapeutic_relationship": "Use of the therapeutic relationship",
    "directive_techniques": "Directive techniques (advice, education, limit setting)",
}
POPULATIONS = {
    "adult": "Adult",
    "adolescent": "Adolescent (IPT-A)",
    "perinatal": "Perinatal",
    "late_life": "Late life",
    "group": "Group IPT",
}
DIFFICULTIES = ("introductory", "intermediate", "advanced")
PHASES = ("initial", "middle", "termination")
ROLES_CERTIFIED = ("therapist", "supervisor", "rater")

AreaId = Literal["grief", "role_dispute", "role_transition", "interpersonal_deficits"]
TechniqueId = Literal[
    "non_directive_exploration",
    "direct_elicitation",
    "encouragement_of_affect",
    "clarification",
    "communication_analysis",
    "decision_analysis",
    "role_play",
    "use_of_therapeutic_relationship",
    "directive_techniques",
]
PhaseId = Literal["initial", "middle", "termination"]
Text = Annotated[str, Field(min_length=1)]
# authors naturally write `version: 1` or `version: 1.2`; keep it as the text they wrote
Version = Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v),
                    Field(min_length=1)]
Credit = Annotated[float, Field(gt=0, lt=1)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


# --- fidelity: rating scales and instruments ---------------------------------------------


class RatingScale(Model):
    kind: Literal["rating_scale"]
    id: Text
    name: Text
    min: int
    max: int
    labels: dict[int, Text]
    content_hash: str = ""
    source_path: str = ""

    @model_validator(mode="after")
    def _labels(self):
        if self.max <= self.min:
            raise ValueError("max must be greater than min")
        if set(self.labels) != set(range(self.min, self.max + 1)):
            raise ValueError(f"labels must describe every point from {self.min} to {self.max}")
        return self

    @property
    def points(self) -> list[int]:
        return list(range(self.min, self.max + 1))


class InstrumentItem(Model):
    id: Text
    section: Text
    text: Text
    phases: list[PhaseId] = []
    problem_areas: list[AreaId] = []  # empty: applies whatever the focus
    anchors: dict[int, Text] = {}
    # must-pass (issue 13): a score below pass_rule.critical_min fails the session, whatever its mean
    critical: bool = False
    # another therapy's move, rated on how much of it the therapist did (lowest point = none; higher is
    # worse) on the instrument's proscribed_scale; lowers the session score as pass_rule says
    proscribed: bool = False
    # False: every session gives occasion for the item, so N/A is refused (proscribed items: always False)
    allow_na: Optional[bool] = None

    @property
    def na_allowed(self) -> bool:
        return (not self.proscribed) if self.allow_na is None else self.allow_na

    @model_validator(mode="after")
    def _applies(self):
        if not self.phases and self.critical:
            raise ValueError(f"critical item '{self.id}' applies to no phase, so it could never fail a session; "
                             "list the phases (initial, middle, termination) it applies to")
        if not self.phases:
            raise ValueError(f"item '{self.id}' applies to no phase; list the phases (initial, middle, termination) it applies to")
        if self.proscribed and not self.anchors:
            raise ValueError(f"proscribed item '{self.id}' has no anchors; describe for every point of the proscribed "
                             "scale how much of the intervention the therapist did")
        if not self.anchors:
            raise ValueError(f"item '{self.id}' has no anchors; describe what the therapist did at every point of the scale")
        if self.proscribed and (self.critical or self.allow_na):
            raise ValueError(f"proscribed item '{self.id}' cannot be critical and cannot allow N/A: its lowest point "
                             "means the intervention did not occur")
        return self


class PassRule(Model):
    """How a session passes; see ``fidelity.pass_rule`` for the evaluation (issue 13)."""

    type: Literal["mean_of_applicable"] = "mean_of_applicable"
    threshold: float = 3.0
    min_applicable_items: Annotated[int, Field(ge=1)] = 1
    # the lowest score a critical item may have in a passing session
    critical_min: Optional[int] = None
    # subtracted from the mean of the IPT items for every point a proscribed item scores above "none"
    proscribed_deduction: Annotated[float, Field(ge=0)] = 0.0
    # a proscribed item scored above this fails the session outright
    proscribed_max: Optional[int] = None


class Instrument(Model):
    kind: Literal["fidelity_instrument"]
    id: Text
    name: Text
    version: Version
    description: Text
    scale: Text
    # the scale proscribed items are rated on (required when any item is proscribed)
    proscribed_scale: Optional[Text] = None
    pass_rule: PassRule = PassRule()
    items: list[InstrumentItem] = Field(min_length=1)
    content_hash: str = ""
    source_path: str = ""

    @model_validator(mode="after")
    def _unique(self):
        ids = [i.id for i in self.items]
        if len(set(ids)) != len(ids):
            raise ValueError("item ids must be unique within the instrument")
        if any(i.critical for i in self.items) and self.pass_rule.critical_min is None:
            raise ValueError("items are marked critical but pass_rule.critical_min is not set; set the lowest score "
                             "a critical item may have in a passing session")
        if any(i.proscribed for i in self.items):
            if self.proscribed_scale is None:
                raise ValueError("items are marked proscribed but proscribed_scale is not set; name the rating scale "
                                 "they are rated on")
            rule = self.pass_rule
            if rule.proscribed_deduction == 0 and rule.proscribed_max is None:
                raise ValueError("items are marked proscribed but the pass rule gives them no effect; set "
                                 "pass_rule.proscribed_deduction or pass_rule.proscribed_max")
        return self

    def scale_of(self, item: InstrumentItem) -> str:
        """Id of the rating scale an item is scored on."""
        return self.proscribed_scale if item.proscribed and self.proscribed_scale else self.scale

    def applicable_items(self, phase: str, problem_area: Optional[str]) -> list[InstrumentItem]:
        """Items that apply to a session of this phase and focus."""
        return [
            it
            for it in self.items
            if phase in it.phases and (not it.problem_areas or problem_area in it.problem_areas)
        ]


# --- training: credential standards and rater certification ------------------------------


class _Req(Model):
    id: Text
    description: Text


class TrainingHours(_Req):
    type: Literal["training_hours"]
    min_hours: Annotated[float, Field(gt=0)]


class SupervisedClinicalHours(_Req):
    type: Literal["supervised_clinical_hours"]
    min_hours: Annotated[float, Field(gt=0)]


class SupervisedCases(_Req):
    type: Literal["supervised_cases"]
    min_cases: Annotated[int, Field(ge=1)]
    min_sessions_per_case: Annotated[int, Field(ge=1)] = 1
    phases_rated: list[PhaseId] = []


class SupervisionHours(_Req):
    type: Literal["supervision_hours"]
    min_hours: Annotated[float, Field(gt=0)]
    per_case: bool = False


class RatedSessions(_Req):
    type: Literal["rated_sessions"]
    instrument: Text
    min_sessions: Annotated[int, Field(ge=1)]
    min_mean: Optional[float] = None
    certified_raters_only: bool = True


class VignetteMastery(_Req):
    type: Literal["vignette_mastery"]
    areas: list[AreaId] = list(PROBLEM_AREAS)
    min_attempts_per_area: Annotated[int, Field(ge=1)] = 1
    min_mean_score: Optional[Annotated[float, Field(ge=0, le=1)]] = None
    min_pass_rate: Optional[Annotated[float, Field(ge=0, le=1)]] = None


class OutcomeMonitoring(_Req):
    type: Literal["outcome_monitoring"]
    measure: Text
    every_n_sessions: Annotated[int, Field(ge=1)]


class RaterCalibration(_Req):
    type: Literal["rater_calibration"]
    instrument: Text


class Prerequisite(_Req):
    type: Literal["prerequisite"]
    credential: Text


Requirement = Annotated[Union[TrainingHours, SupervisedClinicalHours, SupervisedCases, SupervisionHours, RatedSessions,
                              VignetteMastery, OutcomeMonitoring, RaterCalibration, Prerequisite],
                        Field(discriminator="type")]


class CredentialStandard(Model):
    kind: Literal["credential_standard"]
    id: Text
    name: Text
    version: Version
    issuing_body: Text
    certifies: Literal["therapist", "supervisor", "rater"]
    validity_months: Annotated[int, Field(ge=1)]
    description: Text
    requirements: list[Requirement] = Field(min_length=1)
    # a holder renews on these, counting only evidence dated from the day of the current award
    # (issue 14); without them a renewal asks for the full requirements again
    renewal_requirements: list[Requirement] = []
    renewal_window_days: Annotated[int, Field(ge=0, le=366)] = 90  # renewal is due this long before expiry
    content_hash: str = ""
    source_path: str = ""

    @model_validator(mode="after")
    def _unique(self):
        for reqs in (self.requirements, self.renewal_requirements):
            if len({r.id for r in reqs}) != len(reqs):
                raise ValueError("requirement ids must be unique within the standard and within its renewal")
        return self


class RaterCertificationPolicy(Model):
    kind: Literal["rater_certification_policy"]
    id: Text
    name: Text
    instrument: Text
    min_sessions: Annotated[int, Field(ge=1)] = 2
    min_icc: Annotated[float, Field(ge=0, le=1)] = 0.75
    min_within_one: Annotated[float, Field(ge=0, le=1)] = 0.80
    valid_months: Annotated[int, Field(ge=1)] = 12
    count_uncertified_ratings: bool = False
    content_hash: str = ""
    source_path: str = ""


KINDS: dict[str, type[Model]] = {
    "vignette": Vignette,
    "vignette_rubric": VignetteRubric,
    "rating_scale": RatingScale,
    "fidelity_instrument": Instrument,
    "credential_standard": CredentialStandard,
    "rater_certification_policy": RaterCertificationPolicy,
}
# the Library attribute that holds each kind
_BUCKETS = {"vignette": "vignettes", "vignette_rubric": "rubrics", "rating_scale": "scales",
            "fidelity_instrument": "instruments", "credential_standard": "standards",
            "rater_certification_policy": "policies"}
# which kinds each content folder may hold
FOLDERS = {
    "vignettes": ("vignette",),
    "rubrics": ("vignette_rubric", "rating_scale", "fidelity_instrument"),
    "training": ("credential_standard", "rater_certification_policy"),
}


# --- loading ---------------------------------------------------------------------------


@dataclass
class Library:
    """All content that validated, plus the errors for what did not."""

    vignettes: dict[str, Vignette] = field(default_factory=dict)
    rubrics: dict[str, VignetteRubric] = field(default_factory=dict)
    scales: dict[str, RatingScale] = field(default_factory=dict)
    instruments: dict[str, Instrument] = field(default_factory=dict)
    standards: dict[str, CredentialStandard] = field(default_factory=dict)
    policies: dict[str, RaterCertificationPolicy] = field(default_factory=dict)
    errors: list[ContentError] = field(default_factory=list)

    @property
    def certification_policy(self) -> Optional[RaterCertificationPolicy]:
        return next(iter(self.policies.values()), None)

    def _bucket(self, kind: str) -> dict:
        return getattr(self, _BUCKETS[kind])


_UNION_TAGS = frozenset({
    "area_identification", "area_ranking", "technique_choice", "supervisor_graded",
    "training_hours", "supervised_clinical_hours", "supervised_cases", "supervision_hours",
    "rated_sessions", "vignette_mastery", "outcome_monitoring", "rater_calibration",
    "prerequisite",
})


def load_file(path: Path, root: Path, allowed_kinds: tuple[str, ...]) -> tuple[Optional[Model], list[ContentError]]:
    """Parse and validate one YAML file. Returns (model or None, errors)."""
    rel = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [ContentError(rel, None, "(file)", f"is not UTF-8 text ({exc.reason}); save it as UTF-8")]
    try:
        node, data = parse_yaml(text)
    except YAMLProblem as exc:
        return None, [ContentError(rel, exc.line, "(yaml)", exc.message)]
    if not isinstance(data, dict):
        return None, [ContentError(rel, 1, "(file)", "must be a YAML mapping of fields (key: value)")]
    kind = data.get("kind", "vignette" if allowed_kinds == ("vignette",) else None)
    if kind not in allowed_kinds:
        line = line_of(node, ("kind",))
        return None, [
            ContentError(rel, line, "kind", f"must be one of {', '.join(allowed_kinds)} in this folder; got {kind!r}")
        ]
    model_cls = KINDS[kind]
    digest = hashlib.sha256(raw).hexdigest()
    try:
        model = model_cls.model_validate({**data, "content_hash": digest, "source_path": rel})
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            errors.append(ContentError(rel, line_of(node, loc, _UNION_TAGS), field_name(loc, _UNION_TAGS), friendly(err)))
        return None, errors
    return model, []


def _instrument_scale_problem(inst: Instrument, scales: dict[str, RatingScale]) -> Optional[tuple[str, str]]:
    """(field, message) for the first scale mismatch of an instrument whose main scale exists."""
    scale = scales[inst.scale]
    if inst.proscribed_scale is not None:
        other = scales.get(inst.proscribed_scale)
        if other is None:
            return "proscribed_scale", (f"refers to rating scale '{inst.proscribed_scale}', which does not exist; "
                                        "add it under rubrics/ or fix the id")
        if other.points != scale.points:
            return "proscribed_scale", (f"scale '{other.id}' must run over the same points as '{scale.id}' "
                                        f"({scale.min}-{scale.max}) so scores are stored alike")
    rule = inst.pass_rule
    if rule.critical_min is not None and rule.critical_min not in scale.points:
        return "pass_rule.critical_min", (f"{rule.critical_min} is outside scale '{scale.id}' ({scale.min}-{scale.max}); "
                                          "choose a point of the scale")
    if rule.proscribed_max is not None and rule.proscribed_max not in scale.points:
        return "pass_rule.proscribed_max", (f"{rule.proscribed_max} is outside the proscribed scale "
                                            f"({scale.min}-{scale.max}); choose a point of the scale")
    for n, item in enumerate(inst.items):
        own = scales[inst.scale_of(item)]
        if set(item.anchors) != set(own.points):
            return f"items[{n}].anchors", (f"item '{item.id}' must describe an anchor for every point "
                                           f"{own.min}-{own.max} of scale '{own.id}'")
    return None


def _check_references(lib: Library, lines: dict[tuple[str, str], tuple[str, Optional[int]]]) -> None:
    """Drop models whose references do not resolve, recording an error for each."""

    def reject(bucket: dict, key: str, fieldname: str, message: str) -> None:
        model = bucket.pop(key)
        lib.errors.append(ContentError(model.source_path, lines.get((model.source_path, fieldname), (None, None))[1], fieldname, message))

    for iid, inst in list(lib.instruments.items()):
        if inst.scale not in lib.scales:
            reject(lib.instruments, iid, "scale", f"refers to rating scale '{inst.scale}', which does not exist; add it under rubrics/ or fix the id")
            continue
        problem = _instrument_scale_problem(inst, lib.scales)
        if problem:
            where, message = problem
            lib.instruments.pop(iid)
            lib.errors.append(ContentError(inst.source_path, lines.get((inst.source_path, where), (None, None))[1], where, message))
    for vid, vig in list(lib.vignettes.items()):
        if vig.rubric not in lib.rubrics:
            reject(lib.vignettes, vid, "rubric", f"refers to rubric '{vig.rubric}', which does not exist or failed validation; fix the id or the rubric")
    for sid, std in list(lib.standards.items()):
        for n, req in enumerate(std.requirements):
            ref = getattr(req, "instrument", None)
            if ref is not None and ref not in lib.instruments:
                reject(lib.standards, sid, "requirements", f"requirement '{req.id}' refers to instrument '{ref}', which does not exist; fix the id")
                break
            cred = getattr(req, "credential", None)
            if cred is not None and cred not in lib.standards:
                reject(lib.standards, sid, "requirements", f"requirement '{req.id}' needs credential '{cred}', which no standard defines; fix the id")
                break
    for pid, pol in list(lib.policies.items()):
        if pol.instrument not in lib.instruments:
            reject(lib.policies, pid, "instrument", f"refers to instrument '{pol.instrument}', which does not exist; fix the id")


def load_library(content_dir: Path) -> Library:
    """Load every YAML file under ``vignettes/``, ``rubrics/`` and ``training/``.

    Valid files are served; invalid ones are listed in ``Library.errors``. Ids must be unique
    across files of the same kind; a second file with the same id is rejected.
    """
    lib = Library()
    lines: dict = {}
    for folder, kinds in FOLDERS.items():
        base = content_dir / folder
        if not base.is_dir():
            continue
        for path in sorted(list(base.rglob("*.yaml")) + list(base.rglob("*.yml"))):
            model, errors = load_file(path, content_dir, kinds)
            if errors:
                lib.errors.extend(errors)
                continue
            bucket = lib._bucket(model.kind)
            if model.id in bucket:
                first = bucket[model.id].source_path
                node = yaml.compose(path.read_text("utf-8"), Loader=yaml.SafeLoader)
                lib.errors.append(ContentError(model.source_path, line_of(node, ("id",)), "id", f"'{model.id}' is already used by {first}; ids must be unique"))
                continue
            node = yaml.compose(path.read_text("utf-8"), Loader=yaml.SafeLoader)
            for key in ("scale", "rubric", "instrument", "requirements", "proscribed_scale"):
                lines[(model.source_path, key)] = (None, line_of(node, (key,)))
            for key in ("critical_min", "proscribed_max"):
                lines[(model.source_path, f"pass_rule.{key}")] = (None, line_of(node, ("pass_rule", key)))
            if model.kind == "fidelity_instrument":
                for n in range(len(model.items)):
                    lines[(model.source_path, f"items[{n}].anchors")] = (None, line_of(node, ("items", n, "anchors")))
            bucket[model.id] = model
    _check_references(lib, lines)
    return lib


def validate(content_dir: Path) -> list[ContentError]:
    """All content errors under ``content_dir`` (empty when everything is valid)."""
    return load_library(content_dir).errors
