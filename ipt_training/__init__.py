"""IPT training and fidelity platform: the importable core.

Nothing in this package imports Streamlit outside ``ui/`` and ``app_pages/``.
"""

__version__ = "0.1.0"
