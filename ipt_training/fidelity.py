"""Recorded sessions, assignments, blind fidelity ratings, evidence marks, gold standard (issue 4).

Recordings are stored as files under ``settings.recordings_dir`` with content-addressed names
(``<sha256>.<ext>``); the name the user gave the file is kept only as display text and never
becomes part of a path. Metadata, ratings and evidence marks live in SQLite, and every change
to a rating is written at once, so a draft survives a refresh, a closed tab or a restart.

Who may see a session (``can_access_session``):
  * its trainee (the therapist in the recording);
  * a supervisor of that trainee;
  * anyone assigned to rate it (including gold-standard sessions assigned for calibration),
    or who already holds a rating of it;
  * an administrator.

The blind rule lives here, at the data-access layer (``ratings_visible_to``), so no page can
show what the rule hides:
  * Anyone taking part as a rater in a session (assigned to it, or holding a rater-kind
    rating of it) sees nothing of the other ratings of that session -- other raters' scores,
    the trainee's self-rating, the gold-standard rating -- until their own rating of it is
    submitted. This holds for a supervisor and for an administrator who is assigned as a
    rater too: being assigned makes you blind until you submit.
  * A supervisor who is not rating the session sees the submitted ratings of their
    supervisees' sessions (they supervise, they do not take part in the blind comparison).
  * An administrator who is not rating the session sees every submitted rating; entering the
    gold-standard rating does not blind them, because adopting the expert consensus means
    copying a submitted rating.
  * A trainee sees the raters' and the gold-standard rating of their own session once those
    are submitted AND their own self-rating is submitted: the self-rating stays as blind as
    the rater's, and both are then shown side by side (issue 4, "Self-rating").
  * Nobody ever sees another person's draft.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import random
import struct
from pathlib import Path
from typing import Any, Optional

from sqlite_utils import Database

from . import files
from .auth import User, get_user, supervisee_ids
from .config import Settings, get_settings
from .content import PHASES, PROBLEM_AREAS, Instrument, Library, load_library
from .store import audit, get_setting, now_iso, one, rows, transaction
from .transcripts import TranscriptError, fmt_time, parse_transcript

KINDS = ("rater", "self", "gold")
PURPOSES = ("rating", "second_rating", "calibration")
DEFAULT_INSTRUMENT = "ipt-session-fidelity"
SETTING_INSTRUMENT = "fidelity_instrument"
MAX_PSEUDONYM = 60
MAX_NOTE = 2000
MAX_COMMENT = 10_000

# extension -> (media type the player is told, container families the bytes may hold)
MEDIA = {
    ".mp3": ("audio/mpeg", {"mp3"}),
    ".m4a": ("audio/mp4", {"mp4"}),
    ".wav": ("audio/wav", {"wav"}),
    ".ogg": ("audio/ogg", {"ogg"}),
    ".mp4": ("video/mp4", {"mp4"}),
    ".webm": ("video/webm", {"webm"}),
}
_STORED_NAME = files.stored_name_pattern(("mp3", "m4a", "wav", "ogg", "mp4", "webm"))


class FidelityError(Exception):
    """Something the user can fix or must wait for; the message says what to do.

    ``missing`` lists item ids when a submission lacks scores.
    """

    def __init__(self, message: str, missing: Optional[list[str]] = None):
        super().__init__(message)
        self.missing = missing or []


# --- content -----------------------------------------------------------------------------

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
    rule = inst.pass_rule
    return (f"passes with a mean of {rule.threshold:g} or more over the items scored "
            f"(N/A items left out), with at least {rule.min_applicable_items} item(s) scored")


# --- recordings: type, size and integrity checks -------------------------------------------


def _fmt_mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def safe_display_name(file_name: str) -> str:
    """The user's file name reduced to a harmless display string (never used as a path)."""
    base = (file_name or "").replace("\\", "/").split("/")[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[:120] or "recording"


def extension_of(file_name: str) -> str:
    base = safe_display_name(file_name).lower()
    return os.path.splitext(base)[1]


def sniff_container(data: bytes) -> Optional[str]:
    """The container the bytes hold, from their magic numbers: mp3, mp4, wav, ogg, webm or None."""
    if data[:3] == b"ID3":
        return "mp3"
    if len(data) >= 2 and data[0] == 0xFF and (data[1] & 0xE0) == 0xE0 and ((data[1] >> 1) & 0x3) != 0:
        return "mp3"
    if len(data) >= 12 and data[4:8] == b"ftyp":
        return "mp4"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:4] == b"OggS":
        return "ogg"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    return None


_MP3_BITRATES = {  # kbit/s for (MPEG version 1?, layer III)
    True: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0],
    False: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0],
}
_MP3_RATES = {3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000]}


def _check_mp3(data: bytes) -> Optional[str]:
    pos = 0
    if data[:3] == b"ID3":
        if len(data) < 10:
            return "its ID3 tag is cut off"
        size = 0
        for b in data[6:10]:
            size = (size << 7) | (b & 0x7F)
        pos = 10 + size + (10 if data[5] & 0x10 else 0)
        if pos >= len(data):
            return "it ends inside its ID3 tag, before any audio"
    # find the first frame header within a short window after the tag
    window = data[pos:pos + 4096]
    for off in range(max(0, len(window) - 3)):
        b0, b1, b2 = window[off], window[off + 1], window[off + 2]
        if b0 != 0xFF or (b1 & 0xE0) != 0xE0:
            continue
        version, layer = (b1 >> 3) & 0x3, (b1 >> 1) & 0x3
        bitrate_ix, rate_ix = b2 >> 4, (b2 >> 2) & 0x3
        if version == 1 or layer == 0 or bitrate_ix in (0, 15) or rate_ix == 3:
            continue
        if layer != 1:  # not layer III: a valid header is all we check
            return None
        mpeg1 = version == 3
        bitrate = _MP3_BITRATES[mpeg1][bitrate_ix] * 1000
        rate = _MP3_RATES[version][rate_ix]
        frame = (144 if mpeg1 else 72) * bitrate // rate + ((b2 >> 1) & 1)
        if pos + off + frame > len(data):
            return "its first audio frame is cut off"
        return None
    return "no MPEG audio frame follows the header"


def _check_wav(data: bytes) -> Optional[str]:
    if len(data) < 44:
        return "it is shorter than a WAV header"
    declared = struct.unpack("<I", data[4:8])[0] + 8
    if declared > len(data):
        return f"its header declares {declared} bytes but the file has {len(data)}"
    pos, seen = 12, set()
    while pos + 8 <= min(declared, len(data)):
        chunk, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        seen.add(chunk)
        if chunk == b"data" and pos + 8 + size > len(data):
            return "its audio data is cut off"
        pos += 8 + size + (size & 1)
    if b"fmt " not in seen or b"data" not in seen:
        return "it lacks the 'fmt ' or 'data' chunk of a WAV file"
    return None


def _check_ogg(data: bytes) -> Optional[str]:
    pos, pages, last_flags = 0, 0, 0
    while pos < len(data):
        if data[pos:pos + 4] != b"OggS" or pos + 27 > len(data):
            return "an Ogg page is cut off or damaged"
        n_seg = data[pos + 26]
        if pos + 27 + n_seg > len(data):
            return "an Ogg page header is cut off"
        body = sum(data[pos + 27:pos + 27 + n_seg])
        last_flags = data[pos + 5]
        pos += 27 + n_seg + body
        pages += 1
        if pos > len(data):
            return "the last Ogg page is cut off"
    if pages < 2:
        return "it holds no audio after the Ogg header"
    if not last_flags & 0x04:
        return "it ends before the end-of-stream page"
    return None


