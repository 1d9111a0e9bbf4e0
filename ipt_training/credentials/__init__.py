"""Credentials: how far each person's evidence meets a training body's standard, and what the body decides.

Owns the readiness engine (pure, :mod:`.readiness`: ``evaluate(standard, evidence, today)`` with
one rule per requirement type and plain-words next steps), the evidence in the store (training
log, clinical hours, cases, supervision, certificates, and the rated sessions and vignette
results drawn from the other domains: :mod:`.evidence`), the review of candidates and the
append-only decisions (:mod:`.review`), held awards and their renewal (:mod:`.holding`, pure), the readiness report and certificate PDFs
(:mod:`.certificates`) and the ``readiness`` command (:mod:`.command`). The rated portfolio
(random draws of the sessions to be rated), case reports, attestations and supervision given
(issue 13) are kept by :mod:`.portfolio`; their rules are in :mod:`.readiness_portfolio`.
"""

from .readiness import (  # noqa: F401
    AttestationEntry,
    CaseReportEntry,
    SessionDraw,
    SupervisionGivenEntry,
    ClinicalCase,
    ClinicalHours,
    EVALUATORS,
    Evidence,
    EvidenceRef,
    FUTURE,
    HeldCredential,
    PHASE_ALIASES,
    RatedSession,
    Readiness,
    RequirementResult,
    SupervisionSession,
    TrainingEvent,
    UNCERTIFIED,
    UNCONFIRMED,
    VignetteResult,
    evaluate,
    format_missing,
    readiness_to_dict,
    status_label,
)
from .evidence import (  # noqa: F401
    AWAITING,
    CERTIFICATE_TYPES,
    ENTRY_TABLES,
    EvidenceError,
    MAX_CERTIFICATE_BYTES,
    MAX_HOURS,
    MAX_PSEUDONYM,
    MAX_SESSIONS,
    MAX_TEXT,
    MEASURES,
    MEASURE_RANGES,
    award_day,
    build_evidence,
    build_evidence_many,
    certificate_file,
    check_certificate,
    confirm_entry,
    delete_entry,
    entries_to_confirm,
    entry_summary,
    list_entries,
    may_view,
    record_case,
    record_clinical_hours,
    record_supervision,
    record_training_event,
    standing_awards,
    unconfirmed_entries,
    update_case,
    vignette_results,
    vignette_results_many,
)
from .portfolio import (  # noqa: F401
    PortfolioError,
    draw_sessions,
    grade_case_report,
    list_attestations,
    list_case_reports,
    list_draws,
    random_requirements,
    recorded_cases,
    sign_attestation,
    submit_case_report,
)
from .holding import (  # noqa: F401
    Holding,
    assess,
    evidence_since,
    holding_of,
    renewal_standard,
    role_standard_id,
)
from .review import (  # noqa: F401
    CANDIDATE_ROLES,
    ConfirmationNeeded,
    assess_for,
    default_standard_id,
    evidence_fingerprint,
    holding_dict,
    DECISIONS,
    ReviewError,
    STATUS_ORDER,
    add_months,
    awards_held,
    candidates,
    cohort_csv,
    find_in_cohort,
    cohort_id_by_name,
    cohort_readiness,
    cohort_table,
    decision_snapshot,
    decision_text,
    decisions_for,
    evidence_stamp,
    my_readiness,
    readiness_for,
    record_decision,
    renewal_reminders,
    standard_of,
    supervisee_readiness,
)
from .certificates import (  # noqa: F401
    certificate_pdf,
    readiness_pdf,
)
from .command import (  # noqa: F401
    cli_readiness,
)
