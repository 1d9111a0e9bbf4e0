"""Per-person evidence stamps kept by triggers (issue 16): the SQL of migration 70.

``evidence_changes`` holds one row per person whose credential evidence was ever written:
``token`` is a fresh random number after every write that changes what the readiness engine
reads of that person, ``seq`` a counter over all rows (so ``MAX(seq)`` says that *something*
changed). Triggers keep it, whichever code path writes, so a cache keyed by a person's token
can never serve evidence older than the store. Random tokens, not counters, so two copies of
one database that then diverge never share a token.

Two rows stand for more than one person: ``user_id = 0`` (``GLOBAL``) changes with what every
person's evidence may depend on (submitted calibration ratings, hence rater certification;
names; roles), and ``user_id = -1`` (``PEOPLE``) with who is listed where (accounts, cohorts,
supervision links). ``user_id = -2`` (``ASSIGNMENTS``) changes with assignments, which decide
only viewers' blind sets (migration 111: they changed PEOPLE before, which made every listing be
built again after each assignment). Draft ratings, draft vignette answers, sign-ins and the audit
log change none of them.
"""

from __future__ import annotations

GLOBAL = 0
PEOPLE = -1
ASSIGNMENTS = -2


def _bump(src: str) -> str:
    """Give every person ``u`` selected by ``src`` a fresh token and the next ``seq``."""
    return (f"INSERT INTO evidence_changes (user_id, seq, token) SELECT u, "
            f"(SELECT COALESCE(MAX(seq), 0) + 1 FROM evidence_changes), random() FROM ({src}) WHERE u IS NOT NULL "
            "ON CONFLICT(user_id) DO UPDATE SET seq = excluded.seq, token = excluded.token;")


def _trigger(name: str, event: str, table: str, src: str, when: str = "") -> str:
    cond = f" WHEN {when}" if when else ""
    return f"CREATE TRIGGER evch_{name} AFTER {event} ON {table}{cond}\n    BEGIN {_bump(src)} END;\n"


def _person_column(table: str, cols: tuple[str, ...] = ("trainee_id",)) -> str:
    """Insert, update and delete triggers on a table whose rows belong to the people in ``cols``."""
    new = " UNION ".join(f"SELECT NEW.{c} AS u" for c in cols)
    old = " UNION ".join(f"SELECT OLD.{c} AS u" for c in cols)
    return (_trigger(f"{table}_ins", "INSERT", table, new) + _trigger(f"{table}_upd", "UPDATE", table, f"{old} UNION {new}")
            + _trigger(f"{table}_del", "DELETE", table, old))


def _session_people(ref: str) -> str:
    """The trainee of session ``ref``, and GLOBAL when it is a calibration (gold-standard) session."""
    return (f"SELECT trainee_id AS u FROM recorded_sessions WHERE id = {ref} "
            f"UNION SELECT {GLOBAL} FROM recorded_sessions WHERE id = {ref} AND is_gold_standard = 1")


def _rating_people(ref: str) -> str:
    """:func:`_session_people` of rating ``ref``, when that rating is submitted."""
    return (f"SELECT s.trainee_id AS u FROM ratings r JOIN recorded_sessions s ON s.id = r.session_id "
            f"WHERE r.id = {ref} AND r.status = 'submitted' UNION SELECT {GLOBAL} FROM ratings r "
            f"JOIN recorded_sessions s ON s.id = r.session_id WHERE r.id = {ref} AND r.status = 'submitted' "
            "AND s.is_gold_standard = 1")


def _constant(table: str, who: int, events=("INSERT", "UPDATE", "DELETE"), suffix: str = "") -> str:
    return "".join(_trigger(f"{table}_{e.split()[0].lower()}{suffix}", e, table, f"SELECT {who} AS u") for e in events)


