"""Search boxes, date ranges and a pager shared by the list pages (issue 17).

The matching itself is :mod:`ipt_training.finding` (pure) or the store's parameterised SQL;
these widgets only collect what the person typed and show one page of rows.
"""

from __future__ import annotations

from datetime import date
from typing import Optional, Sequence

import streamlit as st

from ..finding import PAGE_SIZE, clamp_page, page_count, page_of, range_problem


def search_box(label: str, key: str, placeholder: str = "") -> str:
    """A free-text search field; the text is matched literally, ignoring case."""
    return st.text_input(label, key=key, placeholder=placeholder, icon=":material/search:")


def date_range(key: str, label: str = "Date", where=None) -> tuple[Optional[date], Optional[date]]:
    """Two optional dates, from and to (both days included). A range the wrong way round is
    reported in a sentence and treated as no range."""
    where = where if where is not None else st
    c1, c2 = where.columns(2)
    since = c1.date_input(f"{label} from", value=None, key=f"{key}_from", format="YYYY-MM-DD")
    until = c2.date_input(f"{label} to", value=None, key=f"{key}_to", format="YYYY-MM-DD")
    if problem := range_problem(since, until):
        st.warning(problem)
        return None, None
    return since, until


def pager(n_items: int, key: str, per_page: int = PAGE_SIZE) -> int:
    """Which page to show (1-based): a page number input when the rows fill more than one
    page, and a caption saying which rows are shown."""
    pages = page_count(n_items, per_page)
    if key in st.session_state:  # a narrower filter must not leave the page past the end
        st.session_state[key] = clamp_page(st.session_state[key], n_items, per_page)
    page = 1
    if pages > 1:
        page = int(st.number_input(f"Page (of {pages})", min_value=1, max_value=pages, step=1, key=key))
    if n_items:
        first = (page - 1) * per_page + 1
        st.caption(f"Showing {first}–{min(page * per_page, n_items)} of {n_items:,}.")
    return page


def paged(items: Sequence, key: str, per_page: int = PAGE_SIZE) -> list:
    """The rows of the page chosen with :func:`pager`."""
    return page_of(items, pager(len(items), key, per_page), per_page)
