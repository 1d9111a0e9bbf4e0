"""Recorded sessions: upload checks (extension, size, container sniffing and integrity), content-addressed storage, who may access a session, and deletion.

Recordings are stored under ``settings.recordings_dir`` with content-addressed names (``<sha256>.<ext>``); the name the user gave the file is display text only and never becomes part of a path.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path
from typing import Optional
from sqlite_utils import Database
from .. import files
from ..auth import User, supervisee_ids
from ..finding import sql_day_range, sql_words
from ..config import Settings
from ..content import PHASES, PROBLEM_AREAS
from ..store import audit, now_iso, one, rows, transaction
from .transcripts import TranscriptError, parse_transcript
from .base import FidelityError, MAX_NOTE, MAX_PSEUDONYM


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


_MP3_TRAILERS = (b"TAG", b"APETAGEX", b"LYRICS")  # ID3v1, APE and Lyrics3 tags may follow the frames
MAX_FRAMES = 4_000_000  # about 29 hours of 44.1 kHz audio: the walk stays linear and bounded


def _mp3_frame_length(data: bytes, at: int) -> Optional[int]:
    """Length of the MPEG-1/2/2.5 layer III frame whose header starts at ``at``, or None."""
    if at + 4 > len(data):
        return None
    b1, b2 = data[at + 1], data[at + 2]
    if data[at] != 0xFF or (b1 & 0xE0) != 0xE0:
        return None
    version, layer = (b1 >> 3) & 0x3, (b1 >> 1) & 0x3
    bitrate_ix, rate_ix = b2 >> 4, (b2 >> 2) & 0x3
    if version == 1 or layer != 1 or bitrate_ix in (0, 15) or rate_ix == 3:
        return None
    mpeg1 = version == 3
    bitrate = _MP3_BITRATES[mpeg1][bitrate_ix] * 1000
    rate = _MP3_RATES[version][rate_ix]
    return (144 if mpeg1 else 72) * bitrate // rate + ((b2 >> 1) & 1)


def _check_mp3(data: bytes) -> Optional[str]:
    """Walk the layer III frames from the first to the last (issue 15, finding 17): each frame's
    header must give the length that brings the walk to the next header, and only a tag may
    follow the last frame, so a valid header in front of arbitrary bytes is refused."""
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
    # the first frame header, within a short window after the tag
    first = next((pos + off for off in range(min(4096, max(0, len(data) - pos - 3)))
                  if _mp3_frame_length(data, pos + off)), None)
    if first is None:
        return "no MPEG layer III audio frame follows the header"
    pos, frames = first, 0
    while pos < len(data) and frames < MAX_FRAMES:
        length = _mp3_frame_length(data, pos)
        if length is None:
            if any(data.startswith(tag, pos) for tag in _MP3_TRAILERS):
                break
            return f"the bytes after audio frame {frames} are not MPEG audio"
        if pos + length > len(data):
            return f"audio frame {frames + 1} is cut off"
        pos += length
        frames += 1
    return None


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


def _mp4_boxes(data: bytes, start: int, end: int) -> tuple[Optional[str], list[tuple[bytes, int, int]]]:
    """The boxes between ``start`` and ``end``: ``(problem, [(kind, payload_start, box_end)])``."""
    pos, found = start, []
    while pos < end:
        if pos + 8 > end:
            return "a box header is cut off", found
        size = struct.unpack(">I", data[pos:pos + 4])[0]
        kind = data[pos + 4:pos + 8]
        header = 8
        if size == 1:
            if pos + 16 > end:
                return "a box header is cut off", found
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header:
            return "a box has an impossible size", found
        if pos + size > end:
            return f"its '{kind.decode('latin-1')}' box is cut off", found
        found.append((kind, pos + header, pos + size))
        pos += size
    return None, found


def _mp4_child(data: bytes, box: tuple[bytes, int, int], path: list[bytes]) -> list[tuple[bytes, int, int]]:
    """Every box at ``path`` below ``box`` (e.g. [b'mdia', b'minf', b'stbl', b'stsz'])."""
    level = [box]
    for kind in path:
        nxt = []
        for _, start, end in level:
            problem, children = _mp4_boxes(data, start, end)
            if problem is None:
                nxt.extend(c for c in children if c[0] == kind)
        level = nxt
    return level


def _mp4_samples(data: bytes, trak: tuple[bytes, int, int]) -> int:
    """The sample count a track's sample-size table declares (stsz or stz2), 0 when absent."""
    for kind in (b"stsz", b"stz2"):
        for _, start, end in _mp4_child(data, trak, [b"mdia", b"minf", b"stbl", kind]):
            if end - start >= 12:  # version/flags, sample size (stz2: reserved + field size), count
                return struct.unpack(">I", data[start + 8:start + 12])[0]
    return 0


