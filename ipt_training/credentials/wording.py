"""Readiness in the reader's words (issue 17; pure).

The readiness engine writes its next steps to the candidate ("log your clinical hours and ask
your supervisor to confirm them"). A supervisor reading a supervisee's checklist is that
supervisor, and an administrator is neither: :func:`for_reader` turns the steps (and the
standard's requirement descriptions) to them, so a supervisor is never told to ask their
supervisor and an administrator reads about "the trainee's supervisor".
"""

from __future__ import annotations

import dataclasses

from .readiness_base import Readiness

READERS = ("self", "supervisor", "admin")

# candidate's words -> the supervisor's; longest first, so a phrase wins over its parts
_SUPERVISOR = [
    ("log your clinical hours and ask your supervisor to confirm them", "the trainee logs clinical hours and you confirm them"),
    ("book supervision and ask your supervisor to confirm each session",
     "the trainee logs each supervision session and you confirm it"),
    ("log the training events you attend and ask your supervisor to confirm them",
     "the trainee logs the training events attended and you confirm them"),
    ("log training of these kinds and ask your supervisor to confirm it",
     "the trainee logs training of these kinds and you confirm it"),
    ("logged but not yet confirmed: ask for confirmation", "logged and awaiting your confirmation"),
    ("ask your supervisor for a further random draw", "draw a further session at random"),
    ("talk to your supervisor and the training body", "talk it over with the trainee and the training body"),
    ("your report awaits grading by your supervisor", "the report awaits your grading"),
    ("Ask your supervisor to sign a statement of your competence", "Sign a statement of the trainee's competence"),
    ("confirmation by your supervisor", "your confirmation"),
    ("confirmed by your supervisor", "confirmed by you"),
    ("drawn at random by your supervisor", "drawn at random by you"),
]
_ADMIN = [
    ("log your clinical hours and ask your supervisor to confirm them",
     "the trainee logs clinical hours and their supervisor confirms them"),
    ("book supervision and ask your supervisor to confirm each session",
     "the trainee logs each supervision session and their supervisor confirms it"),
    ("log the training events you attend and ask your supervisor to confirm them",
     "the trainee logs the training events attended and their supervisor confirms them"),
    ("log training of these kinds and ask your supervisor to confirm it",
     "the trainee logs training of these kinds and their supervisor confirms it"),
    ("logged but not yet confirmed: ask for confirmation", "logged and awaiting the supervisor's confirmation"),
    ("ask your supervisor for a further random draw", "their supervisor may draw a further session at random"),
    ("talk to your supervisor and the training body", "the trainee, their supervisor and the training body decide"),
    ("your report awaits grading by your supervisor", "the report awaits grading by the trainee's supervisor"),
    ("Ask your supervisor to sign a statement of your competence",
     "The trainee's supervisor signs a statement of the trainee's competence"),
]
# whatever is left: the candidate's supervisor, named from outside
_LEFT = [("ask your supervisor", "ask the trainee's supervisor"), ("Ask your supervisor", "Ask the trainee's supervisor"),
         ("your supervisor", "the trainee's supervisor"), ("Your supervisor", "The trainee's supervisor")]


def reword(text: str, reader: str) -> str:
    """``text`` (written to the candidate) as ``reader`` should read it."""
    if reader not in READERS:
        raise ValueError(f"unknown reader {reader!r}")
    if reader == "self":
        return text
    for old, new in (_SUPERVISOR if reader == "supervisor" else _ADMIN) + _LEFT:
        text = text.replace(old, new)
    return text


def for_reader(readiness: Readiness, reader: str) -> Readiness:
    """A copy of ``readiness`` whose descriptions and next steps speak to ``reader``."""
    if reader == "self":
        return readiness
    reqs = [dataclasses.replace(r, description=reword(r.description, reader),
                                missing=[reword(m, reader) for m in r.missing]) for r in readiness.requirements]
    return dataclasses.replace(readiness, requirements=reqs)
