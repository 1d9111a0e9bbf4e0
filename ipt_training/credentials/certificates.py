"""The PDFs a review produces: a person's readiness report and the certificate of an award.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
from typing import Optional
import segno
from fpdf.enums import XPos, YPos
from sqlite_utils import Database
from ..auth import User, get_user, visible_trainee_ids
from ..content import CredentialStandard, Library
from .evidence import award_day, standing_awards
from ..reports import Report
from .issuer import issuer_for
from .verifiable import credential_for, verification_link
from ..store import one
from .review import ReviewError, assess_for, decisions_for


def readiness_pdf(db: Database, library: Library, trainee_id: int, standard: CredentialStandard, today: _dt.date,
                  *, viewer: Optional[User] = None) -> bytes:
    """A PDF of one person's readiness for a standard: every requirement, its evidence, next
    steps, and the decisions recorded so far."""
    person = get_user(db, trainee_id)
    if person is None:
        raise ReviewError("This person does not exist; choose another.")
    if viewer is not None and not (viewer.has("admin") or viewer.id == person.id
                                   or person.id in visible_trainee_ids(db, viewer)):
        raise ReviewError("You may print only your own readiness or your supervisees'.")
    r, holding, status, _ = assess_for(db, library, person.id, standard, today, viewer=viewer)
    pdf = Report(f"Credential readiness: {person.display_name}",
                 f"{standard.name}, version {standard.version} ({standard.issuing_body}). Evaluated on "
                 f"{today.isoformat()}.")
    if holding is not None:
        pdf.paragraph(f"Held: award {holding.decision_id}, {holding.text()}. The requirements below are those of "
                      "the renewal, counting evidence dated since the award.")
    pdf.paragraph(f"Status: {status} - {r.met_count} of {r.total} requirements met, "
                  f"overall progress {round(r.progress * 100)} %.")
    pdf.table(["Requirement", "Met", "Progress", "Where it stands"],
              [[q.requirement_id, "yes" if q.met else "no", f"{round(q.progress * 100)} %", q.current]
               for q in r.requirements], widths=[45, 12, 18, 115])
    for q in r.requirements:
        pdf.heading(f"{q.requirement_id}: {'met' if q.met else 'not met'}")
        pdf.paragraph(q.description, size=9)
        if q.missing:
            pdf.paragraph("Still missing:", size=9)
            for m in q.missing:
                pdf.paragraph(f"- {m}", size=9)
        if q.evidence:
            pdf.paragraph("Evidence that counts:", size=9)
            for e in q.evidence:
                pdf.paragraph(f"- {e.label}", size=9)
        if q.not_counted:
            pdf.paragraph("Shown but not counted:", size=9)
            for e in q.not_counted:
                pdf.paragraph(f"- {e.label} ({e.reason})", size=9)
    decisions = decisions_for(db, person.id, standard.id, today=today)
    pdf.heading("Decisions")
    if decisions:
        pdf.table(["Id", "Decision", "Date", "Reviewer", "Version", "Expires", "Reasons"],
                  [[d["id"], d["decision"], d["decided_at"][:10], d["reviewer"], d["standard_version"],
                    d["expires_on"] or "", d["reasons"]] for d in decisions],
                  widths=[10, 18, 22, 30, 24, 22, 64])
    else:
        pdf.paragraph("No decision recorded yet.")
    return pdf.to_bytes()


def certificate_pdf(db: Database, decision_id: int, today: _dt.date, *, viewer: Optional[User] = None) -> bytes:
    """The certificate of an award in force: issuing body, standard name and version, holder,
    award and expiry dates, decision id. Refused for a deferral, a refusal, an expired award or
    an award a later decision superseded."""
    d = one(db, "SELECT * FROM credential_decisions WHERE id = ?", (int(decision_id),))
    if d is None:
        raise ReviewError("This decision does not exist.")
    if viewer is not None and not (viewer.has("admin") or viewer.id == d["trainee_id"]):
        raise ReviewError("Only the holder or an administrator can download this certificate.")
    if d["decision"] != "award":
        raise ReviewError(f"Decision {d['id']} is a decision to {d['decision']}; a certificate exists only for an award.")
    if one(db, "SELECT 1 AS x FROM credential_revocations WHERE decision_id = ?", (d["id"],)):
        raise ReviewError(f"The credential of award {d['id']} was revoked; there is no certificate for it.")
    held = standing_awards(db, d["trainee_id"]).get(d["standard_id"])
    if held is None or held["id"] != d["id"]:
        raise ReviewError(f"Award {d['id']} was superseded by a later decision; download the certificate of the "
                          "current award instead.")
    if d["expires_on"] and _dt.date.fromisoformat(d["expires_on"]) < today:
        raise ReviewError(f"This credential expired on {d['expires_on']}; renew it to receive a new certificate.")
    snap = json.loads(d["evidence_snapshot"])
    std = snap.get("standard", {})
    holder = (get_user(db, d["trainee_id"]).display_name if get_user(db, d["trainee_id"])
              else snap.get("holder", {}).get("display_name", ""))
    issuer = issuer_for(db)
    issued = credential_for(db, d["id"])
    body = issuer.name
    pdf = Report(f"Certificate: {std.get('name', d['standard_id'])}", body)
    pdf.ln(8)
    pdf.paragraph(f"{body} certifies that", size=12)
    pdf.ln(2)
    pdf.set_font(pdf.FONT, "B", 20)
    pdf.write_text(holder, 12, align="C")
    pdf.ln(2)
    pdf.paragraph(f"meets the requirements of the credential standard {std.get('name', d['standard_id'])} "
                  f"(id {d['standard_id']}, version {d['standard_version']}).", size=12)
    pdf.ln(4)
    pdf.table(["Certificate detail", ""], [
        ["Holder", holder],
        ["Credential standard", f"{std.get('name', d['standard_id'])}, version {d['standard_version']}"],
        ["Issuing body", body],
        ["Awarded on", award_day(d).isoformat()],
        ["Valid until", d["expires_on"] or "no expiry"],
        ["Decision id", str(d["id"])],
        ["Credential id", issued["credential_id"]],
        ["Standard content hash", d["standard_hash"][:16]],
    ], widths=[55, 135])
    pdf.ln(4)
    link = verification_link(issuer, issued["credential_id"])
    qr = io.BytesIO()
    segno.make(link, error="m").save(qr, kind="png", scale=4, border=2)
    qr.seek(0)
    top = pdf.get_y()
    if top + 45 > pdf.h - pdf.b_margin:
        pdf.add_page()
        top = pdf.get_y()
    pdf.image(qr, x=pdf.l_margin, y=top, w=40, h=40)
    pdf.set_xy(pdf.l_margin + 45, top)
    pdf.set_font(pdf.FONT, "", 9)
    pdf.multi_cell(0, 5, pdf.clean(
        f"Verify this certificate: scan the code or open {link}. The signed credential (Open Badges 3.0, a W3C "
        f"Verifiable Credential) of this award is issued by {issuer.name}; the holder can share its file, which "
        "anyone can verify on the body's Verify a certificate page. The body keeps the decision, the reviewer and "
        "the evidence in its append-only decision log."), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(pdf.get_y(), top + 42))
    return pdf.to_bytes()
