"""Safe, bounded extraction of tar archives, once per archive content.

Archives are read with :mod:`tarfile` in streaming mode and every member is checked before
anything touches the disk: absolute names, ``..`` components, hard links, devices and fifos
are refused; symbolic links are created only after all regular files, and only when their
target stays inside the extraction root and does not form a loop. A name that is not UTF-8
(``bad_filename``) and a second member of an earlier member's name (``duplicate_member``; tar
would overwrite, the first is kept) are refused too. Only program files and include files
(:data:`INCLUDE_SUFFIXES`) are written; other members are read past. Reading stops past
``max_archive_members`` members or ``max_archive_bytes`` uncompressed bytes (reason
``archive_limit``, for the archive itself); the members read before stay usable.

An archive is extracted into ``<into>/<stem>-<hash8>/`` (hash of its bytes) through a
temporary folder renamed into place; the completion marker inside it records the members and
the limits, so a rerun with the same limits reuses the folder without reading the archive.
Refusals are returned, never raised (:mod:`.inputs` turns them into manifest rows).
"""

from __future__ import annotations

import errno
import json
import lzma
import os
import posixpath
import shutil
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from ..infra.files import sha256_file
from .compile import DEFAULT_MAX_FILE_BYTES, detect_language

__all__ = ["ARCHIVE_SUFFIXES", "MAX_MEMBER_BYTES", "MAX_ARCHIVE_BYTES", "MAX_ARCHIVE_MEMBERS",
           "INCLUDE_SUFFIXES", "ExtractedArchive", "extract_archive", "is_archive",
           "archive_stem", "display_path", "bad_name"]

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar")
"""Inputs with these suffixes are read as tar archives."""

MAX_MEMBER_BYTES = 64 << 20
"""Include files in archives above this size are not extracted."""

MAX_ARCHIVE_BYTES = 1 << 30
"""Default cap on the uncompressed bytes of the members read from one archive."""

MAX_ARCHIVE_MEMBERS = 250_000
"""Default cap on the members (of any kind) read from one archive."""

INCLUDE_SUFFIXES = frozenset({".h", ".hh", ".hpp", ".hxx", ".h++", ".hp", ".inc", ".inl", ".ipp",
                              ".tpp", ".tcc", ".txx", ".def", ".cuh", ".clh", "", "."})
"""Non-program archive members extracted (for ``#include``): these suffixes, no suffix
(``<vector>``-style) or a bare trailing dot; other members (text, data) are not extracted."""

_MARKER = ".mirencoder-extracted.json"
_MARKER_VERSION = 2


def is_archive(path: str | Path) -> bool:
    """Tells whether a path names a tar archive (by suffix)."""
    return str(path).lower().endswith(ARCHIVE_SUFFIXES)


def archive_stem(name: str) -> str:
    """An archive's file name without its archive suffix (``archive`` when nothing is left)."""
    lower = name.lower()
    for suffix in ARCHIVE_SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)] or "archive"
    return name


