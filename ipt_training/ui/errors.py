"""Unexpected errors: the details go to the server log under an id, the person sees a sentence.

``.streamlit/config.toml`` sets ``client.showErrorDetails = "none"``, so Streamlit itself never
shows a traceback or an exception's text in the browser (issue 15, finding 15). The router runs
each page through :func:`run_page`, which adds what Streamlit lacks: an id that ties the
sentence on the screen to the full traceback in the server's log.
"""

from __future__ import annotations

import logging
import secrets

import streamlit as st
from streamlit.errors import FragmentHandledException
from .text import plain

LOG = logging.getLogger("ipt_training")
if not LOG.handlers:  # Streamlit configures only its own loggers
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    LOG.addHandler(_handler)
    LOG.setLevel(logging.INFO)


def _in_app_test() -> bool:
    # AppTest patches the attribute streamlit.config.get_option, not st.get_option's own reference
    from streamlit import config

    return bool(config.get_option("global.appTest"))


def run_page(page, reraise: bool | None = None) -> None:
    """Run ``page`` (an ``st.navigation`` result); log any error it raises with a fresh id and
    show that id in a sentence. ``st.stop``/``st.rerun`` are not errors and pass through.

    Under AppTest (``reraise=None`` there) the error is logged and raised again, so page tests
    still see it as ``at.exception``.
    """
    try:
        page.run()
    except FragmentHandledException:  # a fragment's error, already shown by Streamlit
        raise
    except Exception as exc:
        error_id = secrets.token_hex(4)
        LOG.error("error %s on page %r", error_id, getattr(page, "url_path", "?"), exc_info=exc)
        if reraise if reraise is not None else _in_app_test():
            raise
        st.error(f"Something went wrong and this page could not be shown (error {error_id}). Reload the page to "
                 "try again; if it happens again, tell your administrator this error id, which finds the details "
                 "in the server log.", icon=":material/error:")


def pdf_download(label: str, build, *, file_name: str, key: str, where=None, icon: str = ":material/picture_as_pdf:",
                 expected: tuple = ()) -> bool:
    """A download button for a PDF built now by ``build()``; when it cannot be built, a sentence
    in its place and the rest of the page carries on (issue 14). Errors in ``expected`` (and
    :class:`reports.PdfError`) are the user's to fix and are shown as they are; anything else is
    logged under an id the sentence gives. Returns whether the button was drawn."""
    from ..reports import PdfError

    where = where if where is not None else st
    try:
        data = build()
    except (PdfError, *expected) as exc:
        where.error(plain(str(exc)), icon=":material/picture_as_pdf:")
        return False
    except Exception as exc:  # noqa: BLE001 - a broken PDF must not take the page down
        error_id = secrets.token_hex(4)
        LOG.error("error %s building the PDF %r", error_id, file_name, exc_info=exc)
        where.error(f"The PDF could not be built (error {error_id}); everything else on this page works. Tell your "
                    "administrator this error id, which finds the details in the server log.",
                    icon=":material/picture_as_pdf:")
        return False
    where.download_button(label, data, file_name=file_name, mime="application/pdf", key=key, icon=icon)
    return True
