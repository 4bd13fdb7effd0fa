"""The share panel every result view ends with, and the restoring of a view from a ``?share=`` link.

``share_panel(finding, state, key=...)`` offers the result as a self-contained HTML report and as JSON of its
numbers (:mod:`xai.export.finding`), and a link that reopens the same view with the same settings (:mod:`xai.classroom.share`).
``restored_state(view)`` reads such a link once per session and returns the settings for the page to put into
its widgets (see :func:`apply_state`); a broken, changed or old link shows a plain warning and the default view.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import streamlit as st

from models import registry
from pages._nav import SECTIONS
from xai.classroom import share
from xai.errors import XaiError
from xai.export import finding as fmod
from xai.export import report
from xai.symbolic import examples

QUERY_KEY = "share"
_DONE = "_share_handled"  # session state: the tokens this session has already acted on (as "token|view")


def share_url(view: str, token: str) -> str:
    """The link for a token: absolute when Streamlit knows the browser's URL, else relative to the app."""
    base = ""
    try:
        url = st.context.url or ""
    except (AttributeError, KeyError, RuntimeError):  # outside a browser session (AppTest): relative link
        url = ""
    if url:
        parts = urlsplit(url)
        base = f"{parts.scheme}://{parts.netloc}"
    prefix = (st.get_option("server.baseUrlPath") or "").strip("/")
    path = "/".join(p for p in (prefix, view) if p)
    return f"{base}/{path}?{QUERY_KEY}={token}"


def share_panel(finding: fmod.Finding | None, state: dict, *, key: str, what: str = "the analysis",
                view: str | None = None) -> None:
    """Download buttons (HTML report, JSON) and a share link for a result; a plain message with no result.

    ``state`` holds the view's settings (plain JSON values, within the view's schema in :mod:`xai.classroom.share`);
    ``view`` defaults to ``finding.view``; ``what`` names what to run in the no-result message.
    """
    if finding is None:
        st.info(f"Run {what} first; there is nothing to export yet.")
        return
    view = view or finding.view
    stem = report.safe_filename(finding.title or view)
    try:
        numbers = fmod.to_json(finding)
    except XaiError as e:
        numbers = None
        st.warning(str(e))
    c1, c2, _ = st.columns([1, 1, 2])
    c1.download_button("Report (HTML)", lambda: fmod.to_html_or_note(finding), file_name=f"{stem}_report.html",
                       mime="text/html", icon=":material/description:", on_click="ignore", key=key + "share_html",
                       help="One file that opens offline: figures, numbers, parameters, audio, the model's card.")
    if numbers is not None:
        c2.download_button("Numbers (JSON)", numbers.encode("utf-8"), file_name=f"{stem}_finding.json",
                           mime="application/json", icon=":material/data_object:", on_click="ignore",
                           key=key + "share_json", help="The parameters and every number of this result.")
    try:
        token = share.encode(view, state)
    except XaiError as e:
        st.caption(f"No share link: {e}")
        return
    st.markdown("**Share link** — opens this view with the same settings (copy it with the icon on the right):")
    st.code(share_url(view, token), language=None, wrap_lines=True)


def _seen(mark: str) -> bool:
    return mark in st.session_state.get(_DONE, [])


def _handled(mark: str) -> bool:
    """Whether the mark was already set; sets it."""
    if _seen(mark):
        return True
    st.session_state[_DONE] = [*st.session_state.get(_DONE, []), mark]
    return False


def _token() -> str | None:
    try:
        return st.query_params.get(QUERY_KEY) or None
    except (AttributeError, KeyError, RuntimeError):  # no query string outside a browser session
        return None


def share_target(current_view: str) -> str | None:
    """For app.py: the page path a ``?share=`` link names when it is not the current page (once per session);
    ``current_view`` is the running page's url path (``nav.url_path``).

    A link that cannot be read shows the plain warning here and leaves the default view.
    """
    token = _token()
    if token is None:  # navigated away from the link: opening it (or a preset) again restores it again
        st.session_state.pop(_DONE, None)
        return None
    if _handled(f"{token}|@app"):
        return None
    try:
        view, linked_state = share.decode(token)
    except XaiError as e:
        _handled(f"{token}|@error")
        st.warning(str(e))
        return None
    _use_model(linked_state.get("model"))
    views = share.view_index(v for vs in SECTIONS.values() for v in vs)
    current_view = current_view or next(iter(views))  # the default page's url path is ""
    if view not in views:
        _handled(f"{token}|@error")
        st.warning("This share link names a view this installation does not have; showing the default view.")
        return None
    return None if view == current_view else views[view].path


def _use_model(name) -> None:
    """A linked model becomes the sidebar's choice (set before app.py draws the picker)."""
    if isinstance(name, str) and name in registry.available():
        st.session_state["model_name"] = name
        st.session_state["sidebar_model"] = name


def restored_state(view: str) -> dict | None:
    """The settings a ``?share=`` link holds for this view, once per session; None with no link, a link for
    another view, or a broken/changed/old link (then with a plain warning, and the page opens as by default)."""
    token = _token()
    if token is None or _seen(f"{token}|@error") or _handled(f"{token}|{view}"):
        return None
    try:
        linked, state = share.decode(token)
    except XaiError as e:
        st.warning(str(e))
        return None
    return state if linked == view else None


def apply_state(state: dict | None, widget_keys: dict[str, str]) -> None:
    """Put restored settings into the page's widgets (before they are drawn): ``{state key: widget key}``.

    Only the listed keys are applied; a value the widget cannot take is left out by Streamlit's own checks on
    the next run (the page should still check choices, e.g. that an example exists).
    """
    if not state:
        return
    for name, wkey in widget_keys.items():
        if state.get(name) is not None:
            st.session_state[wkey] = state[name]


_EXAMPLE_SOURCE = "An example piece"  # pages._widgets.choose_piece's radio choice for a bundled example


def piece_state(prefix: str) -> dict:
    """The piece part of a view's share state, from :func:`pages._widgets.choose_piece`'s widgets."""
    ss = st.session_state
    if ss.get(prefix + "source", _EXAMPLE_SOURCE) == _EXAMPLE_SOURCE and ss.get(prefix + "example"):
        return {"source": "example", "example": ss[prefix + "example"]}
    return {"source": "transcribed" if "transcribed" in str(ss.get(prefix + "source", "")) else "upload"}


def restore_piece(prefix: str, state: dict | None) -> None:
    """Choose the linked example piece in ``choose_piece``'s widgets (before they are drawn); a link made with
    the author's own file says so, as that file is not part of the link."""
    if not state or not state.get("source"):
        return
    if state["source"] == "example" and state.get("example") in examples.EXAMPLES:
        st.session_state[prefix + "source"] = _EXAMPLE_SOURCE
        st.session_state[prefix + "example"] = state["example"]
    elif state["source"] == "example":
        st.warning("The example piece this link names is not in this installation; pick a piece below.")
    else:
        st.info("This link was made with its author's own file, which a link does not carry: open the same file "
                "below to see the same result.")
