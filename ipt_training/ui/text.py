"""User-supplied text shown as text, never as Markdown or HTML (issue 15, finding 7).

Streamlit renders Markdown (and its own extensions: ``:red[...]``, ``:material/...:``, ``$...$``
for LaTeX) in ``st.markdown``, ``st.write``, ``st.caption``, alerts, titles, toasts and widget
labels. A case pseudonym, transcript cue, comment, note, answer, title, name or reason holding
``![i](http://host/x.png)`` would make every viewer's browser fetch that URL, and
``[link](javascript:...)`` would show a link. :func:`plain` backslash-escapes (CommonMark: an
escaped ASCII punctuation character is always literal) every character that opens a Markdown,
HTML or Streamlit construct anywhere in a line (brackets, angle brackets, emphasis and code
marks, ``$``, ``:``, ``|``, ``~``, ``&``, ``@``, ``{}``), the ones that do so at the start of a
line (``#``, ``-``, ``+``, ``=``, ``>``, ``1.``), and the dot of ``www.`` (a bare-domain
autolink); it drops leading spaces (a code block) and keeps line breaks. Ordinary sentences
keep their full stops, commas, hyphens and parentheses unescaped, and everything reads
exactly as typed.
"""

from __future__ import annotations

import re

_ANYWHERE = re.compile(r"([\\`*_{}\[\]<>|~$:&@])")
_LINE_START = re.compile(r"^()([#+\-=>]|\d+[.)])", re.M)
_WWW = re.compile(r"(www)\.", re.I)
_LEADING = re.compile(r"^[ \t]+", re.M)


def plain(text: object) -> str:
    """``text`` escaped so that Markdown shows it literally (see the module docstring)."""
    s = "" if text is None else str(text)
    s = _LEADING.sub("", s.replace("\r\n", "\n").replace("\r", "\n"))
    s = _ANYWHERE.sub(r"\\\1", s)
    s = _LINE_START.sub(lambda m: "\\" + m.group(2) if not m.group(2)[0].isdigit()
                        else m.group(2)[:-1] + "\\" + m.group(2)[-1], s)
    s = _WWW.sub(r"\1\\.", s)
    return s.replace("\n", "  \n")  # a line break stays a line break
