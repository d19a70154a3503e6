"""XID inside JupyterHub (e.g. on the ilifu cloud): a ``jupyter-server-proxy`` entry, so the launcher shows
XID and serves it at ``<your server>/xid/`` behind the hub's login. Registered in ``pyproject.toml``."""

from __future__ import annotations


def setup_xid() -> dict:
    """The jupyter-server-proxy server specification for ``xid serve``.

    The hub already authenticates the user, and the proxy is the only client of the server, so XID listens
    on localhost under the proxy's path; its database comes from ``XID_DATABASE_URL`` as anywhere else.
    """
    return {
        "command": ["xid", "serve", "--port", "{port}", "--address", "127.0.0.1", "--prefix", "{base_url}xid"],
        "absolute_url": True,
        "timeout": 120,
        "environment": {"XID_BEHIND_PROXY": "true"},
        "launcher_entry": {"title": "XID cross-identification", "enabled": True},
        "new_browser_tab": True,
    }
