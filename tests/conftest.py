"""Shared fixtures: a fresh store per test, the shipped content, AppTest with a tmp DB."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipt_training.content import load_library
from ipt_training.store import open_store

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def library():
    return load_library(ROOT)


@pytest.fixture
def db(tmp_path):
    return open_store(tmp_path / "test.db")


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory, library):
    """A demo database built once per run; tests copy it (loading demo data hashes passwords)."""
    from ipt_training import demo

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    database = open_store(path)
    demo.load_demo(database, library, data_dir=path.parent / "data")
    database.conn.close()
    return path


@pytest.fixture
def demo_db_path(tmp_path, demo_template, monkeypatch):
    """A private copy of the demo database (and its recordings), wired into the environment."""
    import shutil

    target = tmp_path / "demo.db"
    shutil.copy(demo_template, target)
    src_data = demo_template.parent / "data"
    if src_data.exists():
        shutil.copytree(src_data, tmp_path / "data", dirs_exist_ok=True)
    # the issuer's keys live beside the database (issue 14): the copy signs and verifies as the demo did
    if (demo_template.parent / "issuer").exists():
        shutil.copytree(demo_template.parent / "issuer", tmp_path / "issuer", dirs_exist_ok=True)
    monkeypatch.setenv("IPT_TRAINING_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IPT_TRAINING_DB", str(target))
    return target


@pytest.fixture
def demo_db(demo_db_path):
    return open_store(demo_db_path)


@pytest.fixture
def app_env(tmp_path, monkeypatch):
    """Point the app at an empty tmp data dir and clear Streamlit's caches."""
    import streamlit as st

    from ipt_training.reliability import shared_cache

    monkeypatch.setenv("IPT_TRAINING_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IPT_TRAINING_DB", str(tmp_path / "data" / "app.db"))
    st.cache_resource.clear()
    st.cache_data.clear()
    shared_cache.clear()
    yield tmp_path
    st.cache_resource.clear()
    st.cache_data.clear()
    shared_cache.clear()


@pytest.fixture
def app_demo(demo_db_path):
    """The app on a private copy of the demo database, with Streamlit's caches cleared."""
    import streamlit as st

    from ipt_training.reliability import shared_cache

    st.cache_resource.clear()
    st.cache_data.clear()
    shared_cache.clear()
    yield demo_db_path
    st.cache_resource.clear()
    st.cache_data.clear()
    shared_cache.clear()