def _check_mp4(data: bytes) -> Optional[str]:
    pos, boxes = 0, set()
    while pos < len(data):
        if pos + 8 > len(data):
            return "a box header is cut off"
        size = struct.unpack(">I", data[pos:pos + 4])[0]
        kind = data[pos + 4:pos + 8]
        header = 8
        if size == 1:
            if pos + 16 > len(data):
                return "a box header is cut off"
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
            header = 16
        elif size == 0:
            size = len(data) - pos
        if size < header:
            return "a box has an impossible size"
        boxes.add(kind)
        pos += size
        if pos > len(data):
            return f"its '{kind.decode('latin-1')}' box is cut off"
    if b"moov" not in boxes:
        return "it has no 'moov' box (the index of the media)"
    return None


def _ebml_vint(data: bytes, pos: int, strip: bool) -> tuple[Optional[int], int]:
    if pos >= len(data):
        return None, pos
    first = data[pos]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8 or pos + length > len(data):
        return None, pos
    value = first & ((0xFF >> length) if strip else 0xFF)
    for b in data[pos + 1:pos + length]:
        value = (value << 8) | b
    return value, pos + length


def _check_webm(data: bytes) -> Optional[str]:
    _, pos = _ebml_vint(data, 0, strip=False)
    size, pos = _ebml_vint(data, pos, strip=True)
    if size is None or pos + size > len(data):
        return "its EBML header is cut off"
    pos += size
    seg_id, p2 = _ebml_vint(data, pos, strip=False)
    if seg_id != 0x18538067:
        return "no media segment follows the header"
    seg_size, start = _ebml_vint(data, p2, strip=True)
    if seg_size is None:
        return "the segment header is cut off"
    unknown = seg_size == (1 << (7 * (start - p2))) - 1
    if not unknown and start + seg_size > len(data):
        return "its media segment is cut off"
    if start >= len(data):
        return "it holds no media after the header"
    return None


_CHECKS = {"mp3": _check_mp3, "wav": _check_wav, "ogg": _check_ogg, "mp4": _check_mp4, "webm": _check_webm}


def check_recording(file_name: str, data: bytes, max_bytes: int) -> tuple[str, str]:
    """Refuse a recording of the wrong type, too large, empty or cut off.

    Returns ``(extension, media_type)``. The type is checked twice: by the file name's
    extension, and by the bytes (magic numbers and the container's own structure), so a
    renamed document or a half-uploaded file is refused with the reason.
    """
    ext = extension_of(file_name)
    shown = safe_display_name(file_name)
    allowed = ", ".join(e.lstrip(".") for e in MEDIA)
    if ext not in MEDIA:
        raise FidelityError(
            f"'{shown}' is not a recording type the platform accepts; upload an audio or video file "
            f"ending in {allowed}."
        )
    if not data:
        raise FidelityError(f"'{shown}' is empty (0 bytes); choose the recording file again.")
    if len(data) > max_bytes:
        raise FidelityError(
            f"'{shown}' is {_fmt_mb(len(data))}, over the limit of {_fmt_mb(max_bytes)}; "
            "upload a shorter segment or a more compressed file."
        )
    media_type, families = MEDIA[ext]
    found = sniff_container(data)
    if found not in families:
        what = f"holds {found} data" if found else "does not hold audio or video data of a known kind"
        raise FidelityError(
            f"'{shown}' is named {ext} but {what}; upload the original {ext.lstrip('.')} recording "
            "(renaming a file does not convert it)."
        )
    problem = _CHECKS[found](data)
    if problem:
        raise FidelityError(
            f"'{shown}' seems truncated or damaged: {problem}. Upload the complete file again."
        )
    return ext, media_type


def _store_file(settings: Settings, digest: str, ext: str, data: bytes) -> str:
    """Write the bytes as ``<sha256><ext>`` under the recordings dir (atomically); return the name."""
    return files.store(settings.recordings_dir, data, ext, _STORED_NAME)


def _recording_path(settings: Settings, stored_name: Optional[str]) -> Optional[Path]:
    return files.stored_path(settings.recordings_dir, stored_name, _STORED_NAME)


# --- sessions ----------------------------------------------------------------------------


def _clean_metadata(metadata: dict) -> dict:
    pseudonym = str(metadata.get("case_pseudonym") or "").strip()
    if not pseudonym:
        raise FidelityError("Give the case a pseudonym (for example 'Case A'); never the client's real name.")
    if len(pseudonym) > MAX_PSEUDONYM:
        raise FidelityError(f"Keep the case pseudonym under {MAX_PSEUDONYM} characters.")
    try:
        number = int(metadata.get("session_number"))
    except (TypeError, ValueError):
        raise FidelityError("Give the session number as a whole number, 1 for the first session.") from None
    if number < 1 or number > 200:
        raise FidelityError("The session number must be between 1 and 200.")
    phase = metadata.get("phase")
    if phase not in PHASES:
        raise FidelityError(f"Choose the phase of the session: {', '.join(PHASES)}.")
    area = metadata.get("problem_area")
    if area not in PROBLEM_AREAS:
        raise FidelityError(f"Choose the problem area: {', '.join(PROBLEM_AREAS)}.")
    notes = str(metadata.get("notes") or "").strip()[:MAX_NOTE]
    return {"case_pseudonym": pseudonym, "session_number": number, "phase": phase, "problem_area": area, "notes": notes}


def trainees_for_upload(db: Database, actor: User) -> list[dict]:
    """Whose sessions ``actor`` may add: self (trainee), supervisees (supervisor), all (admin)."""
    if actor.has("admin"):
        ids = None
    else:
        ids = set(supervisee_ids(db, actor.id)) if actor.has("supervisor") else set()
        if actor.has("trainee"):
            ids.add(actor.id)
    people = rows(db, """SELECT u.id, u.username, u.display_name FROM users u JOIN user_roles r ON r.user_id = u.id
                         WHERE r.role = 'trainee' AND u.active = 1 ORDER BY u.display_name""")
    return [p for p in people if ids is None or p["id"] in ids]


