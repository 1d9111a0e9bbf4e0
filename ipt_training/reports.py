"""CSV and PDF exports shared by the reports (fpdf2 for PDF).

Each report module builds its content as plain data and renders it with these helpers, so
every PDF of the platform has the same header, fonts and table layout.
"""

from __future__ import annotations

import functools
import io
import os
import re
import unicodedata
from datetime import date
from pathlib import Path
from typing import Iterable, Optional, Sequence

import pandas as pd
from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos


class PdfError(Exception):
    """A PDF that cannot be built; the message is a sentence saying what to do."""


# Fonts (issue 14): DejaVu Sans (Bitstream Vera / DejaVu licence) as matplotlib ships it, so
# `pip install -r requirements.txt` brings it; it draws Latin, Greek, Cyrillic, Arabic and
# Hebrew. Chinese, Japanese and Korean come from Droid Sans Fallback (Apache 2.0, Debian
# package fonts-droid-fallback), or the TrueType file IPT_TRAINING_PDF_FALLBACK_FONT names.
FALLBACK_FONT_PATHS = ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",)
MISSING_GLYPH = "\u25a1"  # white square: a character no embedded font can draw (an emoji, say)
_DROPPED = {0x200D, 0xFE0E, 0xFE0F, 0x20E3} | set(range(0x1F3FB, 0x1F400)) | set(range(0xE0020, 0xE0080))
FOOTER_TITLE_CHARS = 80


def _dejavu_dir() -> Path:
    try:
        import matplotlib

        folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    except ImportError:
        folder = Path("/nonexistent")
    if not (folder / "DejaVuSans.ttf").is_file():
        raise PdfError("The PDF font DejaVu Sans is missing: install the requirements (pip install -r "
                       "requirements.txt), which bring matplotlib and the fonts it ships.")
    return folder


def fallback_font_path() -> Optional[Path]:
    """The font for characters DejaVu Sans lacks (Chinese, Japanese, Korean), or None."""
    named = os.environ.get("IPT_TRAINING_PDF_FALLBACK_FONT", "").strip()
    for candidate in ([named] if named else []) + list(FALLBACK_FONT_PATHS):
        if Path(candidate).is_file():
            return Path(candidate)
    return None


@functools.lru_cache(maxsize=4)
def _codepoints(path: str) -> frozenset:
    from fontTools.ttLib import TTFont

    return frozenset(TTFont(path, lazy=True)["cmap"].getBestCmap())


def _needs_shaping(text: str) -> bool:
    """Right-to-left or combining text: shaped with HarfBuzz (slow, so only where needed)."""
    return any(unicodedata.bidirectional(c) in ("R", "AL", "AN") or unicodedata.category(c) in ("Mn", "Mc")
               for c in text if ord(c) > 0x2FF)


def _direction(text: str) -> str:
    """The paragraph's base direction: left to right when it holds any left-to-right letter
    (an English sentence quoting an Arabic name), else right to left (the name alone)."""
    return "ltr" if any(unicodedata.bidirectional(c) == "L" for c in text) else "rtl"


