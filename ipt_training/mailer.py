"""E-mail of inbox notifications (issue 17): optional, off by default (``IPT_TRAINING_EMAIL``).

When switched on (see :mod:`ipt_training.config`), each notification is sent with
:mod:`smtplib` to the person's address once the event's transaction has committed; a person
without an address, or a mail server that refuses, leaves the notification in the inbox only
(the failure is logged). When off, nothing is sent and no connection is made.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from typing import Optional

from sqlite_utils import Database

from .config import EmailSettings, get_settings
from .store import now_iso, one

TIMEOUT_S = 10


def enabled() -> bool:
    return get_settings().email is not None


def _page_url(base: str, page: str) -> str:
    return f"{base.rstrip('/')}/{page.removesuffix('.py')}" if page else base


def message_for(note: dict, to: str, sender: str, base_url: str, issuer: str) -> EmailMessage:
    """The e-mail of one notification: its words as plain text and where to act on it."""
    from .notifications import KINDS

    msg = EmailMessage()
    msg["Subject"] = f"{issuer}: {KINDS.get(note['kind'], 'Notification')}"
    msg["From"] = sender
    msg["To"] = to
    msg.set_content(f"{note['text']}\n\nOpen it in the training platform: {_page_url(base_url, note['page'])}\n\n"
                    "You receive this because it is in your inbox there.\n")
    return msg


def send(email: EmailSettings, msg: EmailMessage) -> None:
    """Hand one message to the configured SMTP server."""
    context = ssl.create_default_context()
    if email.tls == "ssl":
        server: smtplib.SMTP = smtplib.SMTP_SSL(email.host, email.port, timeout=TIMEOUT_S, context=context)
    else:
        server = smtplib.SMTP(email.host, email.port, timeout=TIMEOUT_S)
    with server:
        if email.tls == "starttls":
            server.starttls(context=context)
        if email.user:
            server.login(email.user, email.password)
        server.send_message(msg)


def send_notification(db: Database, notification_id: int) -> Optional[bool]:
    """E-mail one notification to its person; True when sent, False when it could not be,
    None when e-mail is off or the person has no address. Marks it ``emailed_at`` once sent."""
    settings = get_settings()
    if settings.email is None:
        return None
    note = one(db, """SELECT n.*, u.email FROM notifications n JOIN users u ON u.id = n.user_id
                      WHERE n.id = ? AND n.emailed_at IS NULL""", (int(notification_id),))
    if note is None or not (note["email"] or "").strip():
        return None
    msg = message_for(note, note["email"], settings.email.sender, settings.issuer_url, settings.issuer_name)
    try:
        send(settings.email, msg)
    except (OSError, smtplib.SMTPException):
        logging.getLogger("ipt_training").exception("notification %s not e-mailed", notification_id)
        return False
    db.conn.execute("UPDATE notifications SET emailed_at = ? WHERE id = ?", (now_iso(), int(notification_id)))
    return True