def add_session(db: Database, settings: Settings, actor: User, trainee_id: int, file_name: str, data: bytes,
                transcript_name: Optional[str], transcript_bytes: Optional[bytes], metadata: dict,
                consent: bool) -> int:
    """Add a recorded session; returns its id. Every refusal is a :class:`FidelityError` sentence."""
    if not consent:
        raise FidelityError(
            "Tick the box confirming that the client consented to the recording and that it holds no "
            "identifying details; the session was not added."
        )
    if trainee_id not in {p["id"] for p in trainees_for_upload(db, actor)}:
        raise FidelityError("You can add sessions only for yourself (trainee) or your supervisees (supervisor).")
    meta = _clean_metadata(metadata)
    ext, media_type = check_recording(file_name, data, settings.max_upload_bytes)
    cues = None
    if transcript_bytes is not None or transcript_name:
        try:
            cues = parse_transcript(transcript_bytes or b"", transcript_name or "")
        except TranscriptError as exc:
            raise FidelityError(f"{exc} The session was not added.") from None
    digest = hashlib.sha256(data).hexdigest()
    stored = _store_file(settings, digest, ext, data)
    case = one(db, "SELECT id FROM clinical_cases WHERE trainee_id = ? AND pseudonym = ?",
               (trainee_id, meta["case_pseudonym"]))
    with transaction(db):
        sid = db.conn.execute(
            """INSERT INTO recorded_sessions (trainee_id, added_by, case_pseudonym, case_id, session_number, phase,
                   problem_area, recording_file, recording_sha256, media_type, original_name, size_bytes, transcript,
                   consent_confirmed, notes, created_at)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,1,?,?)""",
            (trainee_id, actor.id, meta["case_pseudonym"], case["id"] if case else None, meta["session_number"],
             meta["phase"], meta["problem_area"], stored, digest, media_type, safe_display_name(file_name), len(data),
             json.dumps({"cues": cues}) if cues is not None else None, meta["notes"], now_iso()),
        ).lastrowid
        audit(db, actor.id, "add_session", "recorded_session", sid,
              {"trainee_id": trainee_id, "sha256": digest, "size": len(data), "transcript": cues is not None})
    return sid


def _session(db: Database, session_id: int) -> dict:
    row = one(db, """SELECT s.*, t.display_name AS trainee_name FROM recorded_sessions s
                     JOIN users t ON t.id = s.trainee_id WHERE s.id = ?""", (int(session_id),))
    if row is None:
        raise FidelityError("That session does not exist (it may have been removed); choose another one.")
    return row


def session_label(s: dict) -> str:
    area = PROBLEM_AREAS.get(s["problem_area"], s["problem_area"])
    deleted = " [recording deleted]" if s.get("deleted_at") else ""
    return f"{s['case_pseudonym']}, session {s['session_number']} ({s['phase']}, {area}){deleted}"


def _is_participant(db: Database, user_id: int, session_id: int) -> bool:
    return one(db, """SELECT 1 AS x FROM assignments WHERE session_id = ? AND rater_id = ?
                      UNION SELECT 1 FROM ratings WHERE session_id = ? AND rater_id = ? AND kind = 'rater'""",
               (session_id, user_id, session_id, user_id)) is not None


def can_access_session(db: Database, user: User, session: dict) -> bool:
    if user.has("admin") or session["trainee_id"] == user.id:
        return True
    if user.has("supervisor") and session["trainee_id"] in supervisee_ids(db, user.id):
        return True
    return one(db, """SELECT 1 AS x FROM assignments WHERE session_id = ? AND rater_id = ?
                      UNION SELECT 1 FROM ratings WHERE session_id = ? AND rater_id = ?""",
               (session["id"], user.id, session["id"], user.id)) is not None


def get_session(db: Database, user: User, session_id: int) -> dict:
    """A session's metadata (with parsed transcript cues), if ``user`` may see it."""
    s = _session(db, session_id)
    if not can_access_session(db, user, s):
        raise FidelityError("You do not have access to this session; it is not yours and not assigned to you.")
    out = {k: v for k, v in s.items() if k not in ("transcript", "recording_file")}
    out["label"] = session_label(s)
    out["has_recording"] = bool(s["recording_file"]) and not s["deleted_at"]
    out["cues"] = json.loads(s["transcript"])["cues"] if s["transcript"] else []
    return out


def accessible_sessions(db: Database, user: User, include_deleted: bool = True) -> list[dict]:
    """Every session ``user`` may see, newest first, with a label."""
    deleted = "" if include_deleted else "AND s.deleted_at IS NULL"
    if user.has("admin"):
        where, params = "1 = 1", ()
    else:
        sup = ",".join(str(i) for i in supervisee_ids(db, user.id)) if user.has("supervisor") else ""
        where = f"""(s.trainee_id = ? OR s.trainee_id IN ({sup or 'NULL'})
                    OR EXISTS (SELECT 1 FROM assignments a WHERE a.session_id = s.id AND a.rater_id = ?)
                    OR EXISTS (SELECT 1 FROM ratings r WHERE r.session_id = s.id AND r.rater_id = ?))"""
        params = (user.id, user.id, user.id)
    out = rows(db, f"""SELECT s.id, s.trainee_id, t.display_name AS trainee_name, s.case_pseudonym, s.session_number,
                              s.phase, s.problem_area, s.is_gold_standard, s.created_at, s.deleted_at, s.size_bytes,
                              s.original_name, s.media_type, (s.transcript IS NOT NULL) AS has_transcript
                       FROM recorded_sessions s JOIN users t ON t.id = s.trainee_id
                       WHERE {where} {deleted} ORDER BY s.created_at DESC, s.id DESC""", params)
    for s in out:
        s["label"] = session_label(s)
    return out


def recording_bytes(db: Database, settings: Settings, user: User, session_id: int) -> tuple[bytes, str]:
    """The recording's bytes and media type, for a user who may see it. Every call is audited
    as ``view_recording``: the player asks once per opening of a recording."""
    s = _session(db, session_id)
    if not can_access_session(db, user, s):
        raise FidelityError("You do not have access to this recording.")
    if s["deleted_at"] or not s["recording_file"]:
        raise FidelityError("The recording of this session was deleted by an administrator; its ratings remain.")
    path = _recording_path(settings, s["recording_file"])
    if path is None or not path.is_file():
        raise FidelityError("The recording file is missing from the data directory; ask an administrator to restore it.")
    data = path.read_bytes()
    with transaction(db):
        audit(db, user.id, "view_recording", "recorded_session", s["id"], {"sha256": s["recording_sha256"]})
    return data, s["media_type"]


def delete_recording(db: Database, settings: Settings, admin: User, session_id: int, reason: str = "") -> None:
    """Admin only: delete the recording (and transcript) of a session. Ratings and evidence marks
    stay and are shown as ratings of a deleted recording. The file goes when no other session uses it."""
    if not admin.has("admin"):
        raise FidelityError("Only an administrator can delete a recording.")
    s = _session(db, session_id)
    if s["deleted_at"]:
        raise FidelityError("This recording is already deleted.")
    with transaction(db):
        db.conn.execute("""UPDATE recorded_sessions SET deleted_at = ?, deleted_by = ?, recording_file = NULL,
                           transcript = NULL WHERE id = ?""", (now_iso(), admin.id, s["id"]))
        still_used = one(db, "SELECT 1 AS x FROM recorded_sessions WHERE recording_file = ? AND deleted_at IS NULL",
                         (s["recording_file"],)) is not None
        audit(db, admin.id, "delete_recording", "recorded_session", s["id"],
              {"sha256": s["recording_sha256"], "file_removed": not still_used, "reason": reason.strip()})
    path = _recording_path(settings, s["recording_file"])
    if path is not None and not still_used and path.exists():
        path.unlink()


def all_sessions_admin(db: Database, admin: User) -> list[dict]:
    """Admin: every session with its file facts and how many ratings it holds."""
    if not admin.has("admin"):
        raise FidelityError("Only an administrator can list every recording.")
    out = rows(db, """SELECT s.id, t.display_name AS trainee, s.case_pseudonym, s.session_number, s.phase,
                             s.problem_area, s.is_gold_standard, s.original_name, s.size_bytes, s.media_type,
                             s.created_at, s.deleted_at,
                             (SELECT COUNT(*) FROM ratings r WHERE r.session_id = s.id) AS ratings
                      FROM recorded_sessions s JOIN users t ON t.id = s.trainee_id ORDER BY s.id DESC""")
    for s in out:
        s["label"] = session_label(s)
    return out


