"""What a sign-in name and a password must be (issue 15, finding 18). Pure: no database.

Passwords: at least 12 characters (NIST SP 800-63B, 5.1.1.2, asks for at least 8 and for a
check against passwords known to be common; we ask for 12) and not easy to guess, judged by
zxcvbn (Wheeler 2016, "zxcvbn: Low-Budget Password Strength Estimation", USENIX Security),
which knows the common-password lists, keyboard patterns, repeats, dates and the person's own
names. A score below 3 of 4 (about 10^8 guesses or fewer) is refused with zxcvbn's reason.

Sign-in names: Unicode NFKC then case-folded (``Ana``, ``ANA`` and fullwidth ``ＡＮＡ`` are one
name), and refused when they could pass for another: invisible or control characters
(zero-width space and joiners, soft hyphen, bidi marks), spaces, or letters from more than
one script (Latin ``paul`` against ``pаul`` with a Cyrillic ``а``), after the mixed-script rule
of Unicode TS #39, 5.1 (Han may mix with Hiragana/Katakana or with Hangul).
"""

from __future__ import annotations

import unicodedata
from typing import Iterable

from zxcvbn import zxcvbn

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256  # argon2 takes any length; this bounds the strength estimate's work
MIN_PASSWORD_SCORE = 3
MAX_USERNAME_LENGTH = 64
USERNAME_PUNCTUATION = "._-@"
# words anyone attacking this platform would try first
SITE_WORDS = ("ipt", "interpersonal", "psychotherapy", "therapy", "training", "fidelity", "rater", "trainee",
              "supervisor", "admin")
# scripts that may share a name (UTS #39 "highly restrictive": Japanese and Korean writing)
_SCRIPT_SETS = ({"CJK", "HIRAGANA", "KATAKANA"}, {"CJK", "HANGUL"})


class RuleError(ValueError):
    """A name or password that breaks a rule; the message says which and what to do."""


def normalise_username(name: str) -> str:
    """The canonical form of a sign-in name: NFKC, case-folded, outer spaces removed."""
    return unicodedata.normalize("NFKC", name).casefold().strip()


def _script(ch: str) -> str:
    # the first word of a letter's Unicode name is its script: LATIN, CYRILLIC, GREEK, CJK...
    return unicodedata.name(ch, "UNKNOWN").split(" ")[0]


def check_username(name: str) -> str:
    """The normalised name, or :class:`RuleError` when it is empty, too long, holds a character
    that is invisible or not letter/digit/``._-@``, or mixes scripts."""
    raw = name.strip()
    invisible = [c for c in raw if unicodedata.category(c) in ("Cf", "Cc", "Zs", "Zl", "Zp") or c.isspace()]
    if invisible:
        label = unicodedata.name(invisible[0], f"U+{ord(invisible[0]):04X}").lower()
        raise RuleError(f"The sign-in name contains an invisible or space character ({label}); "
                        "type it again with letters, digits and . _ - @ only.")
    norm = normalise_username(raw)
    if not norm:
        raise RuleError("Give a sign-in name.")
    if len(norm) > MAX_USERNAME_LENGTH:
        raise RuleError(f"The sign-in name may have at most {MAX_USERNAME_LENGTH} characters; choose a shorter one.")
    bad = [c for c in norm if not (c.isalpha() or c in "0123456789" or c in USERNAME_PUNCTUATION)]
    if bad:
        raise RuleError(f"The sign-in name may use letters, the digits 0-9 and . _ - @ only, not {bad[0]!r}; "
                        "choose another.")
    scripts = {_script(c) for c in norm if c.isalpha()}
    if len(scripts) > 1 and not any(scripts <= allowed for allowed in _SCRIPT_SETS):
        raise RuleError(f"The sign-in name mixes letters of several alphabets ({', '.join(sorted(s.title() for s in scripts))}), "
                        "so it could pass for another name; use one alphabet.")
    return norm


def check_password(password: str, user_inputs: Iterable[str] = ()) -> None:
    """:class:`RuleError` with the reason when ``password`` is too short, too long or easy to
    guess; ``user_inputs`` (the person's name, sign-in name, e-mail) count as easy to guess."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise RuleError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters; choose a longer one "
                        "(several unrelated words are easy to remember and hard to guess).")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise RuleError(f"The password may have at most {MAX_PASSWORD_LENGTH} characters; choose a shorter one.")
    inputs = [w for text in user_inputs if text for w in _words(text)] + list(SITE_WORDS)
    # zxcvbn refuses inputs past its max_length; the first 100 characters decide the estimate
    result = zxcvbn(password[:100], user_inputs=inputs, max_length=100)
    if result["score"] < MIN_PASSWORD_SCORE:
        feedback = result["feedback"]
        reason = feedback.get("warning") or "It is built from common words, names or patterns."
        hint = " ".join(feedback.get("suggestions") or [])
        raise RuleError(f"This password is too easy to guess: {reason.rstrip('.')}. {hint} "
                        "Choose another, for example several unrelated words.".replace("  ", " "))


def _words(text: str) -> list[str]:
    text = text.casefold()
    parts = [text] + [p for p in text.replace("@", " ").replace(".", " ").replace("-", " ").replace("_", " ").split()]
    return [p for p in dict.fromkeys(parts) if len(p) >= 3]