def display_path(path: str | Path) -> str:
    """A path as valid UTF-8 text: bytes that are not UTF-8 (held as surrogates by Python's
    file-system decoding) become ``\\xNN`` escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def bad_name(path: str | Path) -> tuple[str, str] | None:
    """``("bad_filename", message)`` for a name that is not valid UTF-8, else None."""
    shown = display_path(path)
    if shown == str(path):
        return None
    return ("bad_filename", f"{shown}: the name is not valid UTF-8; rename the file")


@dataclass(frozen=True, slots=True)
class ExtractedArchive:
    """An archive extracted by :func:`extract_archive`."""

    root: Path
    """The folder holding the members (``<into>/<stem>-<hash8>/``)."""
    programs: tuple[str, ...]
    """Member names of the program files extracted, sorted."""
    rejected: tuple[tuple[str, str, str], ...]
    """``(member name, reason, message)`` of the members refused (the reasons are listed in
    :data:`mirencoder.pipelines.inputs.REJECTION_REASONS`); an entry about the archive itself
    (``bad_archive``, ``archive_limit``) has an empty name."""
    complete: bool
    """False when the archive is damaged: the members read before the damage are extracted."""
    skipped: int = 0
    """Members read past without extraction (neither programs nor include files, or later
    copies of an include file's name)."""


def extract_archive(archive: Path, into: Path, *,
                    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
                    max_archive_bytes: int = MAX_ARCHIVE_BYTES,
                    max_archive_members: int = MAX_ARCHIVE_MEMBERS) -> ExtractedArchive:
    """Extracts an archive safely into ``into/<stem>-<hash8>/``, once (see the module docstring).

    Args:
        archive: a tar archive (any compression tarfile reads).
        into: the parent folder of the extraction folder.
        max_file_bytes: program members above this size are refused as ``too_large``.
        max_archive_bytes: stop reading past this many uncompressed member bytes (all
            members read count, extracted or not); the archive is then refused as
            ``archive_limit`` and the members read before stay usable.
        max_archive_members: stop reading past this many members, likewise.

    Returns:
        Where the members lie and which were refused; never raises for a bad member.
    """
    archive = Path(archive)
    digest = sha256_file(archive)[:8]
    dest = Path(into) / f"{archive_stem(archive.name)}-{digest}"
    limits = {"max_file_bytes": max_file_bytes, "max_archive_bytes": max_archive_bytes,
              "max_archive_members": max_archive_members}
    record = _read_marker(dest, limits)
    if record is None:
        record = _extract(archive, dest, limits)
    return ExtractedArchive(root=dest, programs=tuple(record["programs"]),
                            rejected=tuple(tuple(entry) for entry in record["rejected"]),
                            complete=record["complete"], skipped=record.get("skipped", 0))


def _read_marker(dest: Path, limits: dict[str, int]) -> dict | None:
    try:
        record = json.loads((dest / _MARKER).read_text())
    except (OSError, ValueError):
        return None
    if record.get("version") != _MARKER_VERSION or any(
            record.get(key) != value for key, value in limits.items()):
        return None
    return record


def _extract(archive: Path, dest: Path, limits: dict[str, int]) -> dict:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    extractor = _Extractor(tmp, limits["max_file_bytes"])
    complete = True
    members = total = 0
    try:
        with tarfile.open(archive, "r|*") as tar:
            for member in tar:
                members += 1
                total += member.size if member.isreg() else 0
                limit = _archive_limit(archive, members, total, limits)
                if limit is not None:
                    extractor.rejected.append(("", "archive_limit", limit))
                    break
                extractor.add(member, tar)
    except (tarfile.TarError, OSError, EOFError, ValueError, zlib.error, lzma.LZMAError) as exc:
        # Keep what was read before the damage; the archive itself is reported once.
        complete = False
        extractor.rejected.append(("", "bad_archive", f"{archive.name}: {exc}"))
    extractor.finish_links()
    record = {
        "version": _MARKER_VERSION,
        "archive": str(archive),
        **limits,
        "complete": complete,
        "programs": sorted(extractor.programs),
        "rejected": sorted(extractor.rejected),
        "skipped": extractor.skipped,
    }
    if not complete:
        # No marker: a rerun reads the archive again. The members read so far stay usable.
        shutil.rmtree(dest, ignore_errors=True)
        os.rename(tmp, dest)
        return record
    (tmp / _MARKER).write_text(json.dumps(record))
    if dest.exists():  # an earlier run died before its marker, or a parallel run won the race
        if _read_marker(dest, limits) is not None:
            shutil.rmtree(tmp, ignore_errors=True)
            return _read_marker(dest, limits) or record
        shutil.rmtree(dest, ignore_errors=True)
    try:
        os.rename(tmp, dest)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        return _read_marker(dest, limits) or record
    return record


def _archive_limit(archive: Path, members: int, total: int, limits: dict[str, int]) -> str | None:
    """The ``archive_limit`` message once a member passes a cap, else None."""
    if members > limits["max_archive_members"]:
        return (f"{archive.name}: more than {limits['max_archive_members']} members "
                f"(archives.max_members); the first {members - 1} were read, the rest were not")
    if total > limits["max_archive_bytes"]:
        return (f"{archive.name}: more than {limits['max_archive_bytes']} uncompressed bytes "
                f"(archives.max_total_bytes); the first {members - 1} members were read, the "
                "rest were not")
    return None


class _Extractor:
    """Checks and writes the members of one archive stream into ``root``."""

    def __init__(self, root: Path, max_file_bytes: int):
        self.root = root
        self.max_file_bytes = max_file_bytes
        self.programs: list[str] = []
        self.rejected: list[tuple[str, str, str]] = []
        self.links: dict[str, str] = {}  # member name -> link text
        self.files: set[str] = set()
        self.dirs: set[str] = {""}
        self.skipped = 0

    def add(self, member: tarfile.TarInfo, tar: tarfile.TarFile) -> None:
        raw = member.name
        name = _safe_name(raw)
        if name is None:
            self.rejected.append((display_path(raw), "unsafe_path",
                                  f"member name {display_path(raw)!r} is absolute or contains "
                                  "'..'"))
            return
        if name == "":
            return  # the archive's "./" entry
        bad = bad_name(name)
        if bad is not None:  # never extracted; a program gets its item, anything else is skipped
            if detect_language(name) is not None and not member.isdir():
                self.rejected.append((display_path(name), *bad))
            else:
                self.skipped += 1
            return
        if member.isdir():
            try:
                self._mkdir(name)
            except OSError as exc:
                self.rejected.append((name, "unsafe_path", f"cannot extract: {exc.strerror}"))
        elif member.isreg():
            self._write_file(name, member, tar)
        elif member.issym():
            self._add_symlink(name, member.linkname)
        elif member.islnk():
            self.rejected.append((name, "unsafe_link",
                                  f"hard link to {member.linkname!r} refused"))
        else:
            self.rejected.append((name, "special_file",
                                  f"member type {member.type!r} (device, fifo, ...) refused"))

    def _mkdir(self, name: str) -> None:
        if name in self.dirs:
            return
        os.makedirs(self.root / name, exist_ok=True)
        parts = name.split("/")
        self.dirs.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))

    def _write_file(self, name: str, member: tarfile.TarInfo, tar: tarfile.TarFile) -> None:
        language = detect_language(name)
        if language is None and _suffix(name) not in INCLUDE_SUFFIXES:
            self.skipped += 1  # text, data: never read by a build (the stream reads past it)
            return
        if name in self.files:  # tar would overwrite the first: keep it, report the copy
            if language is None:
                self.skipped += 1
            else:
                self.rejected.append((name, "duplicate_member", "a second member with this name "
                                      "(the first one is kept)"))
            return
        limit = self.max_file_bytes if language is not None else MAX_MEMBER_BYTES
        if member.size > limit:
            self.rejected.append((name, "too_large", f"{member.size} bytes > limit {limit}"))
            return
        if name in self.dirs or name in self.links:
            self.rejected.append((name, "unsafe_path", "member name clashes with a folder or link"))
            return
        source = tar.extractfile(member)
        data = source.read() if source is not None else b""  # stream errors: bad_archive
        try:
            self._mkdir(posixpath.dirname(name))
            with open(self.root / name, "wb") as handle:
                handle.write(data)
        except OSError as exc:  # e.g. "a" is a file and "a/b" follows, or a name too long
            self.rejected.append((name, "unsafe_path", f"cannot extract: {exc.strerror or exc}"))
            return
        if language is not None:
            self.programs.append(name)
        self.files.add(name)

    def _add_symlink(self, name: str, linkname: str) -> None:
        if not linkname or linkname.startswith("/") or _is_windows_absolute(linkname):
            self.rejected.append((name, "unsafe_link", f"symbolic link to absolute {linkname!r}"))
            return
        target = posixpath.normpath(posixpath.join(posixpath.dirname(name), linkname))
        if target == ".." or target.startswith("../"):
            self.rejected.append((name, "unsafe_link",
                                  f"symbolic link to {linkname!r} leaves the archive root"))
            return
        if name in self.links:
            self.rejected.append((name, "duplicate_member", "a second member with this name "
                                  "(the first one is kept)"))
            return
        self.links[name] = linkname  # checked again on the file system once created

    def finish_links(self) -> None:
        """Creates the accepted symbolic links once every regular file is on disk, then checks
        each one on the file system: a link that loops, leaves the root or dangles is removed."""
        created = []
        for name in sorted(self.links):
            parent = posixpath.dirname(name)
            if name in self.files or name in self.dirs:
                self.rejected.append((name, "unsafe_path", "link name clashes with a member"))
                continue
            if any(head in self.links for head in _prefixes(parent)):
                # Never create anything through a link: it could point outside the root.
                self.rejected.append((name, "unsafe_path", "link inside a linked folder"))
                continue
            self._mkdir(parent)
            os.symlink(self.links[name], self.root / name)
            created.append(name)
        real_root = os.path.realpath(self.root)
        # Judge every link before removing any (a -> b -> a is a loop for both), then drop
        # links that dangle because their target was removed, until nothing changes.
        problems = {name: _check_link(self.root / name, real_root) for name in created}
        while True:
            for name in created:
                if problems[name] is not None and os.path.islink(self.root / name):
                    os.unlink(self.root / name)
            dangling = [name for name in created
                        if problems[name] is None and not os.path.exists(self.root / name)]
            if not dangling:
                break
            for name in dangling:
                problems[name] = ("broken_link", f"symbolic link to {self.links[name]!r} "
                                  "points to a refused member")
        for name in created:
            if problems[name] is not None:
                self.rejected.append((name, *problems[name]))
            elif detect_language(name) is not None and os.path.isfile(self.root / name):
                self.programs.append(name)


