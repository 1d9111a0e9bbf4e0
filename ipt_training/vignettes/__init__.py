"""Vignette practice.

Owns scoring (pure, :mod:`.scoring`: ``score_attempt(vignette, rubric, answers, grades)`` and one
function per rubric criterion type), attempts and drafts in the store and who may read them
(:mod:`.attempts`), and the library, progress and recommendation (:mod:`.recommendation`).

Answers, as stored in ``vignette_attempts.answers`` (JSON)::

    {"areas": ["grief", "role_transition"],            # areas the trainee says apply
     "ranking": {"grief": 1, "role_transition": 2},    # 1 = the primary focus
     "formulation": "...",
     "moments": {"<moment id>": {"technique": "clarification", "response": "..."}}}

Grades (``vignette_attempts.grades``): ``{"<criterion id>": {"level": 2, "comment": "..."}}``.

Non-disclosure rule: the expert key (areas, reasons, alternatives, formulation, model
responses, rationales) leaves this module only inside a submitted attempt's view. A draft's
view carries the case text of the revealed stages and nothing from ``vignette.key``.
On submission the vignette and rubric it was scored against are kept in ``content_versions``
(once per content hash, however many attempts use them) and the attempt stores its result in
``auto_scores``, so it stays readable and gradable when the content file later changes or
fails validation.
"""

from .scoring import (  # noqa: F401
    FOCUS_PARTS,
    focus_commit_stage,
    safety_check,
    score_dispute_stage,
    AnswerError,
    AttemptAccessError,
    GradeError,
    LIBRARY_STATUSES,
    MACHINE_SCORERS,
    MASTERY_WINDOW,
    STATUS_LABELS,
    VignetteError,
    apply_grades,
    area_label,
    clean_answers,
    clean_grades,
    empty_answers,
    expert_key,
    missing_parts,
    primary_choice,
    public_case,
    score_area_identification,
    score_area_ranking,
    score_attempt,
    score_graded,
    score_technique_choice,
    technique_label,
)
from .attempts import (  # noqa: F401
    commit_focus,
    attempt_view_for,
    attempts_for,
    current_draft,
    count_grading,
    find_grading,
    get_attempt,
    grade_attempt,
    grading_queue,
    keep_version,
    may_grade,
    offered_vignette,
    reveal_next_stage,
    save_draft,
    start_attempt,
    submit_attempt,
)
from .recommendation import (  # noqa: F401
    PASSES_TO_MOVE_ON,
    suggested_order,
    filter_options,
    library_rows,
    progress,
    recommend_next,
)
