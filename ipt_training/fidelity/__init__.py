"""Fidelity rating of recorded therapy sessions.

Owns recordings (upload checks, container sniffing, content-addressed storage, access:
:mod:`.recordings`; per-viewer signed links the player streams from: :mod:`.links`; timed
transcripts: :mod:`.transcripts`), assignments and the random
second-rating draw (:mod:`.assignments`), ratings with drafts, evidence marks, submit and
reopen (:mod:`.ratings`), the instrument's pass rule with critical and proscribed items (pure:
:mod:`.pass_rule`), the blind rule (:mod:`.blind`), who has seen a session's ratings
(:mod:`.seen`), gold standards (:mod:`.gold`) and
what the pages need (:mod:`.views`). The instrument in use and the shared error type are in
:mod:`.base`.

Who may see a session (``can_access_session``): its trainee; a supervisor of that trainee;
anyone assigned to rate it or holding a rating of it; an administrator.
"""
from .base import (  # noqa: F401
    DEFAULT_INSTRUMENT,
    FidelityError,
    KINDS,
    MAX_COMMENT,
    MAX_NOTE,
    MAX_PSEUDONYM,
    PURPOSES,
    SETTING_INSTRUMENT,
    default_instrument_id,
    default_library,
    instrument_of,
    pass_rule_text,
    scale_range,
)
from .recordings import (  # noqa: F401
    MEDIA,
    accessible_sessions,
    add_session,
    all_sessions_admin,
    can_access_session,
    check_recording,
    delete_recording,
    extension_of,
    count_recordings,
    find_recordings,
    get_session,
    recording_bytes,
    recording_file,
    safe_display_name,
    session_label,
    sniff_container,
    trainees_for_upload,
)
from .assignments import (  # noqa: F401
    assign,
    assign_random_second_ratings,
    QUEUE_DUE,
    ASSIGNMENT_STATUSES,
    assignable_sessions,
    count_assignable_sessions,
    count_assignments,
    find_assignable_sessions,
    find_assignments,
    filter_queue,
    list_assignments,
    rater_queue,
    raters,
)
from .ratings import (  # noqa: F401
    add_evidence_mark,
    can_reopen,
    NOT_STARTED,
    delete_evidence_mark,
    find_rating,
    get_or_create_draft,
    reopen_rating,
    save_item,
    unstarted_rating,
    update_evidence_mark,
    score_rating,
    set_comment,
    set_item_reason,
    submit_rating,
)
from .pass_rule import describe as describe_pass_rule, session_result  # noqa: F401
from .blind import (  # noqa: F401
    audit_entries_for,
    export_audit_log,
    blind_reason,
    blind_session_ids,
    own_rating,
    ratings_visible_to,
)
from .seen import has_seen_ratings, record_seen  # noqa: F401
from .gold import (  # noqa: F401
    adopt_gold_rating,
    gold_sessions,
    mark_gold_standard,
)
from .views import (  # noqa: F401
    item_catalogue,
    my_sessions,
    rating_progress,
    session_results,
    workspace_choices,
)
from .transcripts import TranscriptError, fmt_time, parse_transcript  # noqa: F401
