"""Demo data: one account per role and enough records that every page has something real.

The accounts and passwords below are printed on the first-run screen and in the README.
They are for trying the platform only; never load demo data into a real training body's DB.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from sqlite_utils import Database

from . import auth
from .config import get_settings
from .content import Library


@dataclass(frozen=True)
class DemoAccount:
    role: str
    username: str
    password: str
    display_name: str
    roles: tuple[str, ...]


DEMO_ACCOUNTS = [
    DemoAccount("trainee", "trainee", "trainee-demo", "Tara Trainee", ("trainee",)),
    DemoAccount("rater", "rater", "rater-demo", "Ravi Rater", ("rater",)),
    DemoAccount("supervisor", "supervisor", "supervisor-demo", "Sam Supervisor", ("supervisor", "rater")),
    DemoAccount("admin", "admin", "admin-demo", "Ada Admin", ("admin",)),
]
# further people who make the cohort, double rating and readiness meaningful
EXTRA_ACCOUNTS = [
    DemoAccount("trainee", "trainee.ready", "trainee-demo", "Rosa Ready", ("trainee",)),
    DemoAccount("trainee", "trainee.near", "trainee-demo", "Nico Nearly", ("trainee",)),
    DemoAccount("rater", "rater2", "rater-demo", "Rita Second", ("rater",)),
]


class DemoError(Exception):
    pass


def load_demo(db: Database, library: Library, data_dir: Optional[Path] = None, force: bool = False) -> dict:
    """Create the demo accounts and records. Refuses a DB with real accounts unless ``force``."""
    if auth.has_real_accounts(db) and not force:
        raise DemoError("This database holds real accounts; demo data was not loaded. Use --force to load it anyway.")
    if auth.find_user(db, "admin") and auth.find_user(db, "trainee"):
        raise DemoError("Demo data is already loaded.")
    data_dir = Path(data_dir) if data_dir else get_settings().data_dir
    ids = {}
    for acc in DEMO_ACCOUNTS + EXTRA_ACCOUNTS:
        u = auth.create_user(db, acc.username, acc.password, acc.roles, acc.display_name, is_demo=True)
        ids[acc.username] = u.id
    cohort = auth.create_cohort(db, "Demo cohort 2026", ids["admin"])
    trainees = [ids["trainee"], ids["trainee.ready"], ids["trainee.near"]]
    auth.set_cohort_members(db, cohort, trainees, ids["admin"])
    for t in trainees:
        auth.link_supervisor(db, ids["supervisor"], t, ids["admin"])
    for loader in _FEATURE_LOADERS:
        loader(db, library, ids, cohort, data_dir)
    return ids


# Each feature registers a function (db, library, ids, cohort_id, data_dir) that adds its demo records.
_FEATURE_LOADERS: list = []


def feature_loader(fn):
    _FEATURE_LOADERS.append(fn)
    return fn


from . import demo_vignettes  # noqa: E402,F401
from . import demo_fidelity  # noqa: E402,F401
from . import demo_credentials  # noqa: E402,F401