class Report(FPDF):
    """An A4 report in DejaVu Sans with a header and page numbers. Every text passes through
    :meth:`clean`, so any Unicode text prints: right-to-left scripts are shaped, CJK comes
    from the fallback font, characters no font has become a white square; long text wraps and
    runs on to the next page (long table cells are continued below the table)."""

    FONT = "dejavu"

    def __init__(self, title: str, subtitle: str = ""):
        super().__init__(orientation="P", unit="mm", format="A4")
        folder = _dejavu_dir()
        self.add_font(self.FONT, "", str(folder / "DejaVuSans.ttf"))
        self.add_font(self.FONT, "B", str(folder / "DejaVuSans-Bold.ttf"))
        self.add_font(self.FONT, "I", str(folder / "DejaVuSans-Oblique.ttf"))
        self._main_cmap = _codepoints(str(folder / "DejaVuSans.ttf"))
        self._fallback_loaded = False
        self.report_title = self.clean(title)
        self.set_auto_page_break(auto=True, margin=15)
        self.set_title(self.report_title)
        self.add_page()
        self.set_font(self.FONT, "B", 16)
        self.write_text(self.report_title, 8)
        if subtitle:
            self.set_font(self.FONT, "", 10)
            self.write_text(subtitle, 5)
        self.ln(2)

    def clean(self, text) -> str:
        """``text`` as the fonts can draw it: joiners and emoji modifiers dropped, control
        characters removed, the fallback font loaded for CJK, anything else a white square."""
        text = "" if text is None else str(text)
        out = []
        for c in text:
            cp = ord(c)
            if cp in _DROPPED or (unicodedata.category(c) == "Cc" and c not in "\n\t"):
                continue
            if c in "\n\t" or cp in self._main_cmap:
                out.append(" " if c == "\t" else c)
            elif self._fallback_has(cp):
                out.append(c)
            else:
                out.append(MISSING_GLYPH)
        return "".join(out)

    def _fallback_has(self, cp: int) -> bool:
        path = fallback_font_path()
        if path is None:
            if unicodedata.east_asian_width(chr(cp)) in ("W", "F"):
                raise PdfError("This PDF holds Chinese, Japanese or Korean text, and the font for it is missing: "
                               "ask the administrator to install the Debian package fonts-droid-fallback (or to "
                               "set IPT_TRAINING_PDF_FALLBACK_FONT to a TrueType font that has these characters).")
            return False
        if cp not in _codepoints(str(path)):
            return False
        if not self._fallback_loaded:
            self.add_font("fallback", "", str(path))  # one style: loading the 4 MB font costs about a second
            self.set_fallback_fonts(["fallback"], exact_match=False)
            self._fallback_loaded = True
        return True

    def shape_for(self, *texts: str) -> None:
        """Text shaping on (HarfBuzz, bidi) only when one of ``texts`` needs it; it costs time."""
        joined = " ".join(texts)
        if _needs_shaping(joined):
            self.set_text_shaping(True, direction=_direction(joined))
        else:
            self.set_text_shaping(False)

    def write_text(self, text: str, height: float, align: str = "L") -> None:
        """A paragraph in the current font: wrapped, split across pages, shaped where needed."""
        text = self.clean(text)
        self.shape_for(text)
        self.multi_cell(0, height, text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT, wrapmode=WrapMode.CHAR
                        if max(map(len, text.split() or [""])) > 60 else WrapMode.WORD)
        self.set_text_shaping(False)

    def footer(self):
        self.set_y(-12)
        self.set_font(self.FONT, "I", 8)
        title = self.report_title if len(self.report_title) <= FOOTER_TITLE_CHARS else \
            self.report_title[:FOOTER_TITLE_CHARS - 1] + "\u2026"
        self.shape_for(title)
        self.cell(0, 8, f"{title} - generated {date.today().isoformat()} - page {self.page_no()}", align="C")
        self.set_text_shaping(False)

    def heading(self, text: str) -> None:
        self.ln(2)
        self.set_font(self.FONT, "B", 12)
        self.write_text(text, 7)

    def paragraph(self, text: str, size: int = 10) -> None:
        self.set_font(self.FONT, "", size)
        self.write_text(text, 5)

    def table(self, headers: Sequence[str], rows: Iterable[Sequence], widths: Sequence[float] | None = None) -> None:
        """A table; a cell longer than some 30 lines of its column shows its start and a note, and
        its whole text follows the table as numbered paragraphs (a table row cannot split across
        pages)."""
        self.set_font(self.FONT, "", 9)
        body = [[self.clean(h) for h in headers]] + [[self.clean(v) for v in r] for r in rows]
        n_cols = max(len(r) for r in body)
        cols = list(widths) if widths else [self.epw / n_cols] * n_cols
        total = sum(cols)
        # about 2 mm a character at 9 pt: a cell stops at some 30 lines, far less than a page
        limits = [max(60, int(30 * (self.epw * w / total) / 2.0)) for w in cols]
        continued = []
        for r in body[1:]:
            for i, v in enumerate(r):
                if i < len(limits) and len(v) > limits[i]:
                    continued.append((body[0][i] if i < len(body[0]) else "", v))
                    r[i] = v[: limits[i] - 40].rstrip() + f"\u2026 (continued below, note {len(continued)})"
        self.shape_for(*(v for r in body for v in r))
        with FPDF.table(self, col_widths=widths, text_align="LEFT", line_height=5,
                        wrapmode=WrapMode.CHAR) as tbl:
            for r in body:
                row = tbl.row()
                for v in r:
                    row.cell(v)
        self.set_text_shaping(False)
        for n, (header, text) in enumerate(continued, start=1):
            self.paragraph(f"Note {n} ({header}): {text}", size=9)

    def to_bytes(self) -> bytes:
        return bytes(self.output())


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def neutralise_cell(value):
    """A text cell a spreadsheet would run as a formula, made inert with a leading ``'``.

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula (or
    a DDE call) to Excel, LibreOffice and Google Sheets (OWASP, "CSV Injection"); a signed
    number such as ``-1.5`` is left as it is. Anything that is not text is returned unchanged.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def dataframe_to_csv(df: pd.DataFrame) -> bytes:
    """UTF-8 CSV of ``df`` without the index; every export goes through here, so every cell
    and header is neutralised against formula injection (issue 15, finding 12). Lines end in
    CRLF (RFC 4180), so a field holding a bare CR is quoted instead of splitting its row."""
    safe = df.rename(columns=lambda c: neutralise_cell(str(c))).map(neutralise_cell)
    buf = io.StringIO()
    safe.to_csv(buf, index=False, lineterminator="\r\n")
    return buf.getvalue().encode("utf-8")
