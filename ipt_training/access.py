"""Which page each role may use: plain data, read by the router and by the access tests.

A page not listed for any of the signed-in user's roles is never registered with
``st.navigation`` for that session, so it cannot be reached by URL either.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    file: str          # script under ipt_training/app_pages/
    title: str
    icon: str
    roles: frozenset   # roles that may use the page
    section: str
    url_path: str


def _p(file, title, icon, roles, section):
    return PageSpec(file, title, icon, frozenset(roles), section, file.removesuffix(".py"))


PAGES: list[PageSpec] = [
    _p("home.py", "Home", ":material/home:", {"trainee", "rater", "supervisor", "admin"}, "Home"),
    _p("inbox.py", "Inbox", ":material/inbox:", {"trainee", "rater", "supervisor", "admin"}, "Home"),
    _p("account.py", "My account", ":material/account_circle:", {"trainee", "rater", "supervisor", "admin"}, "Home"),
    # trainee: practice and own evidence
    _p("vignette_library.py", "Vignette library", ":material/menu_book:", {"trainee"}, "Practice"),
    _p("vignette_workspace.py", "Vignette workspace", ":material/edit_note:", {"trainee"}, "Practice"),
    _p("progress.py", "My progress", ":material/insights:", {"trainee"}, "Practice"),
    _p("my_sessions.py", "My recorded sessions", ":material/mic:", {"trainee"}, "Sessions"),
    _p("add_session.py", "Add a recorded session", ":material/upload:", {"trainee", "supervisor", "admin"}, "Sessions"),
    # raters and supervisors work toward credentials too (fidelity rater, IPT supervisor)
    _p("my_evidence.py", "My training log", ":material/fact_check:", {"trainee", "rater", "supervisor"}, "Credential"),
    _p("my_readiness.py", "My credential readiness", ":material/workspace_premium:", {"trainee", "rater", "supervisor"},
       "Credential"),
    # rater
    _p("rating_queue.py", "Rating queue", ":material/queue:", {"rater", "supervisor"}, "Rating"),
    _p("rating_workspace.py", "Rating workspace", ":material/rate_review:", {"rater", "supervisor", "admin", "trainee"}, "Rating"),
    _p("calibration.py", "My calibration", ":material/tune:", {"rater", "supervisor"}, "Rating"),
    # supervisor
    _p("grading_queue.py", "Grading queue", ":material/grading:", {"supervisor", "admin"}, "Supervision"),
    _p("supervisees.py", "Supervisees", ":material/group:", {"supervisor"}, "Supervision"),
    _p("assignments.py", "Rating assignments", ":material/assignment_ind:", {"supervisor", "admin"}, "Supervision"),
    _p("reliability_report.py", "Reliability report", ":material/analytics:", {"supervisor", "admin"}, "Quality"),
    # admin (training body)
    _p("credential_review.py", "Credential review", ":material/verified:", {"admin"}, "Training body"),
    _p("gold_standard.py", "Gold-standard sessions", ":material/star:", {"admin"}, "Training body"),
    _p("recordings_admin.py", "Recordings", ":material/video_library:", {"admin"}, "Training body"),
    _p("users.py", "Users and roles", ":material/manage_accounts:", {"admin"}, "Administration"),
    _p("cohorts.py", "Cohorts and supervision", ":material/groups:", {"admin"}, "Administration"),
    _p("content_status.py", "Content status", ":material/rule:", {"admin"}, "Administration"),
    _p("audit_log.py", "Audit log", ":material/history:", {"admin"}, "Administration"),
]


# Pages anyone may use, signed in or not (the role "public" is the signed-out visitor). They are
# not in PAGES, whose every entry needs a sign-in (issue 14: a registry checks a certificate
# without an account).
PUBLIC = "public"
PUBLIC_PAGES: list[PageSpec] = [
    _p("verify.py", "Verify a certificate", ":material/verified_user:",
       {PUBLIC, "trainee", "rater", "supervisor", "admin"}, "Verify"),
]


def pages_for(roles) -> list[PageSpec]:
    """The pages a person holding ``roles`` may use, in menu order (``{"public"}``: signed out)."""
    roles = set(roles)
    return [p for p in PAGES + PUBLIC_PAGES if p.roles & roles]
