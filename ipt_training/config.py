"""Settings read from the environment.

``IPT_TRAINING_DATA_DIR``  data directory (default ``./data``)
``IPT_TRAINING_DB``        SQLite file (default ``<data dir>/ipt_training.db``)
``IPT_TRAINING_CONTENT_DIR`` folder holding ``vignettes/``, ``rubrics/``, ``training/``
                           (default: the project root)
``IPT_TRAINING_MAX_UPLOAD_MB`` largest recording accepted, in MB (default 200; keep
                           ``server.maxUploadSize`` in ``.streamlit/config.toml`` at the same figure)
``IPT_TRAINING_MAX_TRANSCRIPT_MB`` largest transcript accepted, in MB (default 2)
``IPT_TRAINING_MAX_CERTIFICATE_MB`` largest certificate of attendance accepted, in MB (default 10)
``IPT_TRAINING_SIGN_IN_PER_CLIENT`` sign-in attempts one IP address may make a minute (default 10)
``IPT_TRAINING_SIGN_IN_PER_MINUTE`` sign-in attempts the whole server takes a minute (default 100)
``IPT_TRAINING_SIGN_IN_CONCURRENCY`` password checks run at once, 64 MiB each (default 2)
``IPT_TRAINING_ISSUER_NAME`` the training body's name on credentials (default ``IPT Training Body``)
``IPT_TRAINING_ISSUER_URL``  its public address: issuer id and verification links (default ``http://localhost:8501``)
``IPT_TRAINING_SESSION_IDLE_MINUTES`` a sign-in ends after this long without use (default 60)
``IPT_TRAINING_SESSION_MAX_HOURS`` a sign-in ends this long after it began, used or not (default 12)
``IPT_TRAINING_RECORDING_LINK_MINUTES`` a recording's link dies this long after it was issued
                           or last fetched (default 10)
``IPT_TRAINING_SECURE_COOKIE`` ``auto`` (default): the session cookie is ``Secure`` when the
                           request came over https (directly or through a trusted proxy's
                           ``X-Forwarded-Proto``); ``always``: always ``Secure``

E-mail of inbox notifications (issue 17), off unless ``IPT_TRAINING_EMAIL`` is ``on``:

``IPT_TRAINING_EMAIL``       ``off`` (default) or ``on``
``IPT_TRAINING_SMTP_HOST``   the mail server (required when on)
``IPT_TRAINING_SMTP_PORT``   its port (default 587)
``IPT_TRAINING_SMTP_TLS``    ``starttls`` (default), ``ssl`` (implicit TLS, usually port 465) or ``none``
``IPT_TRAINING_SMTP_USER``   user name to log in with (default: no login)
``IPT_TRAINING_SMTP_PASSWORD_ENV`` the *name* of the environment variable holding the password
                           (default ``IPT_TRAINING_SMTP_PASSWORD``), so the secret itself is kept
                           wherever the deployment keeps secrets
``IPT_TRAINING_SMTP_FROM``   the sender address (required when on)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class EmailSettings:
    host: str
    port: int
    tls: str  # starttls | ssl | none
    user: str
    password_env: str
    sender: str

    @property
    def password(self) -> str:
        """Read at send time, never stored in the settings."""
        return os.environ.get(self.password_env, "")


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    db_path: Path
    content_dir: Path
    max_upload_mb: int
    max_transcript_mb: int = 2
    max_certificate_mb: int = 10
    sign_in_per_client: int = 10
    sign_in_per_minute: int = 100
    sign_in_concurrency: int = 2
    issuer_name: str = "IPT Training Body"
    issuer_url: str = "http://localhost:8501"
    session_idle_minutes: int = 60
    session_max_hours: int = 12
    recording_link_minutes: int = 10
    secure_cookie: str = "auto"
    email: Optional["EmailSettings"] = None  # None: e-mail is off

    @property
    def recordings_dir(self) -> Path:
        return self.data_dir / "recordings"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def max_transcript_bytes(self) -> int:
        return self.max_transcript_mb * 1024 * 1024

    @property
    def max_certificate_bytes(self) -> int:
        return self.max_certificate_mb * 1024 * 1024


_read: dict[tuple, Settings] = {}


def get_settings() -> Settings:
    """The settings from the environment: read again whenever an ``IPT_TRAINING_*`` variable or
    the working folder changed (so tests may monkeypatch), else the settings read before. A page
    run asks several times, and resolving the paths costs a file-system call per path part, each
    of which gives up the GIL to other sessions' threads (issue 16)."""
    key = (os.getcwd(), tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("IPT_TRAINING_"))))
    found = _read.get(key)
    if found is None:
        found = _read_settings()
        if len(_read) > 64:  # tests change the environment many times over
            _read.clear()
        _read[key] = found
    return found


