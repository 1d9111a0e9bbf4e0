"""Content as code: YAML files parsed into typed, validated models.

Vignettes live in ``vignettes/``, scoring rubrics, rating scales and fidelity instruments in
``rubrics/``, credential standards and the rater-certification policy in ``training/``.
Every file is read with ``yaml.safe_load`` semantics (``yaml.SafeLoader``, libyaml's ``CSafeLoader`` where installed; a
``!!python/object`` tag is refused), validated with pydantic, and every error is reported as
``path:line: field: message``. Each model carries ``content_hash`` (sha256 of the file's
bytes) so stored results can record the version they were scored with.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import Field, ValidationError, model_validator

from .content_errors import ContentError, YAMLProblem, field_name, friendly, line_of, parse_yaml

from .content_base import (  # noqa: F401  (vocabularies and base types, re-exported)
    Model,
    PROBLEM_AREAS,
    DISPUTE_STAGES,
    TECHNIQUES,
    POPULATIONS,
    DIFFICULTIES,
    PHASES,
    ROLES_CERTIFIED,
    AreaId,
    TechniqueId,
    PhaseId,
    Text,
    Version,
    Credit,
)
from .content_vignettes import (  # noqa: F401  (vignette and rubric models, re-exported)
    Relationship,
    Stage,
    Moment,
    KeyArea,
    NotApplicable,
    AlternativeArea,
    AlternativeTechnique,
    MomentKey,
    VignetteKey,
    Vignette,
    Level,
    MachineCriterion,
    GradedCriterion,
    VignetteRubric,
    Criterion,
)
from .content_standards import (  # noqa: F401  (issue 13 requirement types and vocabularies, re-exported)
    ATTESTERS,
    CASE_REPORT_LEVELS,
    TRAINING_CATEGORIES,
    Attestation,
    CaseReport,
    ContinuingEducation,
    PopulationId,
    SupervisionGiven,
    TrainingCategory,
    _Req,
)


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
    label: Optional[Text] = None  # a short name for tables and notes; default: the head of ``text`` (display.item_label)
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


class TrainingHours(_Req):
    type: Literal["training_hours"]
    min_hours: Annotated[float, Field(gt=0)]
    categories: list[TrainingCategory] = []  # the kinds of training counted; empty: every kind


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
    # issue 13: who picks the rated recordings; 'random': only sessions drawn by the platform count
    selection: Literal["chosen", "random"] = "chosen"
    min_cases: Annotated[int, Field(ge=0)] = 0  # cases that need a passing rated session of each phase below
    phases_per_case: list[PhaseId] = []
    all_must_pass: bool = False  # a rated session below the pass mark (not redrawn) blocks the requirement
    further_draws: Annotated[int, Field(ge=0)] = 0  # redraws allowed per case and phase after a failed draw

    @model_validator(mode="after")
    def _portfolio(self):
        if self.min_cases and not self.phases_per_case:
            raise ValueError("min_cases needs phases_per_case: the phases each case must have a rated session of")
        if self.further_draws and self.selection != "random":
            raise ValueError("further_draws applies only with selection: random")
        return self


class VignetteMastery(_Req):
    type: Literal["vignette_mastery"]
    areas: list[AreaId] = list(PROBLEM_AREAS)
    min_attempts_per_area: Annotated[int, Field(ge=1)] = 1
    min_mean_score: Optional[Annotated[float, Field(ge=0, le=1)]] = None
    min_pass_rate: Optional[Annotated[float, Field(ge=0, le=1)]] = None


class OutcomeMonitoring(_Req):
    type: Literal["outcome_monitoring"]
    measure: Optional[Text] = None  # the measure for a case whose population has none in ``measures``
    measures: dict[PopulationId, Text] = {}  # the measure per population, e.g. adolescent: PHQ-A
    every_n_sessions: Annotated[int, Field(ge=1)]

    @model_validator(mode="after")
    def _some_measure(self):
        if not self.measure and not self.measures:
            raise ValueError("name the symptom measure: 'measure' (every case) or 'measures' per population")
        return self

    def measure_for(self, population: Optional[str]) -> Optional[str]:
        """The measure a case of ``population`` is monitored with (None: this requirement names none)."""
        return self.measures.get(population or "adult", self.measure)


class RaterCalibration(_Req):
    type: Literal["rater_calibration"]
    instrument: Text


class Prerequisite(_Req):
    type: Literal["prerequisite"]
    credential: Text


Requirement = Annotated[Union[TrainingHours, SupervisedClinicalHours, SupervisedCases, SupervisionHours, RatedSessions,
                              VignetteMastery, OutcomeMonitoring, RaterCalibration, Prerequisite,
                              CaseReport, Attestation, SupervisionGiven, ContinuingEducation],
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
    # pooled certification (issue 11.6): the most recent min_sessions..window_sessions calibration
    # sessions (of the last window_months, when set), from at least min_phases treatment phases
    min_sessions: Annotated[int, Field(ge=1)] = 2
    window_sessions: Optional[Annotated[int, Field(ge=1)]] = None
    window_months: Optional[Annotated[int, Field(ge=1)]] = None
    min_phases: Annotated[int, Field(ge=1)] = 1
    # ICC(A,1) with the gold rating over the pooled (session, item) targets; judged on the lower
    # bound of its 95% CI ("lower_ci") or on the point estimate ("point")
    min_icc: Annotated[float, Field(ge=0, le=1)] = 0.75
    icc_judged_on: Literal["lower_ci", "point"] = "point"
    min_exact: Annotated[float, Field(ge=0, le=1)] = 0.0
    min_within_one: Annotated[float, Field(ge=0, le=1)] = 0.80
    # share of the pooled sessions whose pass/fail decision must agree with the gold rating's
    min_pass_fail_agreement: Annotated[float, Field(ge=0, le=1)] = 0.0
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
    model, errors, _ = _load_file(path, root, allowed_kinds)
    return model, errors


def _load_file(path: Path, root: Path, allowed_kinds: tuple[str, ...]) -> tuple[Optional[Model], list[ContentError], Any]:
    """:func:`load_file` and the file's composed YAML node tree (for line numbers; None when unread)."""
    node = None
    rel = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [ContentError(rel, None, "(file)", f"is not UTF-8 text ({exc.reason}); save it as UTF-8")], node
    try:
        node, data = parse_yaml(text)
    except YAMLProblem as exc:
        return None, [ContentError(rel, exc.line, "(yaml)", exc.message)], node
    if not isinstance(data, dict):
        return None, [ContentError(rel, 1, "(file)", "must be a YAML mapping of fields (key: value)")], node
    kind = data.get("kind", "vignette" if allowed_kinds == ("vignette",) else None)
    if kind not in allowed_kinds:
        line = line_of(node, ("kind",))
        return None, [
            ContentError(rel, line, "kind", f"must be one of {', '.join(allowed_kinds)} in this folder; got {kind!r}")
        ], node
    model_cls = KINDS[kind]
    digest = hashlib.sha256(raw).hexdigest()
    try:
        model = model_cls.model_validate({**data, "content_hash": digest, "source_path": rel})
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            errors.append(ContentError(rel, line_of(node, loc, _UNION_TAGS), field_name(loc, _UNION_TAGS), friendly(err)))
        return None, errors, node
    return model, [], node


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
        for n, req in enumerate([*std.requirements, *std.renewal_requirements]):
            ref = getattr(req, "instrument", None)
            if ref is not None and ref not in lib.instruments:
                reject(lib.standards, sid, "requirements", f"requirement '{req.id}' refers to instrument '{ref}', which does not exist; fix the id")
                break
            cred = getattr(req, "credential", None) or getattr(req, "since_credential", None)
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
            model, errors, node = _load_file(path, content_dir, kinds)  # parsed once (issue 16)
            if errors:
                lib.errors.extend(errors)
                continue
            bucket = lib._bucket(model.kind)
            if model.id in bucket:
                first = bucket[model.id].source_path
                lib.errors.append(ContentError(model.source_path, line_of(node, ("id",)), "id", f"'{model.id}' is already used by {first}; ids must be unique"))
                continue
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
