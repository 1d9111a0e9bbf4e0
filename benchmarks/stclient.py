"""A browser-less Streamlit client (issue 16): Streamlit's own WebSocket protocol, spoken directly.

The browser's part, kept to what the server sees: ``GET /_stcore/health`` (which sets Streamlit's
XSRF cookie), a WebSocket on ``/_stcore/stream`` with the cookies and the subprotocols
``streamlit, <XSRF cookie>`` (as Streamlit's frontend opens it), then one ``BackMsg`` per action:
``rerun_script`` with the page's script hash (or, at the first load, the page's URL path as its
name), the URL in ``context_info`` and the values of the widgets of the page (a button or a form's
submit button as a one-time trigger). The server answers with ``ForwardMsg``s: ``new_session`` when
a run starts (with the page's script hash), ``navigation`` (the pages of the menu), ``delta``s that
build the page at their ``delta_path`` (a ``Block`` or an ``Element``), and ``script_finished``
when the run ends (0: finished, 3: a fragment's run finished, 2: stopped early for a rerun, which
is not an end: another run follows).

A widget is found as a person finds it, by its label or by its key (Streamlit puts the key at the
end of the widget's id: ``$$ID-<hash>-<key>``), optionally inside a container of a given key.
Nothing is drawn: the client keeps the page as a map from delta path to element and parses
each message once (protobuf), so 20 of them cost the harness little beside the server.

Like the frontend, it keeps the large elements the server marks ``cacheable`` by their hash and
lists those hashes in every rerun request (``cached_message_hashes``); the server then sends a
``ref_hash`` in place of an element the client already holds, and the client draws its copy.
"""

from __future__ import annotations

import asyncio
import http.client
import time
from dataclasses import dataclass
from typing import Iterable, Iterator, Optional
from urllib.parse import urlsplit

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

ID_PREFIX = "$$ID-"
MAIN, SIDEBAR = 0, 1  # the root containers of a page (delta_path[0])
FINISHED = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)
WIDGET_TYPES = {"button", "button_group", "checkbox", "date_input", "download_button", "multiselect", "number_input",
                "radio", "selectbox", "slider", "text_area", "text_input", "time_input"}
ERROR_FORMAT = 1  # Alert.Format.ERROR


# --- pure parts: messages and the page -------------------------------------------------------


def user_key(element_id: str) -> Optional[str]:
    """The key a widget or container was given (``st.button(..., key=...)``), read off its id."""
    if not element_id.startswith(ID_PREFIX):
        return None
    parts = element_id[len(ID_PREFIX):].split("-", 1)
    return parts[1] if len(parts) == 2 and parts[1] else None


def rerun_message(widgets: list[WidgetState], url: str, page_script_hash: str = "", page_name: str = "",
                  query_string: str = "", cached: Iterable[str] = (), fragment_id: str = "") -> bytes:
    """A ``BackMsg`` asking for a run, as the frontend builds it: the page by its script hash
    (or by its URL path at the first load, when the hash is not known yet), the widgets'
    values, the hashes of the messages the tab keeps (``cached``), the browser's context
    (time zone, locale, the URL it shows), and the fragment to rerun alone when the widget that
    changed is inside one (``st.fragment``)."""
    msg = BackMsg()
    state = msg.rerun_script
    state.query_string = query_string
    state.page_script_hash = page_script_hash
    state.page_name = page_name
    state.fragment_id = fragment_id
    state.widget_states.widgets.extend(widgets)
    state.cached_message_hashes.extend(cached)
    info = state.context_info
    info.timezone, info.timezone_offset, info.locale, info.url = "UTC", 0, "en-US", url
    info.is_embedded, info.color_scheme = False, "light"
    return msg.SerializeToString()


def text_value(widget_id: str, text: str) -> WidgetState:
    """A text input's or text area's value (sent when it is committed: Enter, or leaving the box)."""
    return WidgetState(id=widget_id, string_value=text)