# --- assignments -------------------------------------------------------------------------


def _due(due_date: Any) -> Optional[str]:
    if due_date in (None, ""):
        return None
    if isinstance(due_date, _dt.datetime):
        return due_date.date().isoformat()
    if isinstance(due_date, _dt.date):
        return due_date.isoformat()
    try:
        return _dt.date.fromisoformat(str(due_date).strip()[:10]).isoformat()
    except ValueError:
        raise FidelityError(f"{due_date!r} is not a date; give the due date as YYYY-MM-DD.") from None


def raters(db: Database) -> list[dict]:
    """People who can be assigned to rate: rater or supervisor role, active."""
    return rows(db, """SELECT DISTINCT u.id, u.username, u.display_name FROM users u JOIN user_roles r ON r.user_id = u.id
                       WHERE r.role IN ('rater', 'supervisor') AND u.active = 1 ORDER BY u.display_name""")


def assignable_sessions(db: Database, actor: User) -> list[dict]:
    """Sessions ``actor`` may assign: all (admin) or their supervisees' (supervisor); not deleted."""
    if actor.has("admin"):
        return accessible_sessions(db, actor, include_deleted=False)
    if not actor.has("supervisor"):
        return []
    mine = set(supervisee_ids(db, actor.id))
    return [s for s in accessible_sessions(db, actor, include_deleted=False) if s["trainee_id"] in mine]


def assign(db: Database, actor: User, session_id: int, rater_id: int, due_date: Any = None,
           purpose: str = "rating") -> int:
    """Assign a session to a rater; returns the assignment id."""
    if not actor.has("supervisor", "admin"):
        raise FidelityError("Only a supervisor or an administrator can assign sessions.")
    if purpose not in PURPOSES:
        raise FidelityError(f"Choose the purpose of the assignment: {', '.join(PURPOSES)}.")
    s = _session(db, session_id)
    if s["deleted_at"]:
        raise FidelityError("The recording of this session was deleted; it cannot be assigned.")
    if not actor.has("admin") and s["trainee_id"] not in supervisee_ids(db, actor.id):
        raise FidelityError("You can assign only your supervisees' sessions; ask an administrator for others.")
    if purpose == "calibration" and not s["is_gold_standard"]:
        raise FidelityError("Only a gold-standard session can be assigned for calibration; mark it first.")
    rater = get_user(db, int(rater_id))
    if rater is None or not rater.active or not rater.has("rater", "supervisor"):
        raise FidelityError("Choose a rater: the person must hold the rater or supervisor role.")
    if rater.id == s["trainee_id"]:
        raise FidelityError("A trainee cannot rate their own session as a rater; the self-rating is for that.")
    if one(db, "SELECT 1 AS x FROM assignments WHERE session_id = ? AND rater_id = ?", (s["id"], rater.id)):
        raise FidelityError(f"{rater.display_name} is already assigned to this session.")
    due = _due(due_date)
    with transaction(db):
        aid = db.conn.execute(
            "INSERT INTO assignments (session_id, rater_id, assigned_by, due_date, purpose, created_at) VALUES (?,?,?,?,?,?)",
            (s["id"], rater.id, actor.id, due, purpose, now_iso()),
        ).lastrowid
        audit(db, actor.id, "assign_rating", "recorded_session", s["id"],
              {"rater_id": rater.id, "due_date": due, "purpose": purpose})
    return aid


def assign_random_second_ratings(db: Database, actor: User, cohort_id: int, share: float = 0.20,
                                 rng_seed: Optional[int] = None, due_date: Any = None) -> list[dict]:
    """Pick a random ``share`` of the cohort's sessions that have exactly one rater and assign
    each to a different rater for an independent second rating.

    The number picked is ``ceil(share * eligible)``; the second rater is the eligible rater
    (not the first rater, not the trainee) with the fewest open assignments, ties broken at
    random. Returns the new assignments ``[{assignment_id, session_id, rater_id}]``.
    """
    if not actor.has("supervisor", "admin"):
        raise FidelityError("Only a supervisor or an administrator can ask for second ratings.")
    if not (0 < float(share) <= 1):
        raise FidelityError("The share of sessions to double-rate must be between 1 % and 100 %.")
    allowed = {s["id"] for s in assignable_sessions(db, actor)}
    eligible = rows(db, """
        SELECT s.id, s.trainee_id, MIN(a.rater_id) AS first_rater FROM recorded_sessions s
        JOIN assignments a ON a.session_id = s.id
        WHERE s.deleted_at IS NULL AND s.is_gold_standard = 0
          AND s.trainee_id IN (SELECT user_id FROM cohort_members WHERE cohort_id = ?)
        GROUP BY s.id HAVING COUNT(DISTINCT a.rater_id) = 1 ORDER BY s.id""", (int(cohort_id),))
    eligible = [e for e in eligible if e["id"] in allowed]
    if not eligible:
        raise FidelityError("No session of this cohort has exactly one rater yet; assign first ratings first.")
    rng = random.Random(rng_seed)
    k = min(len(eligible), math.ceil(float(share) * len(eligible) - 1e-9))
    picked = rng.sample(eligible, k)
    pool = raters(db)
    load = {r["rater_id"]: r["n"] for r in rows(db, """
        SELECT a.rater_id, COUNT(*) AS n FROM assignments a WHERE NOT EXISTS (SELECT 1 FROM ratings r
        WHERE r.session_id = a.session_id AND r.rater_id = a.rater_id AND r.kind = 'rater' AND r.status = 'submitted')
        GROUP BY a.rater_id""")}
    due = _due(due_date)
    made = []
    with transaction(db):
        for s in sorted(picked, key=lambda e: e["id"]):
            options = [p for p in pool if p["id"] not in (s["first_rater"], s["trainee_id"])]
            if not options:
                continue
            rng.shuffle(options)
            chosen = min(options, key=lambda p: load.get(p["id"], 0))
            aid = db.conn.execute(
                "INSERT INTO assignments (session_id, rater_id, assigned_by, due_date, purpose, created_at) VALUES (?,?,?,?,?,?)",
                (s["id"], chosen["id"], actor.id, due, "second_rating", now_iso()),
            ).lastrowid
            load[chosen["id"]] = load.get(chosen["id"], 0) + 1
            made.append({"assignment_id": aid, "session_id": s["id"], "rater_id": chosen["id"]})
        audit(db, actor.id, "assign_second_ratings", "cohort", cohort_id,
              {"share": share, "eligible": len(eligible), "assigned": [m["session_id"] for m in made], "seed": rng_seed})
    if not made:
        raise FidelityError("No other rater is available for a second rating; add raters first.")
    return made


def _status_of(rating_status: Optional[str]) -> str:
    return rating_status or "not started"


