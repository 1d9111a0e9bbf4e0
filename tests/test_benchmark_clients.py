"""The WebSocket client of the concurrency benchmark (benchmarks/stclient.py, issue 16), without a
server: the BackMsg it sends (read back with Streamlit's own protobuf classes), the page it builds
from ForwardMsgs, how it finds widgets by label and by key, and the widget values it keeps."""

from benchmarks.workload import run_async

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from benchmarks.stclient import (MAIN, SIDEBAR, Client, Page, choice, rerun_message, resolve, text_value, trigger,
                                user_key)


def test_the_key_is_read_off_the_widget_id():
    assert user_key("$$ID-084bbcf486f1c1b7a1edaef3b5290bd4-FormSubmitter:sign_in-Sign in") == "FormSubmitter:sign_in-Sign in"
    assert user_key("$$ID-813331d10662014faec8bf41bfce0ef1-rq_row_12") == "rq_row_12"
    assert user_key("$$ID-813331d10662014faec8bf41bfce0ef1-") is None  # no key given
    assert user_key("") is None and user_key("plain-id") is None


def test_a_rerun_request_carries_the_page_the_widgets_and_the_url():
    data = rerun_message([text_value("a", "Okafor"), trigger("b"), choice("c", "4")], "http://127.0.0.1:1/rating_queue",
                         page_script_hash="abc123")
    msg = BackMsg()
    msg.ParseFromString(data)
    assert msg.WhichOneof("type") == "rerun_script"
    state = msg.rerun_script
    assert (state.page_script_hash, state.page_name, state.query_string) == ("abc123", "", "")
    assert state.context_info.url == "http://127.0.0.1:1/rating_queue" and state.context_info.timezone == "UTC"
    by_id = {w.id: w for w in state.widget_states.widgets}
    assert by_id["a"].WhichOneof("value") == "string_value" and by_id["a"].string_value == "Okafor"
    assert by_id["b"].WhichOneof("value") == "trigger_value" and by_id["b"].trigger_value is True
    assert list(by_id["c"].string_array_value.data) == ["4"]
    # the first load names the page by its URL path: the script hash is not known yet
    first = BackMsg()
    first.ParseFromString(rerun_message([], "http://127.0.0.1:1/", page_name="sign_in"))
    assert (first.rerun_script.page_script_hash, first.rerun_script.page_name) == ("", "sign_in")
    assert not first.rerun_script.widget_states.widgets and not first.rerun_script.cached_message_hashes
    kept = BackMsg()
    kept.ParseFromString(rerun_message([], "http://127.0.0.1:1/", cached={"h1": None, "h2": None}))
    assert sorted(kept.rerun_script.cached_message_hashes) == ["h1", "h2"]


def test_a_large_element_is_kept_and_a_reference_to_it_is_drawn_where_the_reference_says():
    cache = {}
    big = _element([MAIN, 3], "markdown", body="A long table")
    big.hash, big.metadata.cacheable = "h-big", True
    small = _element([MAIN, 4], "markdown", body="short")
    small.hash = "h-small"
    assert resolve(big, cache) is big and resolve(small, cache) is small
    assert set(cache) == {"h-big"}  # only what the server marked cacheable
    ref = ForwardMsg()
    ref.ref_hash = "h-big"
    ref.metadata.delta_path[:] = [MAIN, 7]
    page = Page()
    page.apply(resolve(ref, cache))
    assert page.nodes[(MAIN, 7)].text == "A long table"
    assert cache["h-big"].metadata.delta_path[:] == [MAIN, 3]  # the kept message is not changed
    unknown = ForwardMsg()
    unknown.ref_hash = "h-never-sent"
    assert resolve(unknown, cache) is None


def _delta(path, build) -> ForwardMsg:
    msg = ForwardMsg()
    msg.metadata.delta_path[:] = path
    build(msg.delta)
    return msg


