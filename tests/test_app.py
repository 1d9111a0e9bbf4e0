"""The app through AppTest: first run and sign-in (navigation by role: tests/test_access.py)."""

from apphelp import app_as, texts


def test_first_run_offers_admin_creation_and_demo(app_env):
    at = app_as(None)
    assert not at.exception
    assert "Welcome to the IPT training" in at.title[0].value
    assert any(b.label == "Load demo data" for b in at.button)
    # no demo data yet: the passwords are shown only once it is loaded (issue 17)
    assert "demo-pass" not in texts(at)


def test_load_demo_data_confirms_and_the_sign_in_page_lists_the_demo_accounts(app_env):
    from ipt_training.demo import DEMO_ACCOUNTS

    at = app_as(None)
    next(b for b in at.button if b.label == "Load demo data").click().run()
    assert not at.exception
    assert at.title[0].value == "Sign in"
    assert any("Demo data loaded" in s.value for s in at.success)
    shown = texts(at)
    for account in DEMO_ACCOUNTS:
        assert account.username in shown and account.password in shown
    at.run()  # the confirmation is said once; the accounts stay while the data is demo data
    assert not any("Demo data loaded" in s.value for s in at.success)
    assert "admin-demo-pass" in texts(at)


def test_sign_in_page_shows_no_demo_account_in_a_real_deployment(app_env):
    from ipt_training import auth
    from ipt_training.config import get_settings
    from ipt_training.store import open_store

    db = open_store(get_settings().db_path)
    auth.create_user(db, "chair", "long-enough-1", ["admin"], "Board Chair")
    db.conn.close()
    at = app_as(None)
    assert at.title[0].value == "Sign in"
    assert "demo-pass" not in texts(at) and "Demo accounts" not in texts(at)


def test_a_real_account_beside_demo_data_hides_the_demo_accounts(app_demo, demo_db):
    from ipt_training import auth

    assert "trainee-demo-pass" in texts(app_as(None))
    auth.create_user(demo_db, "chair", "long-enough-1", ["admin"], "Board Chair")
    assert "demo-pass" not in texts(app_as(None))


def test_first_run_creates_admin_and_signs_in(app_env):
    at = app_as(None)
    at.text_input(key="fr_username").input("chair")
    at.text_input(key="fr_display").input("Board Chair")
    at.text_input(key="fr_pw1").input("long-enough-1")
    at.text_input(key="fr_pw2").input("long-enough-1")
    at.button[0].click().run()  # form submit
    assert not at.exception
    assert at.session_state["user_id"] == 1
    assert "Welcome, Board Chair" in texts(at)


def test_first_run_mismatched_passwords_refused(app_env):
    at = app_as(None)
    at.text_input(key="fr_username").input("chair")
    at.text_input(key="fr_pw1").input("long-enough-1")
    at.text_input(key="fr_pw2").input("long-enough-2")
    at.button[0].click().run()
    assert "passwords differ" in texts(at)
    assert "user_id" not in at.session_state


def test_sign_in_refuses_a_wrong_password_then_signs_in(demo_db_path, app_demo):
    at = app_as(None)
    assert at.title[0].value == "Sign in"
    at.text_input(key="si_username").input("trainee")
    at.text_input(key="si_password").input("nope-nope")
    at.button[0].click().run()
    assert "wrong" in at.error[0].value
    at.text_input(key="si_password").input("trainee-demo-pass")
    at.button[0].click().run()
    assert not at.exception
    assert "Welcome, Tara Trainee" in texts(at)



def test_upload_limits_on_the_pages_agree_with_the_configuration(app_demo, demo_db, monkeypatch):
    """The limits the pages state are the configured ones, and Streamlit's own cap lets them through."""
    import tomllib

    from ipt_training import auth
    from ipt_training.config import PROJECT_ROOT, get_settings

    monkeypatch.setenv("IPT_TRAINING_MAX_UPLOAD_MB", "150")
    monkeypatch.setenv("IPT_TRAINING_MAX_TRANSCRIPT_MB", "3")
    monkeypatch.setenv("IPT_TRAINING_MAX_CERTIFICATE_MB", "7")
    trainee = auth.find_user(demo_db, "trainee")
    shown = texts(app_as(trainee.id, "add_session.py"))
    assert "at most 150 MB" in shown and "at most 3 MB" in shown
    labels = [u.label for u in app_as(trainee.id, "my_evidence.py").get("file_uploader")]
    assert any("at most 7 MB" in label for label in labels), labels

    monkeypatch.delenv("IPT_TRAINING_MAX_UPLOAD_MB")
    monkeypatch.delenv("IPT_TRAINING_MAX_TRANSCRIPT_MB")
    monkeypatch.delenv("IPT_TRAINING_MAX_CERTIFICATE_MB")
    settings = get_settings()
    assert settings.max_upload_mb == 200  # the figure for recordings
    server = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text())["server"]
    assert server["maxUploadSize"] >= max(settings.max_upload_mb, settings.max_transcript_mb, settings.max_certificate_mb)


def test_a_demo_account_whose_password_was_changed_is_no_longer_listed(app_demo, demo_db):
    from ipt_training import auth

    trainee = auth.find_user(demo_db, "trainee")
    auth.change_password(demo_db, trainee.id, "trainee-demo-pass", "a-private-phrase-73")
    shown = texts(app_as(None))
    assert "admin-demo-pass" in shown  # the others still hold their demo passwords
    assert "trainee-demo-pass" not in shown
