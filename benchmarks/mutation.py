"""Planted mutants over the critical rules (issue 18). Not part of CI: run it by hand,
like the benchmarks, and record the figure and the triage in docs/MUTATION.md.

    python -m benchmarks.mutation                 # every mutant (40-50 minutes on 2 busy cores)
    python -m benchmarks.mutation --only blind    # the mutants whose id starts with 'blind'
    python -m benchmarks.mutation --list          # what would be planted

Each mutant is one plausible bug: an exact piece of source and what it becomes. The project is
copied to a temporary folder (the work tree is never touched), the mutant planted in the copy,
and the tests that cover that module run there with ``-x``; the mutant is *killed* when they
fail. A mutant whose source text is no longer found is reported as ``not applied`` (the code
moved on: update the table). The kill rate is printed per module.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COPY = ["ipt_training", "tests", "vignettes", "rubrics", "training", "streamlit_app.py", "app.py", "pytest.ini", ".streamlit"]


@dataclass(frozen=True)
class Mutant:
    id: str
    module: str  # path under the project root
    old: str
    new: str
    what: str
    tests: tuple[str, ...]


BLIND_TESTS = ("tests/fidelity/test_blind_with_draft.py", "tests/fidelity/test_fidelity.py")
KEY_TESTS = ("tests/vignettes/test_retake_secrecy.py", "tests/vignettes/test_vignette_practice.py")
SCORING_TESTS = ("tests/vignettes/test_vignette_scoring.py",)
READINESS_TESTS = ("tests/credentials/test_credentials.py",)
EVIDENCE_TESTS = ("tests/credentials/test_confirmation_mapping.py", "tests/credentials/test_evidence.py")
CERT_TESTS = ("tests/reliability/test_certification_policy.py", "tests/reliability/test_calibration.py")
AUTH_TESTS = ("tests/test_auth.py", "tests/test_security_accounts.py")
STORE_TESTS = ("tests/test_store.py", "tests/credentials/test_credential_review.py")

MUTANTS = [
    # --- the blind rule ---------------------------------------------------------------------
    Mutant("blind-draft-counts-as-submitted", "ipt_training/fidelity/blind.py",
           "AND r.kind = 'rater' AND r.status = 'submitted')", "AND r.kind = 'rater')",
           "bulk blind set: a rater's draft counts as submitted (issue 18, mutant 1)", BLIND_TESTS),
    Mutant("blind-self-draft-counts", "ipt_training/fidelity/blind.py",
           "AND r.kind = 'self' AND r.status = 'submitted')", "AND r.kind = 'self')",
           "bulk blind set: the trainee's self-rating draft counts as submitted", BLIND_TESTS),
    Mutant("blind-reason-draft-opens", "ipt_training/fidelity/blind.py",
           "        if own and own[\"status\"] == \"submitted\":\n            return None\n        return \"Other ratings",
           "        if own:\n            return None\n        return \"Other ratings",
           "blind_reason: a participant with a draft sees the others", BLIND_TESTS),
    Mutant("blind-any-supervisor", "ipt_training/fidelity/blind.py",
           "if user.has(\"supervisor\") and session[\"trainee_id\"] in supervisee_ids(db, user.id):",
           "if user.has(\"supervisor\"):",
           "a supervisor sees the ratings of trainees they do not supervise", BLIND_TESTS),
    Mutant("blind-others-drafts-visible", "ipt_training/fidelity/blind.py",
           "if not own and not (open_to_user and r[\"status\"] == \"submitted\"):",
           "if not own and not open_to_user:",
           "other people's drafts shown once the viewer may see submitted ratings", BLIND_TESTS),
    Mutant("blind-audit-unfiltered", "ipt_training/fidelity/blind.py",
           "        if isinstance(sid, int) and sid in hidden:", "        if False:",
           "the audit log shows the details of sessions the admin is blind to", BLIND_TESTS),
    # --- key secrecy ------------------------------------------------------------------------
    Mutant("key-in-draft-view", "ipt_training/vignettes/attempts.py",
           "        view[\"case\"] = public_case(v, att[\"stages_revealed\"])\n",
           "        view[\"case\"] = public_case(v, att[\"stages_revealed\"])\n        view[\"key\"] = expert_key(v)\n",
           "the draft view carries the expert key", KEY_TESTS),
    Mutant("key-retake-open", "ipt_training/vignettes/attempts.py",
           "and current_draft(db, user.id, att[\"vignette_id\"])):", "and False):",
           "earlier feedback (with the key) readable while a retake is open (issue 18, mutant 3)", KEY_TESTS),
    Mutant("key-any-supervisor-reads", "ipt_training/vignettes/attempts.py",
           "    if user.has(\"supervisor\") and trainee_id in supervisee_ids(db, user.id):\n        return\n"
           "    raise AttemptAccessError(\"You may see only your own attempts",
           "    if user.has(\"supervisor\"):\n        return\n"
           "    raise AttemptAccessError(\"You may see only your own attempts",
           "any supervisor reads any trainee's attempts", KEY_TESTS),
    # --- vignette scoring and gates ---------------------------------------------------------
    Mutant("score-gates-ignored", "ipt_training/vignettes/scoring.py",
           "if level is not None and level < c.min_level:", "if False:",
           "a gated criterion below its min_level still passes", SCORING_TESTS),
    Mutant("score-gate-off-by-one", "ipt_training/vignettes/scoring.py",
           "if level is not None and level < c.min_level:", "if level is not None and level <= c.min_level:",
           "a grade exactly at min_level fails the gate", SCORING_TESTS),
    Mutant("score-safety-ignored", "ipt_training/vignettes/scoring.py",
           "        if not m.critical:\n            continue", "        if True:\n            continue",
           "a missed critical (safety) moment does not fail the attempt", SCORING_TESTS),
    Mutant("score-pass-mark-ignores-fails", "ipt_training/vignettes/scoring.py",
           "(score >= rubric.pass_mark - _TOL and not fails)", "(score >= rubric.pass_mark - _TOL)",
           "pass decided by the total alone", SCORING_TESTS),
    Mutant("score-f1-alternatives-as-false-positives", "ipt_training/vignettes/scoring.py",
           "    judged = chosen - alternatives\n", "    judged = chosen\n",
           "an acceptable alternative area counts as a false positive in the F1", SCORING_TESTS),
    Mutant("score-technique-alternative-full", "ipt_training/vignettes/scoring.py",
           "credit, verdict = alts[chosen], \"an acceptable alternative\"",
           "credit, verdict = 1.0, \"an acceptable alternative\"",
           "an alternative technique earns full credit", SCORING_TESTS),
    Mutant("score-provisional-final", "ipt_training/vignettes/scoring.py",
           "final = all(e[\"status\"] == \"scored\" for e in counted)",
           "final = any(e[\"status\"] == \"scored\" for e in counted)",
           "an attempt awaiting grading is final", SCORING_TESTS),
    # --- readiness evaluation ---------------------------------------------------------------
    Mutant("ready-unconfirmed-hours-count", "ipt_training/credentials/readiness.py",
           "        if not it.confirmed:\n            not_counted.append(EvidenceRef(kind, it.id, ref.label, unconfirmed_reason))",
           "        if False:\n            not_counted.append(EvidenceRef(kind, it.id, ref.label, unconfirmed_reason))",
           "unconfirmed hours count toward a requirement", READINESS_TESTS),
    Mutant("ready-future-hours-count", "ipt_training/credentials/readiness.py",
           "        elif it.date > today:\n            not_counted.append(EvidenceRef(kind, it.id, ref.label, FUTURE))",
           "        elif False:\n            not_counted.append(EvidenceRef(kind, it.id, ref.label, FUTURE))",
           "future-dated hours count", READINESS_TESTS),
    Mutant("ready-any-met", "ipt_training/credentials/readiness.py",
           "ready = bool(results) and met_count == len(results)", "ready = bool(results) and met_count >= 1",
           "ready when any requirement is met", READINESS_TESTS),
    Mutant("evidence-supervision-confirmed", "ipt_training/credentials/evidence.py",
           "e[\"confirmed_by\"] is not None) for e in supervision[tid]),", "True) for e in supervision[tid]),",
           "every supervision session read as confirmed (issue 18, mutant 2)", EVIDENCE_TESTS),
    Mutant("evidence-cases-confirmed", "ipt_training/credentials/evidence.py",
           "_day(c[\"end_date\"]), int(c[\"n_sessions\"]), c[\"confirmed_by\"] is not None,",
           "_day(c[\"end_date\"]), int(c[\"n_sessions\"]), True,",
           "every case read as confirmed", EVIDENCE_TESTS),
    # --- rater certification (pooled over the policy's window: calibration.certification) ------
    Mutant("cert-too-few-sessions", "ipt_training/reliability/certification.py",
           "    if len(sessions) < need:\n        result[\"reasons\"].append(f\"{len(sessions)} calibration session(s) in the policy's window",
           "    if len(sessions) < 1:\n        result[\"reasons\"].append(f\"{len(sessions)} calibration session(s) in the policy's window",
           "fewer calibration sessions than the policy asks certify", CERT_TESTS),
    Mutant("cert-phases-ignored", "ipt_training/reliability/certification.py",
           "if len(phases) < int(pol[\"min_phases\"]):", "if False:",
           "calibrations from too few treatment phases certify", CERT_TESTS),
    Mutant("cert-exact-ignored", "ipt_training/reliability/certification.py",
           "if fig[\"exact\"] < pol[\"min_exact\"]:", "if False:",
           "exact agreement below the threshold certifies", CERT_TESTS),
    Mutant("cert-within-one-ignored", "ipt_training/reliability/certification.py",
           "if fig[\"within_one\"] < pol[\"min_within_one\"]:", "if False:",
           "within-one agreement below the threshold certifies", CERT_TESTS),
    Mutant("cert-icc-threshold-ignored", "ipt_training/reliability/certification.py",
           "elif judged < pol[\"min_icc\"]:", "elif False:",
           "an ICC below the threshold certifies", CERT_TESTS),
    Mutant("cert-pass-fail-ignored", "ipt_training/reliability/certification.py",
           "elif pf < pol[\"min_pass_fail_agreement\"] - 1e-12:", "elif False:",
           "pass/fail decisions that differ from the gold rating's certify", CERT_TESTS),
    Mutant("cert-never-expires", "ipt_training/reliability/certification.py",
           "    result.update(certified_on=certified_on, expires_on=expires_on)\n    if today >= expires_on:",
           "    result.update(certified_on=certified_on, expires_on=expires_on)\n    if False:",
           "certification never expires", CERT_TESTS),
    Mutant("cert-expiry-day-off-by-one", "ipt_training/reliability/certification.py",
           "    result.update(certified_on=certified_on, expires_on=expires_on)\n    if today >= expires_on:",
           "    result.update(certified_on=certified_on, expires_on=expires_on)\n    if today > expires_on:",
           "still certified on the day it expires", CERT_TESTS),
    # --- lockout ----------------------------------------------------------------------------
    Mutant("lockout-never-locks", "ipt_training/auth.py",
           "    return bool(locked_until) and datetime.fromisoformat(locked_until) > now",
           "    return False", "a locked account is not locked", AUTH_TESTS),
    Mutant("lockout-one-more-try", "ipt_training/auth.py",
           "locked = bool(turn) and not right and turn >= MAX_FAILED_SIGN_INS",
           "locked = bool(turn) and not right and turn > MAX_FAILED_SIGN_INS",
           "the account locks one failure late", AUTH_TESTS),
    Mutant("lockout-right-password-while-locked", "ipt_training/auth.py",
           "if fresh[\"active\"] and not _is_locked(fresh[\"locked_until\"], now):", "if fresh[\"active\"]:",
           "a right password counts while the account was locked meanwhile", AUTH_TESTS),
    Mutant("lockout-no-reset-on-success", "ipt_training/auth.py",
           "db.conn.execute(\"UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?\", (row[\"id\"],))",
           "pass",
           "a successful sign-in does not reset the failure count", AUTH_TESTS),
    # --- append-only triggers ---------------------------------------------------------------
    Mutant("trigger-audit-update", "ipt_training/store.py",
           "    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log\n"
           "        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;\n", "",
           "the audit log can be edited", STORE_TESTS),
    Mutant("trigger-audit-delete", "ipt_training/store.py",
           "    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log\n"
           "        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;\n", "",
           "audit lines can be deleted", STORE_TESTS),
    Mutant("trigger-decisions-update", "ipt_training/store.py",
           "    CREATE TRIGGER decisions_no_update BEFORE UPDATE ON credential_decisions\n"
           "        BEGIN SELECT RAISE(ABORT, 'decisions are append-only: record a new decision instead'); END;\n", "",
           "a credential decision can be edited", STORE_TESTS),
    Mutant("trigger-decisions-delete", "ipt_training/store.py",
           "    CREATE TRIGGER decisions_no_delete BEFORE DELETE ON credential_decisions\n"
           "        BEGIN SELECT RAISE(ABORT, 'decisions are append-only: record a new decision instead'); END;\n", "",
           "a credential decision can be deleted", STORE_TESTS),
]


def _copy_project(dest: Path) -> None:
    for name in COPY:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "test-results"))
        elif src.exists():
            shutil.copy2(src, dest / name)


def _pytest(work: Path, tests: tuple[str, ...], timeout: int) -> int:
    return subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                           "--ignore=tests/e2e", *tests], cwd=work, capture_output=True, text=True,
                          timeout=timeout).returncode


def run(mutants: list[Mutant], timeout: int, baseline: bool = True) -> list[tuple[Mutant, str, float]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="ipt-mutation-") as tmp:
        work = Path(tmp)
        _copy_project(work)
        broken = set()
        if baseline:  # a test set that fails unmutated would "kill" every mutant: leave those out
            for tests in dict.fromkeys(m.tests for m in mutants):
                if _pytest(work, tests, timeout) != 0:
                    broken.add(tests)
                    print(f"baseline fails: {' '.join(tests)}", flush=True)
        for m in mutants:
            if m.tests in broken:
                results.append((m, "not applied", 0.0))
                print(f"{m.id:45s} not applied (its tests fail without the mutant)", flush=True)
                continue
            target = work / m.module
            original = target.read_text("utf-8")
            if original.count(m.old) != 1:
                results.append((m, "not applied", 0.0))
                print(f"{m.id:45s} not applied (source text found {original.count(m.old)} times)", flush=True)
                continue
            target.write_text(original.replace(m.old, m.new), "utf-8")
            start = time.monotonic()
            try:
                code = _pytest(work, m.tests, timeout)
                outcome = "survived" if code == 0 else "killed"
                if code not in (0, 1):  # collection or internal error: the mutant broke an import
                    outcome = "killed (error)"
            except subprocess.TimeoutExpired:
                outcome = "killed (timeout)"
            finally:
                target.write_text(original, "utf-8")
            took = time.monotonic() - start
            results.append((m, outcome, took))
            print(f"{m.id:45s} {outcome:16s} {took:6.0f} s  {m.what}", flush=True)
    return results


def summary(results: list[tuple[Mutant, str, float]]) -> str:
    lines = ["", f"{'module':45s} killed / planted", "-" * 62]
    by_module: dict[str, list[str]] = {}
    for m, outcome, _ in results:
        by_module.setdefault(m.module, []).append(outcome)
    total_killed = total = 0
    for module, outcomes in by_module.items():
        planted = [o for o in outcomes if o != "not applied"]
        killed = sum(o.startswith("killed") for o in planted)
        total_killed += killed
        total += len(planted)
        rate = f"{killed / len(planted):.0%}" if planted else "-"
        lines.append(f"{module:45s} {killed} / {len(planted)}  ({rate})"
                     + (f", {len(outcomes) - len(planted)} not applied" if len(planted) < len(outcomes) else ""))
    lines.append("-" * 62)
    lines.append(f"{'all':45s} {total_killed} / {total}  ({total_killed / total:.0%})" if total else "nothing planted")
    survivors = [m.id for m, o, _ in results if o == "survived"]
    lines.append("survivors: " + (", ".join(survivors) if survivors else "none"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mutation", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run the mutants whose id starts with this")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per mutant before it counts as killed")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the unmutated run of each test set (faster; trust that they pass)")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTANTS if m.id.startswith(args.only)]
    if args.list:
        for m in chosen:
            print(f"{m.id:45s} {m.module:45s} {m.what}")
        return 0
    results = run(chosen, args.timeout, baseline=not args.no_baseline)
    print(summary(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
