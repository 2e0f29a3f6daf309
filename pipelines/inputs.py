"""Discover program files in folders, single files and tar archives (extracted safely, once).

Archives are read with :mod:`tarfile` in streaming mode and every member is checked before
anything touches the disk: absolute names, ``..`` components, hard links, devices and fifos
are refused; symbolic links are created only after all regular files, and only when their
target stays inside the extraction root and does not form a loop. A refused member becomes
an :class:`InputItem` with a ``rejection`` (so the manifest shows it), never an exception.
Every program file gets exactly one item: a name that is not UTF-8 (``bad_filename``), a
second member of the same name (``duplicate_member``; the first is kept), a folder's
symbolic link that leaves the folder, loops or dangles is an item with a rejection, not a
silent skip. Only program files and include files (:data:`INCLUDE_SUFFIXES`) are extracted;
other members are read past. An archive stops being read past ``max_archive_members``
members or ``max_archive_bytes`` uncompressed bytes (``archive_limit`` on its own item).

An archive is extracted (:func:`extract_archive`; the build and the embedder through
:func:`discover_inputs`, evaluation directly) into ``<into>/<stem>-<hash8>/`` (hash of its
bytes; the build's ``<into>`` is ``work_dir/extracted``) through a temporary folder renamed
into place; the completion marker inside it records the members, so a rerun reuses the folder
without reading the archive again.
"""

from __future__ import annotations

import errno
import hashlib
import json
import lzma
import os
import posixpath
import shutil
import tarfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..infra.errors import ConfigError
from ..infra.files import sha256_file
from .compile import DEFAULT_MAX_FILE_BYTES, detect_language

__all__ = [
    "InputItem",
    "ExtractedArchive",
    "ARCHIVE_SUFFIXES",
    "REJECTION_REASONS",
    "MAX_MEMBER_BYTES",
    "MAX_ARCHIVE_BYTES",
    "MAX_ARCHIVE_MEMBERS",
    "INCLUDE_SUFFIXES",
    "display_path",
    "discover_inputs",
    "extract_archive",
    "is_archive",
    "corpus_name",
    "member_name",
    "source_group",
]

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar")
"""Inputs with these suffixes are read as tar archives."""

REJECTION_REASONS = {
    "unsafe_path": "archive member with an absolute name or a '..' component",
    "unsafe_link": "hard link, or symbolic link whose target is absolute or leaves the root",
    "symlink_loop": "symbolic link that resolves to itself or to one of its own ancestors",
    "broken_link": "symbolic link whose target is not in the archive",
    "special_file": "device, fifo or other non-regular archive member",
    "too_large": "file over the size limit",
    "bad_archive": "archive that cannot be read (corrupt or truncated)",
    "unsupported_language": "file given directly whose suffix is not a program language",
    "bad_filename": "file or member name that is not valid UTF-8 (shown with \\x escapes)",
    "symlink_outside": "symbolic link in an input folder whose target is outside the folder",
    "duplicate_member": "archive member with the name of an earlier member (the first is kept)",
    "archive_limit": "archive past archives.max_members or archives.max_total_bytes: the "
                     "members after the limit were not read",
}
"""Reasons of :attr:`InputItem.rejection` set by discovery, with their meaning."""

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


@dataclass(frozen=True, slots=True)
class InputItem:
    """One program file to build, or one refused input with its reason."""

    path: str
    """Display path, stable across runs: the path as given, ``ARCHIVE!member`` for members."""
    local_path: Path | None
    """Where the file lies on disk (None when it was refused before extraction)."""
    corpus: str
    """Corpus label (archive or folder stem unless given)."""
    language: str | None
    """``c``, ``cpp``, ``opencl``, ``cuda``, ``ir``, or None when unknown."""
    rejection: tuple[str, str] | None = None
    """``(reason, message)`` when discovery refused the item (see :data:`REJECTION_REASONS`)."""


def is_archive(path: str | Path) -> bool:
    """Tells whether a path names a tar archive (by suffix)."""
    return str(path).lower().endswith(ARCHIVE_SUFFIXES)


def corpus_name(path: str | Path) -> str:
    """The default corpus label of an input: archive stem, folder name, or a file's folder name."""
    path = Path(path)
    name = path.name
    if is_archive(name):
        lower = name.lower()
        for suffix in ARCHIVE_SUFFIXES:
            if lower.endswith(suffix):
                return name[: -len(suffix)] or "archive"
    if path.is_dir():
        return path.resolve().name or "root"
    return path.resolve().parent.name or "root"


