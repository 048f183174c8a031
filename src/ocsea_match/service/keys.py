"""API keys: a JSON file of names, scopes and SHA-256 digests of the keys (never the keys).

A key is 32 random bytes (``secrets``), shown once when made. The file keeps only its SHA-256:
a key is a random secret, not a password, so a fast digest is enough and nothing that would let
someone call the service is stored. Presented keys are compared with ``hmac.compare_digest``
against every stored digest (constant time, no early exit on the first match).

>>> store = KeyStore.open("keys.json", create=True)
>>> secret = store.add("analyst-1", ["match", "hashes"])
>>> store.authenticate(secret).name
'analyst-1'
>>> store.authenticate("not-a-key") is None
True
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["SCOPES", "Key", "KeyStore", "KeyFileError"]

#: match: upload files; hashes: the hash-only flow; curate: the bank; admin: reload;
#: metrics: read /metrics (a Prometheus scraper's key)
SCOPES = ("match", "hashes", "curate", "admin", "metrics")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_PREFIX = "ocm_"


class KeyFileError(ValueError):
    """The keys file is missing, unreadable or malformed."""


@dataclass(frozen=True)
class Key:
    """One key's record (its digest only)."""

    name: str
    scopes: frozenset[str]
    digest: str
    created: str
    revoked: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "scopes": sorted(self.scopes), "sha256": self.digest, "created": self.created,
                "revoked": self.revoked}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass
class KeyStore:
    """The keys file, read into memory; ``refresh()`` re-reads it when it changed on disk."""

    path: Path
    keys: list[Key] = field(default_factory=list)
    _mtime: float = 0.0
    _checked: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, path: str | Path, *, create: bool = False) -> KeyStore:
        """Read a keys file (``KeyFileError`` if it cannot be used); ``create``: start an empty one."""
        store = cls(Path(path))
        if create and not store.path.exists():
            return store
        store._read()
        return store

    def _read(self) -> None:
        try:
            stat = self.path.stat()
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise KeyFileError(f"{self.path}: no such keys file (make one: ocsea-match keys add NAME --scopes "
                               f"match --keys {self.path})") from None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise KeyFileError(f"{self.path}: not a readable keys file ({exc})") from None
        if not isinstance(doc, dict) or doc.get("format") != "ocsea-match-keys" or not isinstance(doc.get("keys"), list):
            raise KeyFileError(f"{self.path}: not an ocsea-match keys file")
        keys = []
        for i, item in enumerate(doc["keys"]):
            try:
                scopes = frozenset(item["scopes"])
                if not scopes <= set(SCOPES) or not re.fullmatch(r"[0-9a-f]{64}", item["sha256"]):
                    raise ValueError("unknown scope or malformed digest")
                keys.append(Key(str(item["name"]), scopes, item["sha256"], str(item["created"]), item.get("revoked")))
            except (KeyError, TypeError, ValueError) as exc:
                raise KeyFileError(f"{self.path}: key {i + 1} is malformed ({exc})") from None
        self.keys, self._mtime = keys, stat.st_mtime_ns

    def refresh(self, every: float = 1.0) -> None:
        """Re-read the file if it changed (checked at most every ``every`` seconds), so that a
        revocation takes effect without a restart. A file made unreadable keeps the keys in memory."""
        now = time.monotonic()
        if now - self._checked < every:
            return
        self._checked = now
        try:
            if self.path.stat().st_mtime_ns != self._mtime:
                with self._lock:
                    self._read()
        except (OSError, KeyFileError):
            pass

    def authenticate(self, secret: str | None) -> Key | None:
        """The live key whose digest is that of ``secret``, or None; every stored digest is compared."""
        if not secret:
            return None
        presented = _digest(secret)
        found = None
        for key in self.keys:
            if hmac.compare_digest(presented, key.digest) and key.revoked is None:
                found = key
        return found

    # ----------------------------------------------------------------------------- editing (CLI)

    def add(self, name: str, scopes: list[str]) -> str:
        """Add a key and save; returns the new secret (shown once, never stored)."""
        if not _NAME.match(name):
            raise ValueError(f"bad key name {name!r}: letters, digits and _.@- only, at most 64 characters")
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown or not scopes:
            raise ValueError(f"unknown scope(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(SCOPES)}")
        if any(k.name == name and k.revoked is None for k in self.keys):
            raise ValueError(f"a live key named {name!r} exists; revoke it first")
        secret = _PREFIX + secrets.token_urlsafe(32)
        self.keys.append(Key(name, frozenset(scopes), _digest(secret), _now()))
        self.save()
        return secret

    def revoke(self, name: str) -> int:
        """Revoke the live keys of that name (kept in the file, with the time); returns how many."""
        count = 0
        for i, key in enumerate(self.keys):
            if key.name == name and key.revoked is None:
                self.keys[i] = Key(key.name, key.scopes, key.digest, key.created, _now())
                count += 1
        if count:
            self.save()
        return count

    def save(self) -> None:
        """Write atomically (temporary file, fsync, rename), readable by the owner only."""
        doc = {"format": "ocsea-match-keys", "version": 1, "keys": [k.to_json() for k in self.keys]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