def _block(path, key=None):
    def build(d):
        d.add_block.vertical.SetInParent()
        if key:
            d.add_block.id = f"$$ID-0f0f-{key}"
    return _delta(path, build)


def _element(path, kind, **fields):
    def build(d):
        proto = getattr(d.new_element, kind)
        for name, value in fields.items():
            setattr(proto, name, value)
        proto.SetInParent()
    return _delta(path, build)


def _new_session(page_hash) -> ForwardMsg:
    msg = ForwardMsg()
    msg.new_session.page_script_hash = page_hash
    return msg


def _finished(status) -> ForwardMsg:
    msg = ForwardMsg()
    msg.script_finished = status
    return msg


def _queue_page() -> Page:
    """A rating queue as the server sends it: a heading, a search box, two rows each with an
    Open button, a sidebar button, then the end of the run."""
    page = Page()
    nav = ForwardMsg()
    for title, h, url in (("Home", "h-home", ""), ("Rating queue", "h-queue", "rating_queue")):
        p = nav.navigation.app_pages.add()
        p.page_name, p.page_script_hash, p.url_pathname = title, h, url
    msgs = [_new_session("h-queue"), nav,
            _element([MAIN, 0], "heading", body="Rating queue"),
            _element([MAIN, 1], "text_input", id="$$ID-aa-rq_text", label="Search session, therapist or number"),
            _block([MAIN, 2], "rq_row_7"),
            _element([MAIN, 2, 0], "markdown", body="**Case B**"),
            _element([MAIN, 2, 1], "button", id="$$ID-bb-rq_open_70", label="Open"),
            _block([MAIN, 3], "rq_row_12"),
            _element([MAIN, 3, 0], "button", id="$$ID-cc-rq_open_120", label="Open"),
            _element([SIDEBAR, 0], "button", id="$$ID-dd-sign_out", label="Sign out")]
    assert all(page.apply(m) is None for m in msgs)
    assert page.apply(_finished(ForwardMsg.FINISHED_SUCCESSFULLY)) == ForwardMsg.FINISHED_SUCCESSFULLY
    return page


def test_the_page_finds_widgets_by_label_by_key_and_inside_a_container():
    page = _queue_page()
    assert page.page_script_hash == "h-queue" and set(page.pages) == {"Home", "Rating queue"}
    assert page.widget("text_input", "Search session, therapist or number").key == "rq_text"
    # the Open button of one row, found through its row's key, not the other row's
    assert page.widget("button", under=page.block("rq_row_12")).key == "rq_open_120"
    assert page.widget("button", under=page.block("rq_row_7")).key == "rq_open_70"
    assert [b.key for b in page.blocks("rq_row_")] == ["rq_row_7", "rq_row_12"]  # in the page's order
    assert [w.label for w in page.widgets("button")] == ["Open", "Open", "Sign out"]
    assert [w.label for w in page.widgets("button", root=MAIN)] == ["Open", "Open"]
    assert page.block("rq_row_99") is None and page.widget("button", "Submit rating") is None
    assert page.headings() == ["Rating queue"] and page.shows("Case B") and not page.shows("Case C")


def test_errors_are_the_error_alerts_and_exceptions_only():
    page = _queue_page()
    page.apply(_element([MAIN, 4], "alert", body="Saved.", format=4))
    page.apply(_element([MAIN, 5], "alert", body="Nothing to rate.", format=3))
    assert page.errors() == []
    page.apply(_element([MAIN, 6], "alert", body="This rating is locked.", format=1))
    page.apply(_element([MAIN, 7], "exception", message="KeyError: 'x'"))
    assert page.errors() == ["This rating is locked.", "KeyError: 'x'"]