def _read_settings() -> Settings:
    data_dir = Path(os.environ.get("IPT_TRAINING_DATA_DIR", "data")).resolve()
    db = os.environ.get("IPT_TRAINING_DB")
    db_path = Path(db).resolve() if db else data_dir / "ipt_training.db"
    content_dir = Path(os.environ.get("IPT_TRAINING_CONTENT_DIR", str(PROJECT_ROOT))).resolve()
    try:
        max_mb = int(os.environ.get("IPT_TRAINING_MAX_UPLOAD_MB", "200"))
    except ValueError:
        raise SystemExit("IPT_TRAINING_MAX_UPLOAD_MB must be a whole number of megabytes, e.g. 200.")
    raw = os.environ.get("IPT_TRAINING_MAX_TRANSCRIPT_MB", "2")
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"IPT_TRAINING_MAX_TRANSCRIPT_MB must be a whole number of at least 1, e.g. 2; got {raw!r}.")
    issuer_url = os.environ.get("IPT_TRAINING_ISSUER_URL", "http://localhost:8501").strip()
    if not issuer_url.startswith(("https://", "http://")):
        raise SystemExit(f"IPT_TRAINING_ISSUER_URL must be a web address such as https://training.example.org; "
                         f"got {issuer_url!r}.")
    secure = os.environ.get("IPT_TRAINING_SECURE_COOKIE", "auto").strip().lower()
    if secure not in ("auto", "always"):
        raise SystemExit("IPT_TRAINING_SECURE_COOKIE must be 'auto' or 'always'.")
    return Settings(data_dir=data_dir, db_path=db_path, content_dir=content_dir, max_upload_mb=max_mb,
                    max_transcript_mb=int(raw),
                    max_certificate_mb=_positive_int("IPT_TRAINING_MAX_CERTIFICATE_MB", 10, "megabytes"),
                    issuer_name=os.environ.get("IPT_TRAINING_ISSUER_NAME", "").strip() or "IPT Training Body",
                    issuer_url=issuer_url, **_sign_in_limits(),
                    session_idle_minutes=_positive_int("IPT_TRAINING_SESSION_IDLE_MINUTES", 60, "minutes"),
                    session_max_hours=_positive_int("IPT_TRAINING_SESSION_MAX_HOURS", 12, "hours"),
                    recording_link_minutes=_positive_int("IPT_TRAINING_RECORDING_LINK_MINUTES", 10, "minutes"),
                    secure_cookie=secure, email=_email_settings())


def _email_settings() -> Optional[EmailSettings]:
    switch = os.environ.get("IPT_TRAINING_EMAIL", "off").strip().lower()
    if switch in ("", "off", "0", "false", "no"):
        return None
    if switch not in ("on", "1", "true", "yes"):
        raise SystemExit(f"IPT_TRAINING_EMAIL must be 'on' or 'off'; got {switch!r}.")
    host = os.environ.get("IPT_TRAINING_SMTP_HOST", "").strip()
    sender = os.environ.get("IPT_TRAINING_SMTP_FROM", "").strip()
    if not host or "@" not in sender:
        raise SystemExit("E-mail is on (IPT_TRAINING_EMAIL=on): set IPT_TRAINING_SMTP_HOST to the mail server and "
                         "IPT_TRAINING_SMTP_FROM to the sender address, or switch e-mail off.")
    tls = os.environ.get("IPT_TRAINING_SMTP_TLS", "starttls").strip().lower()
    if tls not in ("starttls", "ssl", "none"):
        raise SystemExit(f"IPT_TRAINING_SMTP_TLS must be 'starttls', 'ssl' or 'none'; got {tls!r}.")
    return EmailSettings(host=host, port=_positive_int("IPT_TRAINING_SMTP_PORT", 587, "port number"), tls=tls,
                         user=os.environ.get("IPT_TRAINING_SMTP_USER", "").strip(),
                         password_env=os.environ.get("IPT_TRAINING_SMTP_PASSWORD_ENV", "").strip()
                         or "IPT_TRAINING_SMTP_PASSWORD", sender=sender)


def _sign_in_limits() -> dict:
    limits = {}
    for var, key, default in (("IPT_TRAINING_SIGN_IN_PER_CLIENT", "sign_in_per_client", 10),
                              ("IPT_TRAINING_SIGN_IN_PER_MINUTE", "sign_in_per_minute", 100),
                              ("IPT_TRAINING_SIGN_IN_CONCURRENCY", "sign_in_concurrency", 2)):
        raw = os.environ.get(var, str(default))
        if not raw.isdigit() or int(raw) < 1:
            raise SystemExit(f"{var} must be a whole number of at least 1, e.g. {default}; got {raw!r}.")
        limits[key] = int(raw)
    return limits


def _positive_int(name: str, default: int, unit: str) -> int:
    raw = os.environ.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise SystemExit(f"{name} must be a whole number of {unit}, at least 1 (e.g. {default}).")
    return value
