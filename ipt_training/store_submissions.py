"""The log of changes to submitted ratings, kept by triggers (issue 16): the SQL of migration 100.

``submitted_changes`` gets one row per change of what the reliability report reads: a row with
``rating_id`` when that rating became submitted (a submission: the report may *append* it to
what it has read), a row with ``rating_id`` NULL for anything else (a submitted rating reopened,
edited or deleted, a submitted rating's item scores changed, a session's trainee, phase,
gold-standard mark or deletion changed, cohort membership or a cohort's name changed, a
person's name changed). ``seq`` only grows (AUTOINCREMENT), so a reader that remembers the
``seq`` it has read up to finds every later change, and knows whether all of them were
submissions. Triggers keep it, whichever code path writes; a draft save, an evidence mark, a
log entry or a sign-in add nothing. The log is pruned to its last :data:`KEEP` rows; a reader
whose position was pruned away reads everything again.
"""

from __future__ import annotations

KEEP = 20_000

_RESET = "INSERT INTO submitted_changes (rating_id) VALUES (NULL);"


def _trigger(name: str, event: str, table: str, body: str, when: str = "") -> str:
    cond = f" WHEN {when}" if when else ""
    return f"CREATE TRIGGER subch_{name} AFTER {event} ON {table}{cond}\n    BEGIN {body} END;\n"


def _submitted(ref: str) -> str:
    return f"EXISTS (SELECT 1 FROM ratings WHERE id = {ref} AND status = 'submitted')"


def migration_sql() -> str:
    """Migration 100: the log table and its triggers."""
    sql = f"""
    CREATE TABLE submitted_changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        rating_id INTEGER
    );
    CREATE TRIGGER subch_prune AFTER INSERT ON submitted_changes WHEN NEW.seq % 1000 = 0
        BEGIN DELETE FROM submitted_changes WHERE seq <= NEW.seq - {KEEP}; END;
    """
    sql += (_trigger("ratings_ins", "INSERT", "ratings",
                     "INSERT INTO submitted_changes (rating_id) VALUES (NEW.id);", "NEW.status = 'submitted'")
            + _trigger("ratings_submit", "UPDATE", "ratings",
                       "INSERT INTO submitted_changes (rating_id) VALUES (NEW.id);",
                       "OLD.status <> 'submitted' AND NEW.status = 'submitted'")
            + _trigger("ratings_upd", "UPDATE", "ratings", _RESET, "OLD.status = 'submitted'")
            + _trigger("ratings_del", "DELETE", "ratings", _RESET, "OLD.status = 'submitted'"))
    sql += (_trigger("item_scores_ins", "INSERT", "item_scores", _RESET, _submitted("NEW.rating_id"))
            + _trigger("item_scores_upd", "UPDATE", "item_scores", _RESET,
                       f"{_submitted('OLD.rating_id')} OR {_submitted('NEW.rating_id')}")
            + _trigger("item_scores_del", "DELETE", "item_scores", _RESET, _submitted("OLD.rating_id")))
    sql += (_trigger("sessions_upd", "UPDATE OF trainee_id, phase, problem_area, is_gold_standard, deleted_at",
                     "recorded_sessions", _RESET)
            + _trigger("sessions_del", "DELETE", "recorded_sessions", _RESET))
    sql += "".join(_trigger(f"cohort_members_{e.lower()}", e, "cohort_members", _RESET)
                   for e in ("INSERT", "UPDATE", "DELETE"))
    sql += _trigger("cohorts_upd", "UPDATE OF name", "cohorts", _RESET)
    sql += _trigger("users_names", "UPDATE OF display_name, username", "users", _RESET)
    return sql