def trigger(widget_id: str) -> WidgetState:
    """A button click (or a form's submit button): true for one run only."""
    return WidgetState(id=widget_id, trigger_value=True)


def choice(widget_id: str, *labels: str) -> WidgetState:
    """A segmented control's or pills' selection, by the options' labels as shown."""
    state = WidgetState(id=widget_id)
    state.string_array_value.data.extend(labels)
    return state


def resolve(msg: ForwardMsg, cache: dict[str, ForwardMsg]) -> Optional[ForwardMsg]:
    """The message to apply: a ``ref_hash`` replaced by the kept message it names, placed where
    the reference says (its metadata), or None when the tab does not hold it; a cacheable
    message is kept."""
    if msg.WhichOneof("type") == "ref_hash":
        kept = cache.get(msg.ref_hash)
        if kept is None:
            return None
        full = ForwardMsg()
        full.CopyFrom(kept)
        full.metadata.CopyFrom(msg.metadata)
        return full
    if msg.metadata.cacheable and msg.hash:
        cache[msg.hash] = msg
    return msg


@dataclass
class Node:
    path: tuple[int, ...]
    kind: str  # "block", or the element's type ("button", "markdown", ...)
    proto: object  # the Block, or the element's own message (Button, Markdown, ...)
    fragment_id: str = ""  # the fragment (``st.fragment``) that drew it, if any

    @property
    def id(self) -> str:
        return getattr(self.proto, "id", "") or ""

    @property
    def key(self) -> Optional[str]:
        return user_key(self.id)

    @property
    def label(self) -> str:
        return getattr(self.proto, "label", "") if self.kind != "block" else ""

    @property
    def text(self) -> str:
        """What it shows as text (headings, Markdown and captions, alerts, exceptions)."""
        for name in ("body", "message"):
            value = getattr(self.proto, name, None)
            if isinstance(value, str):
                return value
        return ""


class Page:
    """The page as the last runs drew it: delta path -> node. A run that starts clears it (every
    run draws the whole page again); a fragment's run only replaces what it draws."""

    def __init__(self) -> None:
        self.nodes: dict[tuple[int, ...], Node] = {}
        self.page_script_hash = ""
        self.pages: dict[str, object] = {}  # menu title -> AppPage (script hash, URL path)
        self.page_not_found = False

    def apply(self, msg: ForwardMsg) -> Optional[int]:
        """Take one message in; return the run's end status when it is ``script_finished``."""
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            if msg.metadata.run.fragment_ids:  # a fragment's run: only what it draws is replaced
                return None
            self.nodes.clear()
            self.page_not_found = False
            self.page_script_hash = msg.new_session.page_script_hash
        elif kind == "delta":
            self._delta(tuple(msg.metadata.delta_path), msg.delta)
        elif kind == "navigation":
            self.pages = {p.page_name: p for p in msg.navigation.app_pages}
            if msg.navigation.page_script_hash:
                self.page_script_hash = msg.navigation.page_script_hash
        elif kind == "page_not_found":
            self.page_not_found = True
        elif kind == "script_finished":
            return msg.script_finished
        return None

    def _delta(self, path: tuple[int, ...], delta) -> None:
        which = delta.WhichOneof("type")
        if which == "add_block":
            node = Node(path, "block", delta.add_block, delta.fragment_id)
        elif which == "new_element":
            element = delta.new_element
            kind = element.WhichOneof("type") or "empty"
            node = Node(path, kind, getattr(element, kind), delta.fragment_id)
        else:  # new_transient: spinners and toasts, not part of the page
            return
        old = self.nodes.get(path)
        if old is not None and old.kind == "block":  # a container replaced: its content goes with it
            n = len(path)
            for p in [p for p in self.nodes if len(p) > n and p[:n] == path]:
                del self.nodes[p]
        self.nodes[path] = node

    # finding things, in the order the page shows them

    def walk(self, under: Optional[tuple[int, ...]] = None, root: Optional[int] = None) -> Iterator[Node]:
        n = len(under) if under is not None else 0
        for path in sorted(self.nodes):
            if under is not None and (len(path) <= n or path[:n] != under):
                continue
            if root is not None and path[0] != root:
                continue
            yield self.nodes[path]

    def blocks(self, key_prefix: str) -> list[Node]:
        """Containers whose key starts with ``key_prefix``."""
        return [b for b in self.walk() if b.kind == "block" and (b.key or "").startswith(key_prefix)]

    def block(self, key: str) -> Optional[Node]:
        return next((b for b in self.walk() if b.kind == "block" and b.key == key), None)

    def widgets(self, kind: Optional[str] = None, label: Optional[str] = None, under: Optional[Node] = None,
                root: Optional[int] = None) -> list[Node]:
        """Widgets, of one type and label if given, inside the container ``under`` if given."""
        return [w for w in self.walk(under.path if under is not None else None, root)
                if w.kind in WIDGET_TYPES and (kind is None or w.kind == kind) and (label is None or w.label == label)]

    def widget(self, kind: str, label: Optional[str] = None, under: Optional[Node] = None) -> Optional[Node]:
        found = self.widgets(kind, label, under)
        return found[0] if found else None

    def shows(self, text: str, root: Optional[int] = MAIN) -> bool:
        """Whether some heading, Markdown, caption or alert of the page contains ``text``."""
        return any(text in n.text for n in self.walk(root=root))

    def headings(self) -> list[str]:
        return [n.text for n in self.walk() if n.kind == "heading"]

    def errors(self) -> list[str]:
        """The page's error messages (alerts of the error kind) and exceptions."""
        return [n.text for n in self.walk() if (n.kind == "alert" and n.proto.format == ERROR_FORMAT)
                or n.kind == "exception"]


