"""The triage service for hotlines: an ASGI app (Starlette) that embeds the index.

``create_app`` needs the ``service`` extra (``pip install 'ocsea-match[service]'``: Starlette,
uvicorn, httpx, prometheus-client). The key store, the audit log and the banks are plain Python
and SQLite, usable (and used by the CLI's ``keys``, ``audit`` and ``bank`` commands) without it.

>>> import ocsea_match
>>> record = ocsea_match.hash_file("seized/gradient.png", ["pdq"])
>>> _ = open("known_list.csv", "w").write(record["hashes"]["pdq"]["hex"] + "\\n")  # a PDQ list
>>> from ocsea_match.service.keys import KeyStore
>>> secret = KeyStore.open("keys.json", create=True).add("analyst-1", ["match"])
>>> from ocsea_match.service import create_app
>>> app = create_app(["known_list.csv"], keys="keys.json", audit_log="audit.jsonl")
>>> # uvicorn.run(app, host="127.0.0.1", port=8080), or mount it in your own Starlette app

``import ocsea_match`` never imports this package; importing this package imports no web
framework until ``create_app`` is used.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "Limits", "MISSING_EXTRA"]

#: what to tell someone who runs the service without its dependencies
MISSING_EXTRA = (
    "the service needs its optional dependencies (Starlette, uvicorn, httpx, prometheus-client): "
    "pip install 'ocsea-match[service]'"
)


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "Limits":
        from .limits import Limits

        return Limits
    raise AttributeError(name)