def _check_mp4(data: bytes) -> Optional[str]:
    """Walk the top-level boxes to the end of the file and look into the index (issue 15,
    finding 17): ``moov`` must hold a track whose sample table lists samples (or the file must
    be fragmented, with ``moof`` boxes), and a non-empty ``mdat`` must hold the media."""
    problem, boxes = _mp4_boxes(data, 0, len(data))
    if problem:
        return problem
    kinds = [b[0] for b in boxes]
    if b"moov" not in kinds:
        return "it has no 'moov' box (the index of the media)"
    if not any(kind == b"mdat" and end > start for kind, start, end in boxes):
        return "it has no media data ('mdat' box)"
    moov = boxes[kinds.index(b"moov")]
    problem, children = _mp4_boxes(data, moov[1], moov[2])
    if problem:
        return f"its index is damaged: {problem}"
    traks = [c for c in children if c[0] == b"trak"]
    if not traks:
        return "its index ('moov' box) lists no track"
    if b"moof" not in kinds and not any(_mp4_samples(data, t) for t in traks):
        return "its index lists no audio or video samples"
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
            cues = parse_transcript(transcript_bytes or b"", transcript_name or "", settings.max_transcript_bytes)
        except TranscriptError as exc:
            raise FidelityError(f"{exc} The session was not added.") from None
    digest = hashlib.sha256(data).hexdigest()
    case = one(db, "SELECT id FROM clinical_cases WHERE trainee_id = ? AND pseudonym = ?",
               (trainee_id, meta["case_pseudonym"]))
    stored = _store_file(settings, digest, ext, data)
    try:
        return _insert_session(db, actor, trainee_id, file_name, data, digest, stored, media_type, meta, case, cues)
    except BaseException:
        # the row was not written: remove the file unless another session holds the same bytes
        used = one(db, "SELECT 1 AS x FROM recorded_sessions WHERE recording_file = ?", (stored,)) is not None
        files.remove_unless_used(settings.recordings_dir, stored, _STORED_NAME, used)
        raise


def clean_partial_uploads(settings: Settings) -> int:
    """At start: remove recordings half-written when the server stopped mid-upload."""
    return files.clean_partial_uploads(settings.recordings_dir)


def _insert_session(db: Database, actor: User, trainee_id: int, file_name: str, data: bytes, digest: str,
                    stored: str, media_type: str, meta: dict, case: Optional[dict], cues: Optional[list]) -> int:
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


def session_label_sql(alias: str = "s") -> str:
    """The SQL expression of :func:`session_label` over the ``recorded_sessions`` row ``alias``,
    so that a list searched and paged in SQL shows (and matches) the very same label. The
    problem-area names are our constants, quoted as SQL literals; no user text is in the code."""
    def lit(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"
    areas = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in PROBLEM_AREAS.items())
    return (f"({alias}.case_pseudonym || ', session ' || {alias}.session_number || ' (' || {alias}.phase || ', ' || "
            f"CASE {alias}.problem_area {areas} ELSE {alias}.problem_area END || ')' || "
            f"CASE WHEN {alias}.deleted_at IS NOT NULL AND {alias}.deleted_at <> '' "
            f"THEN ' [recording deleted]' ELSE '' END)")


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


def accessible_sessions(db: Database, user: User, include_deleted: bool = True, *, text: str = "",
                        limit: Optional[int] = None, trainee_id: Optional[int] = None,
                        other_than_trainee: Optional[int] = None, gold_only: bool = False,
                        session_id: Optional[int] = None) -> list[dict]:
    """Every session ``user`` may see, newest first, with a label. Narrowed in SQL, when asked,
    to the sessions whose label, therapist or ``#number`` hold every word of ``text`` (ignoring
    ASCII case), of ``trainee_id`` or of anyone but ``other_than_trainee``, gold-standard ones,
    or one ``session_id``; at most ``limit`` (the newest, through the ``created_at`` index)."""
    conds, params = [], []
    if not user.has("admin"):
        sup = ",".join(str(i) for i in supervisee_ids(db, user.id)) if user.has("supervisor") else ""
        conds.append(f"""(s.trainee_id = ? OR s.trainee_id IN ({sup or 'NULL'})
                    OR EXISTS (SELECT 1 FROM assignments a WHERE a.session_id = s.id AND a.rater_id = ?)
                    OR EXISTS (SELECT 1 FROM ratings r WHERE r.session_id = s.id AND r.rater_id = ?))""")
        params += [user.id, user.id, user.id]
    if not include_deleted:
        conds.append("s.deleted_at IS NULL")
    for cond, value in (("s.trainee_id = ?", trainee_id), ("s.trainee_id <> ?", other_than_trainee),
                        ("s.id = ?", session_id)):
        if value is not None:
            conds.append(cond)
            params.append(value)
    if gold_only:
        conds.append("s.is_gold_standard = 1")
    match, found = sql_words(text, f"{session_label_sql('s')} || char(10) || t.display_name || char(10) || '#' || s.id")
    if match:
        conds.append(match)
        params += found
    where = " AND ".join(conds) or "1 = 1"
    cut = "" if limit is None else f" LIMIT {int(limit)}"
    out = rows(db, f"""SELECT s.id, s.trainee_id, t.display_name AS trainee_name, s.case_pseudonym, s.session_number,
                              s.phase, s.problem_area, s.is_gold_standard, s.created_at, s.deleted_at, s.size_bytes,
                              s.original_name, s.media_type, (s.transcript IS NOT NULL) AS has_transcript
                       FROM recorded_sessions s JOIN users t ON t.id = s.trainee_id
                       WHERE {where} ORDER BY s.created_at DESC, s.id DESC{cut}""", params)
    for s in out:
        s["label"] = session_label(s)
    return out