def rater_queue(db: Database, rater: User) -> list[dict]:
    """The sessions assigned to ``rater``: open ones first by due date, then submitted ones."""
    out = rows(db, """
        SELECT a.id AS assignment_id, a.session_id, a.due_date, a.purpose, a.created_at AS assigned_at,
               s.case_pseudonym, s.session_number, s.phase, s.problem_area, s.deleted_at, s.is_gold_standard,
               t.display_name AS trainee_name, r.id AS rating_id, r.status AS rating_status, r.submitted_at
        FROM assignments a JOIN recorded_sessions s ON s.id = a.session_id JOIN users t ON t.id = s.trainee_id
        LEFT JOIN ratings r ON r.session_id = a.session_id AND r.rater_id = a.rater_id AND r.kind = 'rater'
        WHERE a.rater_id = ?""", (rater.id,))
    today = _dt.date.today().isoformat()
    for q in out:
        q["status"] = _status_of(q["rating_status"])
        q["label"] = session_label(q)
        q["overdue"] = bool(q["due_date"] and q["due_date"] < today and q["status"] != "submitted")
    out.sort(key=lambda q: (q["status"] == "submitted", q["due_date"] or "9999-12-31", q["session_id"]))
    return out


def list_assignments(db: Database, actor: User) -> list[dict]:
    """Assignments ``actor`` may see: all (admin); supervisees' sessions and own (supervisor)."""
    if not actor.has("supervisor", "admin"):
        raise FidelityError("Only a supervisor or an administrator can list assignments.")
    out = rows(db, """
        SELECT a.id, a.session_id, a.rater_id, u.display_name AS rater, a.due_date, a.purpose, a.created_at,
               s.trainee_id, t.display_name AS trainee, s.case_pseudonym, s.session_number, s.phase, s.problem_area,
               s.deleted_at, r.status AS rating_status
        FROM assignments a JOIN recorded_sessions s ON s.id = a.session_id JOIN users u ON u.id = a.rater_id
        JOIN users t ON t.id = s.trainee_id
        LEFT JOIN ratings r ON r.session_id = a.session_id AND r.rater_id = a.rater_id AND r.kind = 'rater'
        ORDER BY a.created_at DESC, a.id DESC""")
    if not actor.has("admin"):
        mine = set(supervisee_ids(db, actor.id))
        out = [a for a in out if a["trainee_id"] in mine or a["rater_id"] == actor.id]
    for a in out:
        a["status"] = _status_of(a["rating_status"])
        a["label"] = session_label(a)
    return out


# --- ratings -----------------------------------------------------------------------------


def _rating(db: Database, rating_id: int) -> dict:
    row = one(db, "SELECT * FROM ratings WHERE id = ?", (int(rating_id),))
    if row is None:
        raise FidelityError("That rating does not exist; open the session again from your queue.")
    return row


def _may_edit(user: User, rating: dict) -> bool:
    return rating["rater_id"] == user.id or (rating["kind"] == "gold" and user.has("admin"))


def _editable(db: Database, user: User, rating_id: int) -> dict:
    r = _rating(db, rating_id)
    if not _may_edit(user, r):
        raise FidelityError("This rating belongs to someone else; you can change only your own.")
    if r["status"] != "draft":
        raise FidelityError("This rating is submitted and locked; a supervisor can reopen it with a reason.")
    return r


def get_or_create_draft(db: Database, user: User, session_id: int, kind: str, *,
                        library: Optional[Library] = None) -> dict:
    """The user's rating of the session of this kind (created as a draft when missing).

    kind 'rater' needs an assignment to the session; 'self' needs the session to be the
    user's own; 'gold' needs an administrator (one gold rating per session, shared by admins).
    """
    if kind not in KINDS:
        raise FidelityError(f"Unknown kind of rating {kind!r}; choose rater, self or gold.")
    s = _session(db, session_id)
    if kind == "gold":
        if not user.has("admin"):
            raise FidelityError("Only an administrator can enter the gold-standard rating.")
        if not s["is_gold_standard"]:
            raise FidelityError("Mark the session as a gold-standard (calibration) session first.")
        existing = one(db, "SELECT * FROM ratings WHERE session_id = ? AND kind = 'gold' ORDER BY id LIMIT 1", (s["id"],))
    else:
        existing = one(db, "SELECT * FROM ratings WHERE session_id = ? AND rater_id = ? AND kind = ?",
                       (s["id"], user.id, kind))
    if existing:
        return existing
    if kind == "rater":
        if not one(db, "SELECT 1 AS x FROM assignments WHERE session_id = ? AND rater_id = ?", (s["id"], user.id)):
            raise FidelityError("This session is not assigned to you; only assigned raters can rate it.")
    elif kind == "self" and s["trainee_id"] != user.id:
        raise FidelityError("Only the trainee whose session this is can self-rate it.")
    if s["deleted_at"]:
        raise FidelityError("The recording of this session was deleted; a new rating cannot be started.")
    library = library or default_library()
    inst = instrument_of(library, default_instrument_id(db, library))
    now = now_iso()
    with transaction(db):
        db.conn.execute(
            """INSERT OR IGNORE INTO ratings (session_id, rater_id, kind, instrument_id, instrument_hash, status,
                   comment, created_at, updated_at) VALUES (?,?,?,?,?,'draft','',?,?)""",
            (s["id"], user.id, kind, inst.id, inst.content_hash, now, now),
        )
        row = one(db, "SELECT * FROM ratings WHERE session_id = ? AND rater_id = ? AND kind = ?", (s["id"], user.id, kind))
        audit(db, user.id, "start_rating", "rating", row["id"], {"session_id": s["id"], "kind": kind})
    return row


def _applicable(inst: Instrument, session: dict):
    return inst.applicable_items(session["phase"], session["problem_area"])


def _touch(db: Database, rating_id: int) -> None:
    db.conn.execute("UPDATE ratings SET updated_at = ? WHERE id = ?", (now_iso(), rating_id))


def save_item(db: Database, user: User, rating_id: int, item_id: str, score: Optional[int],
              not_applicable: bool, reason: Optional[str] = None, *, library: Optional[Library] = None) -> None:
    """Save one item of a draft at once: a score on the instrument's scale, or N/A, or (both
    empty) clear it. Refuses out-of-range scores and items that do not apply to the session."""
    library = library or default_library()
    r = _editable(db, user, rating_id)
    inst = instrument_of(library, r["instrument_id"])
    s = _session(db, r["session_id"])
    known = {it.id: it for it in inst.items}
    if item_id not in known:
        raise FidelityError(f"'{item_id}' is not an item of {inst.name}; reload the page.")
    if item_id not in {it.id for it in _applicable(inst, s)}:
        raise FidelityError(
            f"Item '{item_id}' does not apply to a {s['phase']}-phase session on "
            f"{PROBLEM_AREAS.get(s['problem_area'], s['problem_area'])}; it is not rated for this session."
        )
    lo, hi = scale_range(library, inst)
    if not_applicable and score is not None:
        raise FidelityError("An item is either scored or marked N/A, not both; choose one.")
    if score is not None:
        if isinstance(score, bool) or not isinstance(score, (int, float)) or float(score) != int(score):
            raise FidelityError(f"Scores are whole numbers from {lo} to {hi}; {score!r} is not one.")
        score = int(score)
        if not lo <= score <= hi:
            raise FidelityError(
                f"A score of {score} is outside the scale ({lo} to {hi}); choose a whole number from {lo} to {hi}, "
                "or N/A if the session gave no occasion for this item."
            )
    reason = (reason or "").strip()[:MAX_NOTE] or None
    with transaction(db):
        if score is None and not not_applicable and not reason:
            # cleared: keep a gold reason already written, drop the row otherwise
            db.conn.execute("UPDATE item_scores SET score = NULL, not_applicable = 0 WHERE rating_id = ? AND item_id = ?",
                            (r["id"], item_id))
            db.conn.execute("""DELETE FROM item_scores WHERE rating_id = ? AND item_id = ? AND reason IS NULL""",
                            (r["id"], item_id))
        else:
            db.conn.execute(
                """INSERT INTO item_scores (rating_id, item_id, score, not_applicable, reason) VALUES (?,?,?,?,?)
                   ON CONFLICT(rating_id, item_id) DO UPDATE SET score = excluded.score,
                   not_applicable = excluded.not_applicable,
                   reason = COALESCE(excluded.reason, item_scores.reason)""",
                (r["id"], item_id, score, int(bool(not_applicable)), reason),
            )
        _touch(db, r["id"])


