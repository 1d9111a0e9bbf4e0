"""The text layer of a PDF, as a reader (pypdf) extracts it: what a person copying text or a
screen reader gets. Every PDF embeds TrueType fonts (issue 14), so the content streams hold
glyph ids, not characters, and only a real extraction says what the page shows."""

from __future__ import annotations

import io

from pypdf import PdfReader


def pdf_text(data: bytes) -> str:
    """All pages' extracted text, pages separated by a newline."""
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def pdf_pages(data: bytes) -> int:
    return len(PdfReader(io.BytesIO(data)).pages)