def recording_file(db: Database, settings: Settings, user: User, session_id: int) -> tuple[Path, str, str]:
    """The recording's file, media type and SHA-256, for a user who may hear it (the rule of
    :func:`can_access_session`) while it is not deleted. Not audited: the caller audits its read."""
    s = _session(db, session_id)
    if not can_access_session(db, user, s):
        raise FidelityError("You do not have access to this recording.")
    if s["deleted_at"] or not s["recording_file"]:
        raise FidelityError("The recording of this session was deleted by an administrator; its ratings remain.")
    path = _recording_path(settings, s["recording_file"])
    if path is None or not path.is_file():
        raise FidelityError("The recording file is missing from the data directory; ask an administrator to restore it.")
    return path, s["media_type"], s["recording_sha256"]


def recording_bytes(db: Database, settings: Settings, user: User, session_id: int) -> tuple[bytes, str]:
    """The recording's bytes and media type, for a user who may hear it; audited as
    ``view_recording``. (The player does not use this: it streams through the app's
    ``/recording/`` route, :mod:`ipt_training.web`, which audits every fetch.)"""
    path, media_type, sha256 = recording_file(db, settings, user, session_id)
    data = path.read_bytes()
    with transaction(db):
        audit(db, user.id, "view_recording", "recorded_session", int(session_id), {"sha256": sha256})
    return data, media_type


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


def _recordings_where(admin: User, text: str, since, until, gold: Optional[bool],
                      deleted: Optional[bool]) -> tuple[str, list]:
    if not admin.has("admin"):
        raise FidelityError("Only an administrator can list every recording.")
    conds, params = [], []
    match, found = sql_words(text, f"t.display_name || char(10) || {session_label_sql('s')} || char(10) || "
                                   "COALESCE(s.original_name, '') || char(10) || '#' || s.id")
    if match:
        conds.append(match)
        params += found
    days, bounds = sql_day_range("s.created_at", since, until)
    conds += days
    params += bounds
    if gold is not None:
        conds.append("s.is_gold_standard = ?" if gold else "NOT s.is_gold_standard = ?")
        params.append(1)
    if deleted is not None:
        conds.append(f"COALESCE(s.deleted_at, '') {'<>' if deleted else '='} ''")
    return (" WHERE " + " AND ".join(conds)) if conds else "", params


def find_recordings(db: Database, admin: User, text: str = "", since=None, until=None, gold: Optional[bool] = None,
                    deleted: Optional[bool] = None, limit: Optional[int] = None, offset: int = 0) -> list[dict]:
    """Admin: the sessions, newest first, with their file facts and how many ratings each holds;
    only those whose therapist, label, file name or ``#number`` hold every word of ``text``
    (ignoring ASCII case), added on a day from ``since`` to ``until`` (both included), gold
    standard or not, deleted or not (``None``: any); ``limit`` rows from ``offset`` (``None``:
    all). Searched and cut in SQL: the ratings are counted for the rows shown only."""
    where, params = _recordings_where(admin, text, since, until, gold, deleted)
    cut = "" if limit is None else " LIMIT ? OFFSET ?"
    params += [] if limit is None else [int(limit), int(offset)]
    out = rows(db, f"""SELECT s.id, t.display_name AS trainee, s.case_pseudonym, s.session_number, s.phase,
                              s.problem_area, s.is_gold_standard, s.original_name, s.size_bytes, s.media_type,
                              s.created_at, s.deleted_at,
                              (SELECT COUNT(*) FROM ratings r WHERE r.session_id = s.id) AS ratings
                       FROM recorded_sessions s JOIN users t ON t.id = s.trainee_id{where}
                       ORDER BY s.id DESC{cut}""", params)
    for s in out:
        s["label"] = session_label(s)
    return out


def count_recordings(db: Database, admin: User, text: str = "", since=None, until=None, gold: Optional[bool] = None,
                     deleted: Optional[bool] = None) -> int:
    """How many sessions :func:`find_recordings` finds without a limit."""
    where, params = _recordings_where(admin, text, since, until, gold, deleted)
    return db.conn.execute(f"SELECT COUNT(*) FROM recorded_sessions s JOIN users t ON t.id = s.trainee_id{where}",
                           params).fetchone()[0]


def all_sessions_admin(db: Database, admin: User) -> list[dict]:
    """Admin: every session with its file facts and how many ratings it holds (newest first)."""
    return find_recordings(db, admin)