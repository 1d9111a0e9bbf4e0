"""What every fidelity module shares: the error type, rating kinds and purposes, text limits, and the instrument in use (its scale and pass rule).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional
from sqlite_utils import Database
from ..config import get_settings
from ..content import Instrument, Library, load_library
from ..store import get_setting
from .pass_rule import describe


KINDS = ("rater", "self", "gold")


PURPOSES = ("rating", "second_rating", "calibration")


DEFAULT_INSTRUMENT = "ipt-session-fidelity"


SETTING_INSTRUMENT = "fidelity_instrument"


MAX_PSEUDONYM = 60


MAX_NOTE = 2000


MAX_COMMENT = 10_000


class FidelityError(Exception):
    """Something the user can fix or must wait for; the message says what to do.

    ``missing`` lists item ids when a submission lacks scores.
    """

    def __init__(self, message: str, missing: Optional[list[str]] = None):
        super().__init__(message)
        self.missing = missing or []


_LIBRARY_CACHE: dict[tuple, Library] = {}


def _fingerprint(content_dir: Path) -> tuple:
    stamps = []
    for folder in ("rubrics", "training"):
        base = content_dir / folder
        if base.is_dir():
            stamps.extend((str(p), p.stat().st_mtime_ns) for p in sorted(base.rglob("*.y*ml")))
    return tuple(stamps)


def default_library() -> Library:
    """The content library from the configured content dir, reloaded when a file changes.

    Used when a caller (the benchmark, the CLI) does not pass ``library=``; pages pass theirs.
    """
    content_dir = get_settings().content_dir
    key = (str(content_dir), _fingerprint(content_dir))
    lib = _LIBRARY_CACHE.get(key)
    if lib is None:
        lib = load_library(content_dir)
        _LIBRARY_CACHE.clear()
        _LIBRARY_CACHE[key] = lib
    return lib


def default_instrument_id(db: Database, library: Library) -> str:
    """The instrument new ratings use: the admin's setting, else the project's, else the first."""
    chosen = get_setting(db, SETTING_INSTRUMENT, "")
    for candidate in (chosen, DEFAULT_INSTRUMENT):
        if candidate and candidate in library.instruments:
            return candidate
    if library.instruments:
        return sorted(library.instruments)[0]
    raise FidelityError("No fidelity instrument is loaded; an administrator must fix the files listed under Content status.")


def instrument_of(library: Library, instrument_id: str) -> Instrument:
    inst = library.instruments.get(instrument_id)
    if inst is None:
        raise FidelityError(
            f"The instrument '{instrument_id}' this rating uses is not loaded any more; "
            "an administrator must restore it (see Content status)."
        )
    return inst


def scale_range(library: Library, inst: Instrument) -> tuple[int, int]:
    scale = library.scales[inst.scale]
    return scale.min, scale.max


def pass_rule_text(inst: Instrument) -> str:
    """The pass rule in words, completing "a session ..." (see :mod:`.pass_rule`)."""
    return describe(inst)
