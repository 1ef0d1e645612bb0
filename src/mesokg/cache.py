"""An on-disk cache of what takes seconds to make and never changes for given inputs: the built knowledge graph
(keyed by its source fingerprint, which covers the package version) and the code tables read from the code
packages (SQLite databases keyed by the package version and the code data's own version), read by a cold
command in milliseconds where building or loading them takes seconds.

Where: `$MESOKG_CACHE_DIR`, else `$XDG_CACHE_HOME/mesokg`, else `~/.cache/mesokg`; `MESOKG_NO_CACHE=1` turns
it off. Each entry is one file, written whole to a temporary name and renamed into place, so a reader sees the
old entry, the new one, or none; it carries the SHA-256 of its content, so an entry damaged on disk is not
used but made again. The cache is an optimisation only: a directory that cannot be written, a full disk or a
damaged entry never fails a command, which then does the work itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

MAGIC = b"mesokg-cache 1 "
DIGEST_LENGTH = 64  # hex SHA-256


def cache_dir() -> Path | None:
    """The cache directory, or None when caching is off."""
    if os.environ.get("MESOKG_NO_CACHE", "").strip() not in ("", "0"):
        return None
    explicit = os.environ.get("MESOKG_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mesokg"


def entry_path(name: str, key: str) -> Path | None:
    root = cache_dir()
    return None if root is None else root / f"{name}-{key}"


def read(name: str, key: str) -> bytes | None:
    """The content stored under (name, key), or None if there is none, caching is off, or the entry is damaged
    (a damaged entry is removed)."""
    path = entry_path(name, key)
    if path is None:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    header_end = len(MAGIC) + DIGEST_LENGTH + 1
    digest, content = data[len(MAGIC) : header_end - 1], data[header_end:]
    if data.startswith(MAGIC) and data[header_end - 1 : header_end] == b"\n":
        if hashlib.sha256(content).hexdigest().encode() == digest:
            return content
    try:
        path.unlink()
    except OSError:
        pass
    return None


def write(name: str, key: str, content: bytes) -> bool:
    """Store `content` under (name, key); False (and nothing changed) when it cannot be written."""
    path = entry_path(name, key)
    if path is None:
        return False
    header = MAGIC + hashlib.sha256(content).hexdigest().encode() + b"\n"
    return _publish(path, lambda temporary: temporary.write_bytes(header + content))


def _publish(path: Path, make: Callable[[Path], object]) -> bool:
    """Make an entry in a temporary file beside `path` and rename it into place, whole or not at all; then
    prune its name's old entries. False (nothing changed) when it cannot be made."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
        os.close(handle)
        temporary = Path(name)
        try:
            make(temporary)
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    except (OSError, sqlite3.Error):
        return False
    _prune(path)
    return True


KEPT = 8  # entries kept per name: the newest; older keys (other sources, versions, code) are removed


def _prune(made: Path) -> None:
    name = made.name.split("-", 1)[0]
    try:
        others = sorted(
            (p for p in made.parent.glob(f"{name}-*") if p != made), key=lambda p: p.stat().st_mtime, reverse=True
        )
        for old in others[KEPT - 1 :]:
            old.unlink()
    except OSError:
        pass  # another process pruned it first


def database(name: str, key: str, fill: Callable[[sqlite3.Connection], None]) -> sqlite3.Connection | None:
    """An SQLite database cached under (name, key), opened read-only: made first by `fill` (which creates and
    fills its tables) in a temporary file renamed into place when complete, so a reader never sees a half-made
    one. None when caching is off, or the database can be neither opened nor made (the caller then reads its
    source itself). A database whose completion mark is missing or unreadable is made again."""
    path = entry_path(name, key)
    if path is None:
        return None
    connection = _open_complete(path)
    if connection is not None:
        return connection

    def make(temporary: Path) -> None:
        writer = sqlite3.connect(temporary)
        try:
            fill(writer)
            writer.execute("CREATE TABLE mesokg_cache_complete (key TEXT)")
            writer.execute("INSERT INTO mesokg_cache_complete VALUES (?)", (key,))
            writer.commit()
        finally:
            writer.close()

    return _open_complete(path) if _publish(path, make) else None


def _open_complete(path: Path) -> sqlite3.Connection | None:
    if not path.is_file():
        return None
    try:
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False)
        if connection.execute("SELECT count(*) FROM mesokg_cache_complete").fetchone()[0] == 1:
            return connection
        connection.close()
    except sqlite3.Error:
        pass
    try:
        path.unlink()
    except OSError:
        pass
    return None


class Memo:
    """The answers of a pure function of text, kept in one cache entry (JSON): computed once on this machine,
    read by every later process. Entries only accumulate; two processes adding at once lose nothing but
    the other's new answers, which are computed again when next needed."""

    def __init__(self, name: str, key: str) -> None:
        self.name, self.key = name, key
        self._answers: dict | None = None

    def get(self, question: str, compute: Callable[[], object]):
        if self._answers is None:
            stored = read(self.name, self.key)
            try:
                self._answers = json.loads(stored) if stored is not None else {}
            except ValueError:
                self._answers = {}
        digest = hashlib.sha256(question.encode("utf-8")).hexdigest()
        if digest not in self._answers:
            self._answers[digest] = compute()
            write(self.name, self.key, json.dumps(self._answers, sort_keys=True).encode("utf-8"))
        return self._answers[digest]


def code_digest(*files: str) -> str:
    """A short digest of source files of this package (`__file__` of the modules that make an entry), for its
    key: a development checkout whose code changed within one version does not read an entry made by the
    old code."""
    digest = hashlib.sha256()
    for name in files:
        try:
            digest.update(Path(name).read_bytes())
        except OSError:
            digest.update(name.encode("utf-8"))
    return digest.hexdigest()[:16]