def test_a_new_run_draws_the_page_again_and_a_replaced_container_loses_its_content():
    page = _queue_page()
    page.apply(_block([MAIN, 2]))  # the row is drawn again as an empty container: its button goes
    assert page.widget("button", under=page.nodes[(MAIN, 2)]) is None
    assert page.widget("button", under=page.block("rq_row_12")) is not None
    page.apply(_new_session("h-home"))
    assert page.nodes == {} and page.page_script_hash == "h-home"
    assert set(page.pages) == {"Home", "Rating queue"}  # the menu stays until the next navigation message
    # spinners and toasts are not part of the page
    transient = ForwardMsg()
    transient.metadata.delta_path[:] = [MAIN, 0]
    transient.delta.new_transient.SetInParent()
    page.apply(transient)
    assert page.nodes == {}
    assert page.apply(_finished(ForwardMsg.FINISHED_EARLY_FOR_RERUN)) == ForwardMsg.FINISHED_EARLY_FOR_RERUN


def _sent(client: Client) -> list[BackMsg]:
    """Replace the client's send-and-wait with a recorder of the BackMsgs it would send."""
    sent = []

    async def request(data: bytes) -> float:
        msg = BackMsg()
        msg.ParseFromString(data)
        sent.append(msg)
        client._after_run()
        return 1.0

    client.request = request
    return sent


def test_the_client_sends_the_values_it_holds_and_a_click_once():
    client = Client("http://127.0.0.1:9")
    client.page = _queue_page()
    sent = _sent(client)
    box = client.page.widget("text_input", "Search session, therapist or number")
    row = client.page.widget("button", under=client.page.block("rq_row_7"))
    run_async(client.rerun(text_value(box.id, "Case B")))
    run_async(client.rerun(trigger(row.id)))
    first, second = (m.rerun_script for m in sent)
    assert first.page_script_hash == "h-queue"
    assert {w.id: w.string_value for w in first.widget_states.widgets} == {box.id: "Case B"}
    # the search text is sent again with the click; the click is not kept for the next request
    assert {w.id: w.WhichOneof("value") for w in second.widget_states.widgets} == {box.id: "string_value",
                                                                                    row.id: "trigger_value"}
    assert set(client.values) == {box.id}
    # a menu page by its script hash, the URL it shows following it
    run_async(client.navigate("Home"))
    assert sent[-1].rerun_script.page_script_hash == "h-home" and sent[-1].rerun_script.context_info.url.endswith(":9/")
    with pytest.raises(LookupError):
        run_async(client.navigate("Audit log"))


def test_after_a_run_the_client_forgets_widgets_gone_and_values_the_server_set():
    client = Client("http://127.0.0.1:9")
    client.page = _queue_page()
    box = client.page.widget("text_input", "Search session, therapist or number")
    client.values = {box.id: text_value(box.id, "Case B"), "$$ID-ee-gone": text_value("$$ID-ee-gone", "x")}
    client._after_run()
    assert set(client.values) == {box.id}  # the widget no longer on the page is forgotten
    client.page.apply(_element([MAIN, 1], "text_input", id=box.id, label=box.label, value="", set_value=True))
    client._after_run()
    assert client.values == {}  # the server emptied the box: its value, not the tab's, holds


