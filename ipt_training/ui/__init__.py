"""Reusable Streamlit widgets and session helpers (the only place, with app_pages, that imports Streamlit)."""
