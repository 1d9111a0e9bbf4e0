"""Demo data: one account per role and enough records that every page has something real.

One loader, :func:`load_demo`, creates the accounts (:mod:`.accounts`) and then calls each
domain's demo function in turn: vignette attempts (:mod:`.vignettes`), recorded sessions with
ratings and gold standards (:mod:`.fidelity`), and the training log, evidence and decisions
(:mod:`.credentials`). The domain modules import only the domain packages, never this one, so
there is no import circle.

The accounts and passwords are printed in the README, and on the sign-in page while the database
holds demo data and nothing else (:func:`accounts_to_show`). They are for
trying the platform only; never load demo data into a real training body's database.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Optional

from sqlite_utils import Database

from .. import auth, notifications
from ..config import get_settings
from ..content import Library
from . import credentials, fidelity, vignettes
from .accounts import DEMO_ACCOUNTS, EXTRA_ACCOUNTS, DemoAccount, DemoError

__all__ = ["DEMO_ACCOUNTS", "EXTRA_ACCOUNTS", "DemoAccount", "DemoError", "load_demo", "accounts_to_show"]


def accounts_to_show(db: Database) -> list[DemoAccount]:
    """The demo accounts the first-run and sign-in pages may print (issue 17): only while the
    database is a demo database (the demo loader made its accounts and no one made a real one),
    and only the demo accounts that exist as the loader made them. A real deployment, or a
    demo database someone added a real account to, shows none. A demo account whose password
    was changed is not shown either: its printed password would be wrong, and the new one is
    that person's own."""
    if auth.has_real_accounts(db):
        return []
    hashes = {r["username"]: r["password_hash"]
              for r in db.query("SELECT username, password_hash FROM users WHERE is_demo = 1 AND active = 1")}
    return [a for a in DEMO_ACCOUNTS if a.username in hashes and _still_demo_password(hashes[a.username], a.password)]


@lru_cache(maxsize=64)
def _still_demo_password(password_hash: str, demo_password: str) -> bool:
    """Whether the stored argon2 hash is still of the demo password (memoised per hash, so the
    sign-in page pays each verification once, not on every rerun)."""
    return auth.verify_password(password_hash, demo_password)


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
    # each domain adds its records, in this order (fidelity's ratings feed the credential evidence)
    for domain in (vignettes, fidelity, credentials):
        domain.load(db, library, ids, cohort, data_dir)
    # the demo's history notified its people as it was made; it counts as read, so each inbox
    # starts with what happens from now on
    for user_id in ids.values():
        notifications.mark_all_read(db, user_id)
    return ids
