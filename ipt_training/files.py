"""Private files under the data directory, stored under content-addressed names.

A user's file name is never used as a path: the stored name is ``<sha256 of the bytes><ext>``
(so ``../`` or absolute names cannot escape the folder), written atomically, and read back
only when the name has exactly that shape and resolves inside the folder.

Everything private is created for the server's user alone (issue 15, finding 14): folders
0700, files 0600, whatever the umask.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Iterable, Optional


PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def private_dir(folder: Path) -> None:
    """Create ``folder`` and each missing parent as 0700 (``mkdir(mode=)`` skips the parents)."""
    missing, d = [], Path(folder)
    while not d.exists() and d.parent != d:
        missing.append(d)
        d = d.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:  # made meanwhile by another session
            pass


def private_file(path: Path) -> Path:
    """Make sure ``path`` exists and only its owner may read or write it (an empty file is a
    valid SQLite database, so this is safe before ``sqlite3.connect``)."""
    path = Path(path)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE_MODE))
    except FileExistsError:
        if path.stat().st_mode & 0o077 and path.stat().st_uid == os.getuid():
            os.chmod(path, PRIVATE_FILE_MODE)  # a file made before this rule: tighten it
    return path


def stored_name_pattern(extensions: Iterable[str]) -> re.Pattern:
    exts = "|".join(re.escape(e.lstrip(".")) for e in extensions)
    return re.compile(rf"^[0-9a-f]{{64}}\.({exts})$")


def store(folder: Path, data: bytes, ext: str, pattern: re.Pattern) -> str:
    """Write ``data`` as ``<sha256><ext>`` in ``folder`` (atomically, once); return the name."""
    name = f"{hashlib.sha256(data).hexdigest()}{ext}"
    if not pattern.match(name):
        raise ValueError(f"{ext!r} is not an extension this folder stores")
    private_dir(folder)
    target = folder / name
    if not target.exists():
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=PARTIAL_PREFIX)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    return name


PARTIAL_PREFIX = ".upload-"


def clean_partial_uploads(folder: Path, older_than_s: float = 300.0) -> int:
    """Remove the ``.upload-*`` files a crash left half-written in ``folder`` (issue 15,
    finding 16); returns how many went. Files touched in the last ``older_than_s`` seconds are
    left alone: another server process may be writing them now."""
    folder, gone = Path(folder), 0
    if not folder.is_dir():
        return 0
    cutoff = time.time() - older_than_s
    for path in folder.glob(f"{PARTIAL_PREFIX}*"):
        try:
            if path.is_file() and not path.is_symlink() and path.stat().st_mtime < cutoff:
                path.unlink()
                gone += 1
        except FileNotFoundError:  # removed meanwhile by another process
            pass
    return gone


def remove_unless_used(folder: Path, name: str, pattern: re.Pattern, used: bool) -> None:
    """Remove a stored file that no record refers to (a database insert failed after it was
    written), so no orphan stays in the folder."""
    path = stored_path(folder, name, pattern)
    if path is not None and not used and path.exists():
        path.unlink()


def stored_path(folder: Path, name: Optional[str], pattern: re.Pattern) -> Optional[Path]:
    """The path of a stored file, or None when the name is not a stored name of this folder."""
    if not name or not pattern.match(name):
        return None
    folder = folder.resolve()
    path = (folder / name).resolve()
    return path if path.parent == folder else None
