"""Timed transcripts of recorded sessions: WebVTT or SRT bytes -> a list of cues (issue 4).

Parsing is done by webvtt-py (a maintained reader for WebVTT, SRT and SBV); this module adds
what a rater needs on top of it: times as float seconds (webvtt-py's ``start_in_seconds`` is
truncated to whole seconds), the speaker (a ``<v Therapist>`` voice span or a ``Therapist:``
prefix), and errors that say what is wrong and where. webvtt-py silently skips a cue whose
timing line it cannot read; we count the ``-->`` lines ourselves so such a file is refused
instead of losing cues without a word.

Pure: plain bytes in, plain dicts out, no store, no Streamlit.
"""

from __future__ import annotations

import io
import re
from typing import Optional

import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError

FORMATS = {".vtt": "vtt", ".srt": "srt"}
MAX_CUES = 20_000
MAX_TRANSCRIPT_MB = 2  # default of IPT_TRAINING_MAX_TRANSCRIPT_MB: a 3-hour session's captions fit in well under 1 MB
_SPEAKER_PREFIX = re.compile(r"^\s*([A-Z][\w .'-]{0,30}?)\s*:\s+(.*)$", re.S)
_TIMING = re.compile(r"-->")


class TranscriptError(ValueError):
    """The transcript cannot be used; the message says why and what to do."""


def format_for(file_name: str) -> str:
    """'vtt' or 'srt' from a file name's extension; refuses anything else."""
    name = (file_name or "").strip().lower()
    for ext, fmt in FORMATS.items():
        if name.endswith(ext):
            return fmt
    raise TranscriptError(
        "The transcript must be a WebVTT (.vtt) or SubRip (.srt) file; "
        f"{_display(file_name)} is neither. Export the captions as .vtt or .srt and try again."
    )


def _display(file_name: Optional[str]) -> str:
    return repr((file_name or "").replace("\\", "/").split("/")[-1][:80] or "the file")


def _seconds(stamp: str) -> float:
    """'hh:mm:ss.ttt' or 'mm:ss.ttt' (SRT's comma already normalised by webvtt-py) -> seconds."""
    parts = stamp.replace(",", ".").split(":")
    total = 0.0
    for p in parts:
        total = total * 60 + float(p)
    return round(total, 3)


def _speaker_and_text(caption) -> tuple[Optional[str], str]:
    text = " ".join(caption.text.split("\n")).strip()
    voice = getattr(caption, "voice", None)
    if voice:
        return voice.strip(), text
    m = _SPEAKER_PREFIX.match(text)
    if m:
        return m.group(1).strip(), m.group(2).strip()
    return None, text


def parse_transcript(data: bytes, file_name: str, max_bytes: int = MAX_TRANSCRIPT_MB * 1024 * 1024) -> list[dict]:
    """Parse WebVTT or SRT bytes into cues ``[{start_s, end_s, text, speaker}]``, in time order.

    Raises :class:`TranscriptError` with a sentence saying why the file was refused: larger
    than ``max_bytes`` or with more than :data:`MAX_CUES` timing lines (both checked before
    parsing, so a hostile file costs no more memory than its bytes: issue 15, finding 5), not
    UTF-8, wrong format for its extension, a cue whose timing cannot be read, a cue that ends
    before it starts, or no cues at all.
    """
    fmt = format_for(file_name)
    if not data:
        raise TranscriptError(f"The transcript {_display(file_name)} is empty; choose the file that holds the captions.")
    if len(data) > max_bytes:
        raise TranscriptError(
            f"The transcript {_display(file_name)} is {len(data) / 1048576:.1f} MB, over the limit of "
            f"{max_bytes / 1048576:.1f} MB for transcripts; upload the captions of this session only."
        )
    if data.count(b"-->") > MAX_CUES:
        raise TranscriptError(
            f"The transcript {_display(file_name)} has more than {MAX_CUES} cues, the most accepted; "
            "upload the captions of this session only."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TranscriptError(
            f"The transcript {_display(file_name)} is not UTF-8 text; save it with UTF-8 encoding and try again."
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if fmt == "vtt" and not text.lstrip("\ufeff").startswith("WEBVTT"):
        raise TranscriptError(
            f"The transcript {_display(file_name)} is not a WebVTT file: its first line must be 'WEBVTT'. "
            "Export the captions as WebVTT, or name an SRT file .srt."
        )
    try:
        parsed = webvtt.from_buffer(io.StringIO(text), format=fmt)
    except (MalformedFileError, MalformedCaptionError) as exc:
        kind = "WebVTT" if fmt == "vtt" else "SRT"
        raise TranscriptError(
            f"The transcript {_display(file_name)} could not be read as {kind} ({exc}). "
            "Check the file in a caption editor and export it again."
        ) from None
    captions = list(parsed.captions)
    timing_lines = [ln for ln in text.split("\n") if _TIMING.search(ln)]
    if len(timing_lines) != len(captions):
        bad = _first_unreadable_timing(timing_lines, captions)
        raise TranscriptError(
            f"The transcript {_display(file_name)} has a cue whose timing line cannot be read"
            + (f" ({bad!r})" if bad else "")
            + ". Times must look like 00:01:02.500 --> 00:01:05.000 (SRT: 00:01:02,500 --> 00:01:05,000)."
        )
    if not captions:
        raise TranscriptError(
            f"The transcript {_display(file_name)} holds no timed cues; a transcript needs at least one cue "
            "with a start and end time."
        )
    if len(captions) > MAX_CUES:
        raise TranscriptError(f"The transcript has {len(captions)} cues; at most {MAX_CUES} are accepted.")
    cues = []
    for n, cap in enumerate(captions, start=1):
        start, end = _seconds(cap.start), _seconds(cap.end)
        if end <= start:
            raise TranscriptError(
                f"Cue {n} of the transcript ends ({cap.end}) before or when it starts ({cap.start}); "
                "fix its times and try again."
            )
        speaker, body = _speaker_and_text(cap)
        cues.append({"start_s": start, "end_s": end, "text": body, "speaker": speaker})
    cues.sort(key=lambda c: (c["start_s"], c["end_s"]))
    return cues


def _first_unreadable_timing(lines: list[str], captions) -> Optional[str]:
    readable = {(c.start, c.end) for c in captions}
    for ln in lines:
        left, _, right = ln.partition("-->")
        key = (left.strip().replace(",", "."), right.strip().split(" ")[0].replace(",", "."))
        if not any(_same(key, r) for r in readable):
            return ln.strip()[:60]
    return None


def _same(a: tuple[str, str], b: tuple[str, str]) -> bool:
    try:
        return _seconds(a[0]) == _seconds(b[0]) and _seconds(a[1]) == _seconds(b[1])
    except ValueError:
        return False


def cue_at(cues: list[dict], time_s: float) -> Optional[int]:
    """Index of the cue playing at ``time_s`` (the last one started at or before it)."""
    best = None
    for n, cue in enumerate(cues):
        if cue["start_s"] <= time_s:
            best = n
        else:
            break
    return best


def fmt_time(seconds: float) -> str:
    """Seconds as m:ss (or h:mm:ss), for cue buttons and evidence marks."""
    s = max(0, int(round(seconds)))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"