def member_name(item: InputItem, root: Path) -> str:
    """The path of an item inside the input it came from (archive member, path below the
    folder, or the file's name): the same wherever the input lies on disk."""
    prefix = f"{root}!"
    if item.path.startswith(prefix):
        return item.path[len(prefix):]
    if Path(root).is_dir():
        return os.path.relpath(item.path, root)
    return Path(root).name


def source_group(name: str, local_path: Path | None) -> str:
    """The variant group of one input: sha256 of its :func:`member_name` and its bytes (the
    first 24 hex digits).

    Every variant built from the input (one per optimisation level) carries it; the same file
    under the same name in two builds gets the same group. A refused input that never reached
    the disk is named by its name alone.
    """
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape") + b"\0")
    if local_path is not None and os.path.isfile(local_path):
        with open(local_path, "rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()[:24]


def discover_inputs(paths: Sequence[str | Path], work_dir: Path, *, corpus: str | None = None,
                    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
                    max_archive_bytes: int = MAX_ARCHIVE_BYTES,
                    max_archive_members: int = MAX_ARCHIVE_MEMBERS) -> list[InputItem]:
    """Lists the program files of folders, single files and tar archives, in a fixed order.

    Folders are walked recursively in sorted order without following symbolic links to
    folders; a symbolic link to a file counts only when its target lies inside the folder.
    Archives are extracted safely into ``work_dir/extracted/`` once. Only program files
    (by suffix, see :data:`~mirencoder.pipelines.compile.LANGUAGE_BY_SUFFIX`) become
    items; headers stay on disk for includes. Refused members, files over
    ``max_file_bytes``, names that are not UTF-8, and a folder's program-file links (and
    folder links) that leave the folder, loop or dangle become items with a ``rejection``.

    Args:
        paths: folders, files or archives, in the order wanted.
        work_dir: build work folder; archives are extracted under ``work_dir/extracted``.
        corpus: corpus label for every item; default: each input's stem.
        max_file_bytes: program files above this size are refused as ``too_large``.
        max_archive_bytes: an archive stops being read past this many uncompressed bytes.
        max_archive_members: an archive stops being read past this many members.

    Returns:
        The items: inputs in the order given, each input's files sorted by path.

    Raises:
        ConfigError: when some inputs do not exist (all of them are listed).
    """
    missing = [str(p) for p in paths if not os.path.lexists(p)]
    if missing:
        raise ConfigError([f"input not found: {p}" for p in missing])
    items: list[InputItem] = []
    for raw in paths:
        path = Path(raw)
        label = corpus or corpus_name(path)
        if path.is_dir():
            items.extend(_walk_folder(path, label, max_file_bytes))
        elif is_archive(path):
            items.extend(_archive_items(path, Path(work_dir), label, max_file_bytes,
                                        max_archive_bytes, max_archive_members))
        else:
            items.append(_single_file(path, label, max_file_bytes))
    return items


def display_path(path: str | Path) -> str:
    """A path as valid UTF-8 text: bytes that are not UTF-8 (held as surrogates by Python's
    file-system decoding) become ``\\xNN`` escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _bad_name(path: str | Path) -> tuple[str, str] | None:
    shown = display_path(path)
    if shown == str(path):
        return None
    return ("bad_filename", f"{shown}: the name is not valid UTF-8; rename the file")


def _single_file(path: Path, label: str, max_file_bytes: int) -> InputItem:
    language = detect_language(path)
    rejection = _bad_name(path)
    if rejection is not None:
        return InputItem(path=display_path(path), local_path=None, corpus=label,
                         language=language, rejection=rejection)
    if language is None:
        rejection = ("unsupported_language",
                     f"{path.name}: suffix {path.suffix or '(none)'!r} is not a program language")
    else:
        rejection = _size_rejection(path.stat().st_size, max_file_bytes)
    return InputItem(path=str(path), local_path=path, corpus=label, language=language,
                     rejection=rejection)


def _size_rejection(size: int, max_file_bytes: int) -> tuple[str, str] | None:
    if size > max_file_bytes:
        return ("too_large", f"{size} bytes > limit {max_file_bytes}")
    return None


def _walk_folder(root: Path, label: str, max_file_bytes: int) -> Iterator[InputItem]:
    real_root = os.path.realpath(root)
    prefix = str(root)
    for entry_path, is_link in _sorted_files(prefix):
        language = detect_language(entry_path)
        problem = _folder_link_problem(entry_path, real_root) if is_link else None
        if problem == _INNER_FOLDER or (language is None and not _reported_link(entry_path,
                                                                                 problem)):
            continue  # not a program file; a linked inner folder is walked where it lies
        rejection = _bad_name(entry_path) or problem
        if rejection is not None:
            yield InputItem(path=display_path(entry_path), local_path=None, corpus=label,
                            language=language, rejection=rejection)
            continue
        size = os.stat(entry_path).st_size
        yield InputItem(path=entry_path, local_path=Path(entry_path), corpus=label,
                        language=language, rejection=_size_rejection(size, max_file_bytes))


_INNER_FOLDER = ("", "")  # a link to a folder inside the input folder: not followed, no item


def _reported_link(path: str, problem: tuple[str, str] | None) -> bool:
    """Whether a link without a program suffix gets an item: a loop, or a link to a folder
    outside the input folder (its programs are not built); links to other files are not
    inputs."""
    if problem is None:
        return False
    return problem[0] == "symlink_loop" or (problem[0] == "symlink_outside"
                                            and os.path.isdir(path))


def _folder_link_problem(path: str, real_root: str) -> tuple[str, str] | None:
    """Why a symbolic link in an input folder is not followed, or None for a link to a file
    inside the folder (:data:`_INNER_FOLDER` for one to a folder inside it)."""
    link = display_path(os.readlink(path))
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return ("symlink_loop", f"symbolic link to {link!r} loops")
        target = os.path.realpath(path)
        if os.path.commonpath([real_root, target]) != real_root:
            return ("symlink_outside", f"symbolic link to {link!r} leaves the input folder")
        return ("broken_link", f"symbolic link to {link!r} points to nothing")
    target = os.path.realpath(path)
    if os.path.commonpath([real_root, target]) != real_root:
        return ("symlink_outside", f"symbolic link to {link!r} leaves the input folder "
                "(not followed)")
    if os.path.isdir(target):
        parent = os.path.realpath(os.path.dirname(path))
        if os.path.commonpath([parent, target]) == target:
            return ("symlink_loop", f"symbolic link to {link!r} points to its own folder or an "
                    "ancestor (a cycle)")
        return _INNER_FOLDER
    return None


def _sorted_files(folder: str) -> Iterator[tuple[str, bool]]:
    # Depth-first, names sorted; symbolic links to folders are never entered (no loops).
    with os.scandir(folder) as scan:
        entries = sorted(scan, key=lambda e: e.name)
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from _sorted_files(entry.path)
        elif entry.is_symlink():
            yield entry.path, True
        elif entry.is_file(follow_symlinks=False):
            yield entry.path, False


# ----------------------------------------------------------------------------- archives


@dataclass(frozen=True, slots=True)
class ExtractedArchive:
    """An archive extracted by :func:`extract_archive`."""

    root: Path
    """The folder holding the members (``<into>/<stem>-<hash8>/``)."""
    programs: tuple[str, ...]
    """Member names of the program files extracted, sorted."""
    rejected: tuple[tuple[str, str, str], ...]
    """``(member name, reason, message)`` of the members refused (see :data:`REJECTION_REASONS`);
    a ``bad_archive`` entry has an empty name."""
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
    dest = Path(into) / f"{corpus_name(archive)}-{digest}"
    limits = {"max_file_bytes": max_file_bytes, "max_archive_bytes": max_archive_bytes,
              "max_archive_members": max_archive_members}
    record = _read_marker(dest, limits)
    if record is None:
        record = _extract(archive, dest, limits)
    return ExtractedArchive(root=dest, programs=tuple(record["programs"]),
                            rejected=tuple(tuple(entry) for entry in record["rejected"]),
                            complete=record["complete"], skipped=record.get("skipped", 0))


def _archive_items(archive: Path, work_dir: Path, label: str, max_file_bytes: int,
                   max_archive_bytes: int, max_archive_members: int) -> list[InputItem]:
    extracted = extract_archive(archive, work_dir / "extracted", max_file_bytes=max_file_bytes,
                                max_archive_bytes=max_archive_bytes,
                                max_archive_members=max_archive_members)
    items = []
    display = str(archive)
    for name in extracted.programs:
        items.append(InputItem(path=f"{display}!{name}", local_path=extracted.root / name,
                               corpus=label, language=detect_language(name)))
    for name, reason, message in extracted.rejected:
        items.append(InputItem(path=f"{display}!{name}" if name else display, local_path=None,
                               corpus=label, language=detect_language(name) if name else None,
                               rejection=(reason, message)))
    items.sort(key=lambda item: item.path)
    return items


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
        bad = _bad_name(name)
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