def migration_sql() -> str:
    """Migration 70: the table, its triggers, seed rows, and the covering index the cohort's
    vignette results are read from (the attempts' rows hold large JSON that a scan would read)."""
    sql = """
    CREATE TABLE evidence_changes (
        user_id INTEGER PRIMARY KEY,
        seq INTEGER NOT NULL,
        token INTEGER NOT NULL
    );
    CREATE INDEX idx_evidence_changes_seq ON evidence_changes(seq);
    INSERT INTO evidence_changes (user_id, seq, token) SELECT id, 1, random() FROM users;
    INSERT INTO evidence_changes (user_id, seq, token) VALUES (0, 1, random()), (-1, 1, random());
    CREATE INDEX idx_attempts_evidence ON vignette_attempts(trainee_id, status, created_at, vignette_id,
        primary_area, score, passed, submitted_at);
    """
    for table in ("training_events", "clinical_hours", "clinical_cases", "case_reports", "attestations",
                  "session_draws", "credential_decisions"):
        sql += _person_column(table)
    sql += _person_column("supervision_sessions", ("trainee_id", "confirmed_by"))  # supervision given, too
    sql += (_trigger("symptom_scores_ins", "INSERT", "symptom_scores",
                     "SELECT trainee_id AS u FROM clinical_cases WHERE id = NEW.case_id")
            + _trigger("symptom_scores_upd", "UPDATE", "symptom_scores",
                       "SELECT trainee_id AS u FROM clinical_cases WHERE id IN (OLD.case_id, NEW.case_id)")
            + _trigger("symptom_scores_del", "DELETE", "symptom_scores",
                       "SELECT trainee_id AS u FROM clinical_cases WHERE id = OLD.case_id"))
    sql += _trigger("revocations_ins", "INSERT", "credential_revocations",
                    "SELECT trainee_id AS u FROM credential_decisions WHERE id = NEW.decision_id")
    # vignette results: submitted and graded attempts only; saving a draft answer changes nothing
    sql += (_trigger("attempts_ins", "INSERT", "vignette_attempts", "SELECT NEW.trainee_id AS u",
                     "NEW.status <> 'draft'")
            + _trigger("attempts_upd", "UPDATE", "vignette_attempts",
                       "SELECT OLD.trainee_id AS u UNION SELECT NEW.trainee_id",
                       "OLD.status <> 'draft' OR NEW.status <> 'draft'")
            + _trigger("attempts_del", "DELETE", "vignette_attempts", "SELECT OLD.trainee_id AS u",
                       "OLD.status <> 'draft'"))
    # rated sessions and calibration: submitted ratings only; a draft save changes nothing
    sql += (_trigger("ratings_ins", "INSERT", "ratings", _session_people("NEW.session_id"),
                     "NEW.status = 'submitted'")
            + _trigger("ratings_upd", "UPDATE", "ratings",
                       _session_people("OLD.session_id") + " UNION " + _session_people("NEW.session_id"),
                       "OLD.status = 'submitted' OR NEW.status = 'submitted'")
            + _trigger("ratings_del", "DELETE", "ratings", _session_people("OLD.session_id"),
                       "OLD.status = 'submitted'"))
    sql += (_trigger("item_scores_ins", "INSERT", "item_scores", _rating_people("NEW.rating_id"))
            + _trigger("item_scores_upd", "UPDATE", "item_scores",
                       _rating_people("OLD.rating_id") + " UNION " + _rating_people("NEW.rating_id"))
            + _trigger("item_scores_del", "DELETE", "item_scores", _rating_people("OLD.rating_id")))
    sessions_old = f"SELECT OLD.trainee_id AS u UNION SELECT {GLOBAL} WHERE OLD.is_gold_standard = 1"
    sql += (_trigger("sessions_upd", "UPDATE OF trainee_id, case_id, case_pseudonym, session_number, phase, "
                     "is_gold_standard, deleted_at", "recorded_sessions",
                     f"{sessions_old} UNION SELECT NEW.trainee_id UNION SELECT {GLOBAL} WHERE NEW.is_gold_standard = 1")
            + _trigger("sessions_del", "DELETE", "recorded_sessions", sessions_old))
    # names appear in evidence labels; roles decide who is a certified rater
    sql += (_trigger("users_names", "UPDATE OF display_name, username", "users", f"SELECT {GLOBAL} AS u")
            + _trigger("users_ins", "INSERT", "users", f"SELECT NEW.id AS u UNION SELECT {PEOPLE}")
            + _trigger("users_active", "UPDATE OF active", "users", f"SELECT {PEOPLE} AS u")
            + _trigger("users_del", "DELETE", "users", f"SELECT {GLOBAL} AS u UNION SELECT {PEOPLE}"))
    sql += "".join(_trigger(f"user_roles_{e.lower()}", e, "user_roles", f"SELECT {GLOBAL} AS u UNION SELECT {PEOPLE}")
                   for e in ("INSERT", "UPDATE", "DELETE"))
    for table in ("cohorts", "cohort_members", "supervision_links"):
        sql += _constant(table, PEOPLE)
    return sql + assignments_sql()


def assignments_sql() -> str:
    """The assignments' triggers: they change ASSIGNMENTS (blind sets), not PEOPLE."""
    return _constant("assignments", ASSIGNMENTS)


def assignments_migration_sql() -> str:
    """Migration 111: the assignments' triggers of a store made before ASSIGNMENTS, made again."""
    drops = "".join(f"DROP TRIGGER IF EXISTS evch_assignments_{e};\n" for e in ("insert", "update", "delete"))
    return drops + assignments_sql()