def set_item_reason(db: Database, user: User, rating_id: int, item_id: str, reason: str) -> None:
    """Save the reason for one item (used for the gold-standard rating's per-item reasons)."""
    r = _editable(db, user, rating_id)
    with transaction(db):
        db.conn.execute(
            """INSERT INTO item_scores (rating_id, item_id, score, not_applicable, reason) VALUES (?,?,NULL,0,?)
               ON CONFLICT(rating_id, item_id) DO UPDATE SET reason = excluded.reason""",
            (r["id"], item_id, reason.strip()[:MAX_NOTE] or None),
        )
        _touch(db, r["id"])


def add_evidence_mark(db: Database, user: User, rating_id: int, time_s: float, item_id: Optional[str] = None,
                      note: str = "", *, library: Optional[Library] = None) -> int:
    """A moment in the recording (seconds from the start), optionally tied to an item, with a note."""
    r = _editable(db, user, rating_id)
    try:
        t = float(time_s)
    except (TypeError, ValueError):
        raise FidelityError("Give the time of the evidence mark in seconds from the start of the recording.") from None
    if not math.isfinite(t) or t < 0:
        raise FidelityError("The time of an evidence mark cannot be negative; use seconds from the start.")
    if item_id:
        library = library or default_library()
        inst = instrument_of(library, r["instrument_id"])
        if item_id not in {it.id for it in _applicable(inst, _session(db, r["session_id"]))}:
            raise FidelityError(f"Item '{item_id}' does not apply to this session; choose another item or none.")
    with transaction(db):
        mid = db.conn.execute(
            "INSERT INTO evidence_marks (rating_id, time_s, item_id, note, created_at) VALUES (?,?,?,?,?)",
            (r["id"], round(t, 3), item_id or None, (note or "").strip()[:MAX_NOTE], now_iso()),
        ).lastrowid
        _touch(db, r["id"])
    return mid


def delete_evidence_mark(db: Database, user: User, mark_id: int) -> None:
    m = one(db, "SELECT * FROM evidence_marks WHERE id = ?", (int(mark_id),))
    if m is None:
        raise FidelityError("That evidence mark is already gone.")
    _editable(db, user, m["rating_id"])
    with transaction(db):
        db.conn.execute("DELETE FROM evidence_marks WHERE id = ?", (m["id"],))
        _touch(db, m["rating_id"])


def set_comment(db: Database, user: User, rating_id: int, text: str) -> None:
    r = _editable(db, user, rating_id)
    with transaction(db):
        db.conn.execute("UPDATE ratings SET comment = ?, updated_at = ? WHERE id = ?",
                        ((text or "")[:MAX_COMMENT], now_iso(), r["id"]))


def _scores(db: Database, rating_id: int) -> dict[str, dict]:
    return {r["item_id"]: r for r in rows(db, "SELECT item_id, score, not_applicable, reason FROM item_scores WHERE rating_id = ?",
                                           (rating_id,))}


def _marks(db: Database, rating_id: int) -> list[dict]:
    out = rows(db, "SELECT id, time_s, item_id, note, created_at FROM evidence_marks WHERE rating_id = ? ORDER BY time_s, id",
               (rating_id,))
    for m in out:
        m["time"] = fmt_time(m["time_s"])
    return out


def score_rating(inst: Instrument, session: dict, scores: dict[str, dict]) -> dict:
    """Pure: which applicable items are missing, the mean of scored items and pass/fail."""
    applicable = _applicable(inst, session)
    missing = [it.id for it in applicable
               if it.id not in scores or (scores[it.id]["score"] is None and not scores[it.id]["not_applicable"])]
    scored = [scores[it.id]["score"] for it in applicable
              if it.id in scores and scores[it.id]["score"] is not None and not scores[it.id]["not_applicable"]]
    mean = sum(scored) / len(scored) if scored else None
    enough = len(scored) >= inst.pass_rule.min_applicable_items
    passed = bool(enough and mean is not None and mean >= inst.pass_rule.threshold - 1e-9)
    return {"missing": missing, "n_scored": len(scored), "n_not_applicable": sum(1 for it in applicable if it.id in scores
            and scores[it.id]["not_applicable"]), "mean": mean, "enough": enough, "passed": passed}


def submit_rating(db: Database, user: User, rating_id: int, *, library: Optional[Library] = None) -> dict:
    """Check every applicable item has a score or N/A, compute the mean and pass, lock the rating."""
    library = library or default_library()
    r = _editable(db, user, rating_id)
    inst = instrument_of(library, r["instrument_id"])
    s = _session(db, r["session_id"])
    scores = _scores(db, r["id"])
    result = score_rating(inst, s, scores)
    texts = {it.id: it.text for it in inst.items}
    if result["missing"]:
        listed = "; ".join(f"{i} ({_short(texts[i])})" for i in result["missing"])
        raise FidelityError(
            f"Score or mark N/A every item before submitting. Missing ({len(result['missing'])}): {listed}.",
            missing=result["missing"],
        )
    if not result["enough"]:
        raise FidelityError(
            f"Only {result['n_scored']} item(s) are scored and the rest are N/A; the pass rule needs at least "
            f"{inst.pass_rule.min_applicable_items} scored items. Score the items the session gave occasion for."
        )
    if r["kind"] == "gold":
        no_reason = [i.id for i in _applicable(inst, s) if not (scores.get(i.id) or {}).get("reason")]
        if no_reason:
            raise FidelityError(
                "The gold-standard rating needs a reason for every item (raters see them after calibrating). "
                f"Missing a reason: {', '.join(no_reason)}.", missing=no_reason)
    now = now_iso()
    with transaction(db):
        current = one(db, "SELECT status FROM ratings WHERE id = ?", (r["id"],))
        if current["status"] != "draft":
            raise FidelityError("This rating was submitted already.")
        db.conn.execute(
            """UPDATE ratings SET status = 'submitted', mean = ?, passed = ?, instrument_id = ?, instrument_hash = ?,
               submitted_at = ?, updated_at = ? WHERE id = ?""",
            (result["mean"], int(result["passed"]), inst.id, inst.content_hash, now, now, r["id"]),
        )
        audit(db, user.id, "submit_rating", "rating", r["id"],
              {"session_id": s["id"], "kind": r["kind"], "mean": result["mean"], "passed": result["passed"],
               "instrument": inst.id, "instrument_hash": inst.content_hash})
    return {**result, "rating_id": r["id"]}


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def can_reopen(db: Database, user: User, rating: dict) -> bool:
    """Supervisors (of the session's trainee) and admins may reopen others' submitted ratings;
    nobody reopens their own, which would let a rater change a score after seeing the others."""
    if rating["status"] != "submitted" or rating["rater_id"] == user.id:
        return False
    if user.has("admin"):
        return True
    if user.has("supervisor"):
        s = _session(db, rating["session_id"])
        return s["trainee_id"] in supervisee_ids(db, user.id)
    return False


