"""The vocabularies from the field (problem areas, techniques, populations, phases) and the
base types every content model shares. Re-exported by :mod:`ipt_training.content`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


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
