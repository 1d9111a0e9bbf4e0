"""The demo accounts, one per role plus the people that make the cohort, double rating and
readiness meaningful.

The accounts and passwords below are printed on the first-run screen and in the README.
They are for trying the platform only; never load demo data into a real training body's DB.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoAccount:
    role: str
    username: str
    password: str
    display_name: str
    roles: tuple[str, ...]


DEMO_ACCOUNTS = [
    DemoAccount("trainee", "trainee", "trainee-demo-pass", "Tara Trainee", ("trainee",)),
    DemoAccount("rater", "rater", "rater-demo-pass", "Ravi Rater", ("rater",)),
    DemoAccount("supervisor", "supervisor", "supervisor-demo-pass", "Sam Supervisor", ("supervisor", "rater")),
    DemoAccount("admin", "admin", "admin-demo-pass", "Ada Admin", ("admin",)),
]
# further people who make the cohort, double rating and readiness meaningful
EXTRA_ACCOUNTS = [
    DemoAccount("trainee", "trainee.ready", "trainee-demo-pass", "Rosa Ready", ("trainee",)),
    DemoAccount("trainee", "trainee.near", "trainee-demo-pass", "Nico Nearly", ("trainee",)),
    DemoAccount("rater", "rater2", "rater-demo-pass", "Rita Second", ("rater",)),
]


class DemoError(Exception):
    pass
