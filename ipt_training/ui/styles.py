"""The app's own CSS, served with every page (no third-party host): WCAG 2.2 AA fixes to
Streamlit's default look (issue 17, Accessibility).

- Captions and block quotes: Streamlit draws them at 60 % opacity, about 3.9:1 against white
  (WCAG 1.4.3 asks 4.5:1 for body-size text). At 80 % the body colour gives about 7:1 on white
  and 6.7:1 on the sidebar's grey, in the light theme and, as an opacity, in the dark one too.
- Select boxes' open buttons and the day and month fields of date inputs: smaller than 24 px
  beside other controls; WCAG 2.5.8 asks 24 px targets (or the spacing), so they are made at
  least 24 px square.
"""

from __future__ import annotations

import streamlit as st

CSS = """
<style>
[data-testid="stCaptionContainer"], [data-testid="stMarkdownContainer"] blockquote { opacity: 0.8 !important; }
[data-testid="stSelectbox"] button[aria-haspopup="listbox"],
[data-testid="stMultiSelect"] button[aria-haspopup="listbox"] { min-width: 24px !important; min-height: 24px !important; }
[data-testid="stDateInput"] [role="spinbutton"] { display: inline-flex !important; min-width: 24px !important;
  min-height: 24px !important; align-items: center; justify-content: center; }
</style>
"""


def accessible_styles() -> None:
    """Add the app's CSS to the page (a style element only: it takes no space)."""
    st.html(CSS)
