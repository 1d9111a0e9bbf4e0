"""CSV and PDF exports shared by the reports (fpdf2 for PDF).

Each report module builds its content as plain data and renders it with these helpers, so
every PDF of the platform has the same header, fonts and table layout.
"""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Iterable, Sequence

import pandas as pd
from fpdf import FPDF
from fpdf.enums import XPos, YPos


def _latin1(text: str) -> str:
    """The core PDF fonts are Latin-1: replace what they cannot draw instead of failing."""
    replacements = {"\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                    "\u2265": ">=", "\u2264": "<=", "\u00b1": "+/-", "\u2026": "...", "\u2022": "-"}
    for a, b in replacements.items():
        text = text.replace(a, b)
    return text.encode("latin-1", "replace").decode("latin-1")


class Report(FPDF):
    def __init__(self, title: str, subtitle: str = ""):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.report_title = _latin1(title)
        self.set_auto_page_break(auto=True, margin=15)
        self.set_title(self.report_title)
        self.add_page()
        self.set_font("Helvetica", "B", 16)
        self.multi_cell(0, 8, self.report_title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if subtitle:
            self.set_font("Helvetica", "", 10)
            self.multi_cell(0, 5, _latin1(subtitle), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(2)

    def footer(self):
        self.set_y(-12)
        self.set_font("Helvetica", "I", 8)
        self.cell(0, 8, f"{self.report_title} - generated {date.today().isoformat()} - page {self.page_no()}", align="C")

    def heading(self, text: str) -> None:
        self.ln(2)
        self.set_font("Helvetica", "B", 12)
        self.multi_cell(0, 7, _latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def paragraph(self, text: str, size: int = 10) -> None:
        self.set_font("Helvetica", "", size)
        self.multi_cell(0, 5, _latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def table(self, headers: Sequence[str], rows: Iterable[Sequence], widths: Sequence[float] | None = None) -> None:
        self.set_font("Helvetica", "", 9)
        with FPDF.table(self, col_widths=widths, text_align="LEFT", line_height=5) as tbl:
            head = tbl.row()
            for h in headers:
                head.cell(_latin1(str(h)))
            for r in rows:
                row = tbl.row()
                for v in r:
                    row.cell(_latin1("" if v is None else str(v)))

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