def reopen_rating(db: Database, supervisor: User, rating_id: int, reason: str) -> None:
    """Unlock a submitted rating for correction; the reason goes to the audit log."""
    r = _rating(db, rating_id)
    if not supervisor.has("supervisor", "admin"):
        raise FidelityError("Only a supervisor or an administrator can reopen a rating.")
    if not (reason or "").strip():
        raise FidelityError("Give the reason for reopening the rating; it is kept in the audit log.")
    if r["status"] != "submitted":
        raise FidelityError("This rating is not submitted, so there is nothing to reopen.")
    if r["rater_id"] == supervisor.id:
        raise FidelityError("You cannot reopen your own rating; ask another supervisor or an administrator.")
    if not can_reopen(db, supervisor, r):
        raise FidelityError("You can reopen ratings only of your supervisees' sessions.")
    with transaction(db):
        db.conn.execute("""UPDATE ratings SET status = 'draft', submitted_at = NULL, mean = NULL, passed = NULL,
                           updated_at = ? WHERE id = ?""", (now_iso(), r["id"]))
        audit(db, supervisor.id, "reopen_rating", "rating", r["id"],
              {"session_id": r["session_id"], "rater_id": r["rater_id"], "kind": r["kind"], "reason": reason.strip()})


# --- the blind rule ----------------------------------------------------------------------


def blind_reason(db: Database, user: User, session: dict) -> Optional[str]:
    """Why ``user`` may not (yet) see other people's ratings of the session, or None if they may.

    See the module docstring for the rule and why it is so.
    """
    if _is_participant(db, user.id, session["id"]):
        own = one(db, "SELECT status FROM ratings WHERE session_id = ? AND rater_id = ? AND kind = 'rater'",
                  (session["id"], user.id))
        if own and own["status"] == "submitted":
            return None
        return "Other ratings of this session stay hidden until you submit your own (blind rating)."
    if session["trainee_id"] == user.id:
        own = one(db, "SELECT status FROM ratings WHERE session_id = ? AND rater_id = ? AND kind = 'self'",
                  (session["id"], user.id))
        if own and own["status"] == "submitted":
            return None
        return "The raters' results appear here once you have submitted your self-rating of this session."
    if user.has("admin"):
        return None
    if user.has("supervisor") and session["trainee_id"] in supervisee_ids(db, user.id):
        return None
    return "You do not take part in rating this session."


def blind_session_ids(db: Database, user: User) -> set[int]:
    """Sessions whose ratings ``user`` may not see yet (the bulk form of :func:`blind_reason`):
    those they are assigned to rate and have not submitted, and their own sessions they have
    not self-rated. Readiness views leave these sessions' ratings out for that viewer."""
    found = rows(db, """SELECT a.session_id FROM assignments a WHERE a.rater_id = :me AND NOT EXISTS (
                            SELECT 1 FROM ratings r WHERE r.session_id = a.session_id AND r.rater_id = :me
                            AND r.kind = 'rater' AND r.status = 'submitted')
                        UNION
                        SELECT s.id FROM recorded_sessions s WHERE s.trainee_id = :me AND NOT EXISTS (
                            SELECT 1 FROM ratings r WHERE r.session_id = s.id AND r.rater_id = :me
                            AND r.kind = 'self' AND r.status = 'submitted')""", {"me": user.id})
    return {r["session_id"] for r in found}


def _rater_label(kind: str, name: str) -> str:
    return {"rater": f"Rater: {name}", "self": f"Self-rating: {name}", "gold": "Gold standard (expert consensus)"}[kind]


def ratings_visible_to(db: Database, user: User, session_id: int) -> list[dict]:
    """The ratings of a session that ``user`` may see, with scores and evidence marks.

    Always the user's own ratings (drafts too); other people's *submitted* ratings only when
    :func:`blind_reason` is None. Others' drafts never. The trainee of the session sees the
    rater and gold ratings (the self-rating is their own).
    """
    s = _session(db, session_id)
    if not can_access_session(db, user, s):
        raise FidelityError("You do not have access to this session.")
    open_to_user = blind_reason(db, user, s) is None
    found = rows(db, """SELECT r.*, u.display_name AS rater_name FROM ratings r JOIN users u ON u.id = r.rater_id
                        WHERE r.session_id = ? ORDER BY CASE r.kind WHEN 'gold' THEN 0 WHEN 'rater' THEN 1 ELSE 2 END,
                        r.submitted_at, r.id""", (s["id"],))
    out = []
    for r in found:
        own = r["rater_id"] == user.id
        if not own and not (open_to_user and r["status"] == "submitted"):
            continue
        r = dict(r)
        r["is_own"] = own
        r["label"] = _rater_label(r["kind"], r["rater_name"])
        r["scores"] = _scores(db, r["id"])
        r["marks"] = _marks(db, r["id"])
        out.append(r)
    return out


def own_rating(db: Database, user: User, session_id: int, kind: str) -> Optional[dict]:
    """The user's rating of this kind with scores and marks (None if not started)."""
    if kind == "gold":
        r = one(db, "SELECT * FROM ratings WHERE session_id = ? AND kind = 'gold' ORDER BY id LIMIT 1", (int(session_id),))
        if r is None or not user.has("admin"):
            return None
    else:
        r = one(db, "SELECT * FROM ratings WHERE session_id = ? AND rater_id = ? AND kind = ?",
                (int(session_id), user.id, kind))
    if r is None:
        return None
    r = dict(r)
    r["scores"] = _scores(db, r["id"])
    r["marks"] = _marks(db, r["id"])
    return r


# --- gold standard -----------------------------------------------------------------------


def mark_gold_standard(db: Database, admin: User, session_id: int, on: bool) -> None:
    if not admin.has("admin"):
        raise FidelityError("Only an administrator can mark gold-standard sessions.")
    s = _session(db, session_id)
    if on and s["deleted_at"]:
        raise FidelityError("The recording of this session was deleted; it cannot be a calibration session.")
    with transaction(db):
        db.conn.execute("UPDATE recorded_sessions SET is_gold_standard = ? WHERE id = ?", (int(bool(on)), s["id"]))
        audit(db, admin.id, "mark_gold_standard" if on else "unmark_gold_standard", "recorded_session", s["id"])