def _suffix(name: str) -> str:
    base = posixpath.basename(name)
    dot = base.rfind(".")
    return base[dot:].lower() if dot > 0 else ""


def _prefixes(name: str) -> list[str]:
    parts = name.split("/") if name else []
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _check_link(path: Path, real_root: str) -> tuple[str, str] | None:
    link = os.readlink(path)
    target = os.path.realpath(path)  # non-strict: also resolves what does not exist
    if os.path.commonpath([real_root, target]) != real_root:
        return ("unsafe_link", f"symbolic link to {link!r} leaves the archive root")
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return ("symlink_loop", f"symbolic link to {link!r} loops")
        return ("broken_link", f"symbolic link to {link!r} points to no member")
    parent = os.path.realpath(path.parent)
    if os.path.isdir(target) and os.path.commonpath([parent, target]) == target:
        return ("symlink_loop", f"symbolic link to {link!r} points to its own folder or an "
                "ancestor (a cycle)")
    return None


def _safe_name(raw: str) -> str | None:
    """The normalised member name, or None when it is absolute or contains ``..``."""
    if raw.startswith(("/", "\\")) or _is_windows_absolute(raw):
        return None
    parts = [p for p in raw.replace("\\", "/").split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        return None
    return "/".join(parts)


def _is_windows_absolute(name: str) -> bool:
    return len(name) >= 2 and name[1] == ":" and name[0].isalpha()