# --- the connection ------------------------------------------------------------------------


def http_get(url: str, cookies: dict[str, str], timeout: float = 30) -> tuple[int, dict[str, str], dict[str, str]]:
    """One GET, redirects not followed: (status, headers, cookies set). Blocking (run it in a
    thread from the event loop)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers)
        response = conn.getresponse()
        response.read()
        set_cookies = {}
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                k, _, v = pair.partition("=")
                set_cookies[k.strip()] = v.strip().strip('"')
        return response.status, {k.lower(): v for k, v in response.getheaders()}, set_cookies
    finally:
        conn.close()


class RunFailed(Exception):
    """The run a request started did not end well (timed out, or the script failed to compile)."""


class Client:
    """One person's browser tab, without the browser: a WebSocket, the page as drawn, the
    values of its widgets, the cookies."""

    def __init__(self, base_url: str, timeout_s: float = 60):
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.cookies: dict[str, str] = {}
        self.page = Page()
        self.values: dict[str, WidgetState] = {}  # widget id -> the value this tab holds
        self.cache: dict[str, ForwardMsg] = {}  # hash -> a cacheable message received
        self.refs = 0  # elements the server sent as a reference to a kept message
        self.unknown_refs = 0  # references to messages this tab does not hold (never expected)
        self.url_path = ""
        self.ws = None
        self._reader: Optional[asyncio.Task] = None
        self._waiter: Optional[asyncio.Future] = None

    # connection

    async def open(self, url_path: str = "") -> float:
        """Load the app at ``url_path`` (health check for the XSRF cookie, WebSocket, first run);
        the first run's time in ms."""
        from websockets.asyncio.client import connect

        await self.close()
        _, _, set_cookies = await asyncio.to_thread(http_get, f"{self.base_url}/_stcore/health", self.cookies)
        self.cookies.update(set_cookies)
        ws_url = "ws" + self.base_url.removeprefix("http") + "/_stcore/stream"
        protocols = ["streamlit"] + ([self.cookies["_streamlit_xsrf"]] if "_streamlit_xsrf" in self.cookies else [])
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        self.ws = await connect(ws_url, additional_headers=headers, subprotocols=protocols, origin=self.base_url,
                                max_size=None, open_timeout=self.timeout_s)
        self._reader = asyncio.create_task(self._read())
        self.page, self.values, self.url_path = Page(), {}, url_path
        return await self.request(rerun_message([], self._url(), page_name=url_path, cached=self.cache))

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
            self.ws = None
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - the connection is gone either way
                pass
            self._reader = None

    async def _read(self) -> None:
        try:
            async for data in self.ws:
                msg = ForwardMsg()
                msg.ParseFromString(data)
                ref = msg.WhichOneof("type") == "ref_hash"
                msg = resolve(msg, self.cache)
                if msg is None:
                    self.unknown_refs += 1
                    continue
                self.refs += ref
                status = self.page.apply(msg)
                if status is not None and self._waiter is not None and not self._waiter.done():
                    if status in FINISHED:
                        self._waiter.set_result(time.perf_counter())
                    elif status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                        self._waiter.set_exception(RunFailed("the script failed to compile"))
        except Exception as exc:  # noqa: BLE001 - the connection closed: whoever waits is told
            if self._waiter is not None and not self._waiter.done():
                self._waiter.set_exception(RunFailed(f"connection lost ({type(exc).__name__})"))
            return
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(RunFailed("connection closed"))

    def _url(self) -> str:
        return f"{self.base_url}/{self.url_path}"

    async def request(self, data: bytes) -> float:
        """Send one BackMsg and wait for the end of the run it starts; the time in ms from the
        send to ``script_finished``."""
        if self.ws is None or self._reader is None or self._reader.done():
            raise RunFailed("not connected")
        self._waiter = asyncio.get_running_loop().create_future()
        t0 = time.perf_counter()
        try:
            await self.ws.send(data)
        except Exception as exc:  # noqa: BLE001 - websockets' ConnectionClosed and the like
            self._waiter = None
            raise RunFailed(f"connection lost ({type(exc).__name__})") from None
        try:
            t1 = await asyncio.wait_for(self._waiter, self.timeout_s)
        except asyncio.TimeoutError:
            raise RunFailed(f"no run ended within {self.timeout_s:.0f} s") from None
        finally:
            self._waiter = None
        self._after_run()
        return (t1 - t0) * 1000

    def _after_run(self) -> None:
        """As the frontend does once a run has ended: forget the values of widgets no longer on
        the page, and take the server's value where it set one (``set_value``)."""
        ids = {w.id: w for w in self.page.widgets()}
        for wid in list(self.values):
            w = ids.get(wid)
            if w is None or getattr(w.proto, "set_value", False):
                del self.values[wid]

    # actions

    async def rerun(self, *changes: WidgetState, page_script_hash: Optional[str] = None) -> float:
        """A run of the current page (or of ``page_script_hash``) with the widget values this tab
        holds, ``changes`` applied (a trigger is sent once, never kept)."""
        sent = dict(self.values)
        for change in changes:
            sent[change.id] = change
            if change.WhichOneof("value") != "trigger_value":
                self.values[change.id] = change
        # as the frontend does: a change of a widget inside a fragment reruns that fragment alone
        drawn = {w.id: w for w in self.page.widgets()} if changes else {}
        fragments = {drawn[c.id].fragment_id for c in changes if c.id in drawn}
        fragment = fragments.pop() if len(fragments) == 1 and page_script_hash is None else ""
        return await self.request(rerun_message(list(sent.values()), self._url(),
                                                page_script_hash=page_script_hash or self.page.page_script_hash,
                                                cached=self.cache, fragment_id=fragment))

    async def navigate(self, title: str) -> float:
        """Open the page of the menu called ``title``."""
        target = self.page.pages.get(title)
        if target is None:
            raise LookupError(f"no page {title!r} in the menu")
        self.url_path = target.url_pathname
        return await self.rerun(page_script_hash=target.page_script_hash)

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()