def adopt_gold_rating(db: Database, admin: User, session_id: int, source_rating_id: int, *,
                      library: Optional[Library] = None) -> dict:
    """Start (or overwrite) the gold-standard draft with the scores of a submitted rating of the
    same session: the expert panel adopts it as its consensus, then gives a reason per item."""
    src = _rating(db, source_rating_id)
    if src["session_id"] != int(session_id) or src["status"] != "submitted" or src["kind"] == "gold":
        raise FidelityError("Adopt a submitted rater or self-rating of this same session.")
    gold = get_or_create_draft(db, admin, session_id, "gold", library=library)
    if gold["status"] != "draft":
        raise FidelityError("The gold-standard rating is submitted; reopen it before adopting another rating.")
    with transaction(db):
        db.conn.execute("DELETE FROM item_scores WHERE rating_id = ?", (gold["id"],))
        db.conn.execute("""INSERT INTO item_scores (rating_id, item_id, score, not_applicable, reason)
                           SELECT ?, item_id, score, not_applicable, reason FROM item_scores WHERE rating_id = ?""",
                        (gold["id"], src["id"]))
        _touch(db, gold["id"])
        audit(db, admin.id, "adopt_gold_rating", "rating", gold["id"], {"session_id": int(session_id), "from_rating": src["id"]})
    return _rating(db, gold["id"])


def gold_sessions(db: Database, admin: User) -> list[dict]:
    """Admin: every session with its gold flag, gold rating status and calibration counts."""
    if not admin.has("admin"):
        raise FidelityError("Only an administrator can manage gold-standard sessions.")
    out = rows(db, """
        SELECT s.id, s.trainee_id, t.display_name AS trainee_name, s.case_pseudonym, s.session_number, s.phase,
               s.problem_area, s.is_gold_standard, s.deleted_at,
               (SELECT status FROM ratings g WHERE g.session_id = s.id AND g.kind = 'gold' ORDER BY g.id LIMIT 1) AS gold_status,
               (SELECT COUNT(*) FROM ratings r WHERE r.session_id = s.id AND r.kind = 'rater' AND r.status = 'submitted') AS submitted_ratings,
               (SELECT COUNT(*) FROM assignments a WHERE a.session_id = s.id AND a.purpose = 'calibration') AS calibration_assignments
        FROM recorded_sessions s JOIN users t ON t.id = s.trainee_id
        WHERE s.deleted_at IS NULL ORDER BY s.is_gold_standard DESC, s.id""")
    for s in out:
        s["label"] = session_label(s)
        s["gold_status"] = _status_of(s["gold_status"])
    return out


# --- what a page needs -------------------------------------------------------------------


def workspace_choices(db: Database, user: User) -> list[dict]:
    """What the rating workspace offers this user: (session, kind) pairs with labels.

    kind 'rater' for assigned sessions, 'self' for own sessions, 'gold' for gold-standard
    sessions (admins), 'view' for sessions a supervisor or admin may look at without rating.
    """
    out, seen = [], set()

    def add(sid: int, kind: str, label: str) -> None:
        if (sid, kind) not in seen:
            seen.add((sid, kind))
            out.append({"session_id": sid, "kind": kind, "label": label})

    for q in rater_queue(db, user) if user.has("rater", "supervisor", "admin") else []:
        add(q["session_id"], "rater", f"Rate: {q['label']} [{q['status']}]")
    for s in accessible_sessions(db, user):
        if s["trainee_id"] == user.id:
            add(s["id"], "self", f"Self-rate: {s['label']}")
    if user.has("admin"):
        for s in accessible_sessions(db, user):
            if s["is_gold_standard"]:
                add(s["id"], "gold", f"Gold standard: {s['label']}")
    if user.has("admin", "supervisor"):
        for s in accessible_sessions(db, user):
            if s["trainee_id"] != user.id and (s["id"], "rater") not in seen:
                add(s["id"], "view", f"View: {s['trainee_name']}, {s['label']}")
    return out


def item_catalogue(library: Library, instrument_id: str, session: dict) -> list[dict]:
    """The applicable items of a session with their anchors, in instrument order."""
    inst = instrument_of(library, instrument_id)
    scale = library.scales[inst.scale]
    return [{"id": it.id, "section": it.section, "text": " ".join(it.text.split()),
             "anchors": [{"score": p, "label": scale.labels[p], "text": " ".join(it.anchors[p].split())} for p in scale.points]}
            for it in _applicable(inst, session)]


def _cell(entry: Optional[dict]) -> str:
    if not entry:
        return ""
    if entry["not_applicable"]:
        return "N/A"
    return "" if entry["score"] is None else str(entry["score"])


def session_results(db: Database, user: User, session_id: int, *, library: Optional[Library] = None) -> dict:
    """Per item, the score of each rating the user may see, with its evidence marks; the mean
    against the pass rule; comments; and, when something is hidden, why."""
    library = library or default_library()
    s = get_session(db, user, session_id)
    visible = ratings_visible_to(db, user, session_id)
    inst_id = next((r["instrument_id"] for r in visible), None) or default_instrument_id(db, library)
    inst = instrument_of(library, inst_id)
    items = item_catalogue(library, inst.id, s)
    shown = [r for r in visible if r["status"] == "submitted" or r["is_own"]]
    hidden = None
    reason = blind_reason(db, user, _session(db, session_id))
    if reason:
        others = one(db, "SELECT COUNT(*) AS n FROM ratings WHERE session_id = ? AND rater_id <> ? AND status = 'submitted'",
                     (s["id"], user.id))["n"]
        hidden = reason if others else None
    table = []
    for it in items:
        row = {"item": it["id"]}
        for r in shown:
            row[r["label"]] = _cell(r["scores"].get(it["id"]))
        row.update({"section": it["section"], "text": _short(it["text"], 90)})
        table.append(row)
    summaries = []
    for r in shown:
        summaries.append({
            "rating_id": r["id"], "label": r["label"], "kind": r["kind"], "status": r["status"], "is_own": r["is_own"],
            "mean": r["mean"], "passed": None if r["passed"] is None else bool(r["passed"]),
            "comment": r["comment"], "submitted_at": r["submitted_at"], "marks": r["marks"],
            "reasons": {k: v["reason"] for k, v in r["scores"].items() if v.get("reason")},
            "can_reopen": can_reopen(db, user, r),
        })
    return {
        "session": s,
        "deleted": bool(s["deleted_at"]),
        "instrument": {"id": inst.id, "name": inst.name, "version": inst.version},
        "pass_rule": pass_rule_text(inst),
        "items": items,
        "table": table,
        "ratings": summaries,
        "hidden": hidden,
    }


def my_sessions(db: Database, trainee: User) -> list[dict]:
    """A trainee's own sessions with the status of their self-rating and of the raters' ratings."""
    out = rows(db, """
        SELECT s.id, s.case_pseudonym, s.session_number, s.phase, s.problem_area, s.created_at, s.deleted_at,
               s.is_gold_standard,
               (SELECT status FROM ratings r WHERE r.session_id = s.id AND r.rater_id = s.trainee_id AND r.kind = 'self') AS self_status,
               (SELECT COUNT(*) FROM ratings r WHERE r.session_id = s.id AND r.kind = 'rater' AND r.status = 'submitted') AS rater_submitted,
               (SELECT COUNT(*) FROM assignments a WHERE a.session_id = s.id) AS raters_assigned
        FROM recorded_sessions s WHERE s.trainee_id = ? ORDER BY s.case_pseudonym, s.session_number""", (trainee.id,))
    for s in out:
        s["label"] = session_label(s)
        s["self_status"] = _status_of(s["self_status"])
    return out