def test_two_clients_work_on_a_real_server_and_their_writes_are_in_the_database(tmp_path, demo_template):
    """End to end, briefly: a rater and a trainee sign in through the sign-in form and its cookie
    link, work for 3 seconds on `streamlit run app.py` of a demo copy, and every write the page
    acknowledged is in the database, read back here with sqlite3."""
    import shutil
    import sqlite3
    from concurrent.futures import ThreadPoolExecutor

    from appserver import StreamlitServer
    from benchmarks.clients import run_clients
    from benchmarks.workload import prepare

    data = tmp_path / "data"
    data.mkdir()
    db = data / "app.db"
    shutil.copy(demo_template, db)
    if (demo_template.parent / "issuer").exists():  # the issuer's keys, beside the database
        shutil.copytree(demo_template.parent / "issuer", data / "issuer")
    with ThreadPoolExecutor(1) as worker:  # accounts and assignments made while the server starts
        people = worker.submit(prepare, db, ["rater", "trainee"])
        server = StreamlitServer(data).start()
        people = people.result()
    try:
        # 3 s, and on until two writes are acknowledged (a busy machine may take longer to the first)
        out = run_clients(server.url, server.proc.pid, db, people, seconds=3, think_s=0.05, warm_up=False,
                          until_writes=2)
    finally:
        server.kill()
    assert out["roles"] == {"rater": 1, "trainee": 1}
    assert out["failed"] == 0, out["failures"]
    assert {"rating queue", "vignette library"} <= set(out["by_kind"]), out["by_kind"]
    assert out["visits"] >= 4 and 0 < out["median_ms"] <= out["p95_ms"] <= out["max_ms"]
    assert out["samples"] >= 2 and 50 < out["server_peak_rss_mb"] and out["server_cpu_s"] > 0
    # the writes: every one acknowledged is found, by the harness and by a plain read here
    assert out["writes_acknowledged"] >= 1 and out["lost_writes"] == 0
    assert out["write_keys_found"] == out["write_keys"] >= 1 and out["unknown_refs"] == 0
    with sqlite3.connect(db) as conn:
        scored = conn.execute("""SELECT COUNT(*) FROM item_scores s JOIN ratings r ON r.id = s.rating_id
                                 JOIN recorded_sessions x ON x.id = r.session_id
                                 WHERE x.case_pseudonym LIKE 'Live case %' AND s.score IS NOT NULL""").fetchone()[0]
        answered = conn.execute("SELECT COUNT(*) FROM vignette_attempts WHERE answers LIKE '%Bench answer%'").fetchone()[0]
        hours = conn.execute("SELECT COUNT(*) FROM clinical_hours WHERE setting LIKE 'Bench clinic %'").fetchone()[0]
    kinds = out["write_kinds"]
    assert scored >= kinds.get("item", 0) and hours >= kinds.get("hours", 0)
    assert answered >= (1 if kinds.get("answer") else 0)  # the answers of one attempt share its row
    assert scored + answered + hours >= 1


def test_a_fragment_run_replaces_only_what_it_draws_and_its_widgets_rerun_it_alone():
    client = Client("http://127.0.0.1:9")
    page = client.page = _queue_page()
    inside = _element([MAIN, 4, 0], "button_group", id="$$ID-ff-score_1")
    inside.delta.fragment_id = "frag-items"
    page.apply(_block([MAIN, 4], "items"))
    page.apply(inside)
    control = page.widget("button_group")
    assert control.fragment_id == "frag-items" and page.widget("text_input").fragment_id == ""
    sent = _sent(client)
    run_async(client.rerun(choice(control.id, "4")))
    assert sent[-1].rerun_script.fragment_id == "frag-items"
    box = page.widget("text_input", "Search session, therapist or number")
    run_async(client.rerun(text_value(box.id, "Case B")))
    assert sent[-1].rerun_script.fragment_id == ""  # a widget outside any fragment: the whole page
    # the fragment's run starts with a new_session naming it: the rest of the page stays
    start = _new_session("h-queue")
    start.metadata.run.fragment_ids.append("frag-items")
    page.apply(start)
    assert page.headings() == ["Rating queue"] and page.block("rq_row_7") is not None
    page.apply(_new_session("h-queue"))  # a whole run draws everything again
    assert page.nodes == {}


def test_pauses_are_the_think_time_or_drawn_around_it_the_same_for_a_person_in_every_run():
    from benchmarks.clients import Tab
    from benchmarks.workload import Person

    def pauses(name: str, jitter: float) -> list[float]:
        tab = Tab("http://127.0.0.1:9", Person("rater", 1, name), None, [], 2.0, jitter)
        return [tab.pause_s() for _ in range(50)]

    assert pauses("rater0001", 0.0) == [2.0] * 50  # in step: everyone pauses the same
    drawn = pauses("rater0001", 0.5)
    assert all(1.0 <= p <= 3.0 for p in drawn) and len(set(drawn)) == 50
    assert pauses("rater0001", 0.5) == drawn and pauses("rater0002", 0.5) != drawn
