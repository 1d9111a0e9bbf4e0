"""Readiness worded to its reader (issue 17): the candidate is told to ask their supervisor; the
supervisor reading the same checklist is never told that, and neither is an administrator."""

from __future__ import annotations

import datetime as _dt

import pytest

from ipt_training import auth
from ipt_training.credentials import review
from ipt_training.credentials.wording import for_reader, reword


def _all_readiness(db, library):
    admin = auth.find_user(db, "admin")
    today = _dt.date.today()
    for name in ("trainee", "trainee.near", "trainee.ready", "supervisor", "rater"):
        person = auth.find_user(db, name)
        for r in review.my_readiness(db, library, admin, person.id, today):
            yield r["readiness"]


def _words(readiness):
    return [q.description for q in readiness.requirements] + [m for q in readiness.requirements for m in q.missing]


def test_the_candidate_is_asked_to_go_to_their_supervisor(demo_db, library):
    own = [w for r in _all_readiness(demo_db, library) for w in _words(r)]
    assert any("ask your supervisor" in w for w in own)  # so the next test is not vacuous


@pytest.mark.parametrize("reader", ["supervisor", "admin"])
def test_a_supervisor_or_admin_is_never_told_to_ask_their_supervisor(demo_db, library, reader):
    for r in _all_readiness(demo_db, library):
        for w in _words(for_reader(r, reader)):
            assert "your supervisor" not in w.lower(), (reader, w)


def test_the_supervisor_reads_that_they_confirm():
    step = "110 more hours of supervised clinical practice: log your clinical hours and ask your supervisor to confirm them"
    assert reword(step, "supervisor").endswith("the trainee logs clinical hours and you confirm them")
    assert reword(step, "admin").endswith("the trainee logs clinical hours and their supervisor confirms them")
    assert reword(step, "self") == step
