"""Discover program files in folders, single files and tar archives (extracted safely, once).

Every program file gets exactly one :class:`InputItem`, so exactly one manifest row: a file
that cannot be built for a reason discovery sees is an item with a ``rejection``, never an
exception and never a silent skip. That covers a name that is not UTF-8 (``bad_filename``;
the item's path shows the bytes as ``\\x`` escapes), a folder's symbolic link that leaves the
folder (``symlink_outside``), loops (``symlink_loop``) or dangles (``broken_link``), and
whatever the archive extractor refuses (:mod:`.archives`: unsafe members, duplicate names,
the size and member caps). Archives are extracted (:func:`~.archives.extract_archive`; the
build and the embedder through :func:`discover_inputs`, evaluation directly) into
``work_dir/extracted/<stem>-<hash8>/``, once per content and limits.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..infra.errors import ConfigError
from .archives import (
    ARCHIVE_SUFFIXES,
    MAX_ARCHIVE_BYTES,
    MAX_ARCHIVE_MEMBERS,
    MAX_MEMBER_BYTES,
    ExtractedArchive,
    archive_stem,
    bad_name,
    display_path,
    extract_archive,
    is_archive,
)
from .compile import DEFAULT_MAX_FILE_BYTES, detect_language

__all__ = [
    "InputItem",
    "REJECTION_REASONS",
    "discover_inputs",
    "special_file",
    "corpus_name",
    "member_name",
    "source_group",
    # Re-exported from .archives, where they live (older imports name this module):
    "ExtractedArchive",
    "ARCHIVE_SUFFIXES",
    "MAX_MEMBER_BYTES",
    "extract_archive",
    "is_archive",
]

REJECTION_REASONS = {
    "unsafe_path": "archive member with an absolute name or a '..' component",
    "unsafe_link": "hard link, or symbolic link whose target is absolute or leaves the root",
    "symlink_loop": "symbolic link that resolves to itself or to one of its own ancestors",
    "broken_link": "symbolic link whose target is not in the archive",
    "special_file": "device, named pipe, socket or other non-regular file or archive member",
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


def corpus_name(path: str | Path) -> str:
    """The default corpus label of an input: archive stem, folder name, or a file's folder name."""
    path = Path(path)
    name = path.name
    if is_archive(name):
        return archive_stem(name)
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
        elif (rejection := special_file(path)) is not None:  # reading one would wait forever
            items.append(InputItem(path=str(path), local_path=None, corpus=label,
                                   language=detect_language(path), rejection=rejection))
        elif is_archive(path):
            items.extend(_archive_items(path, Path(work_dir), label, max_file_bytes,
                                        max_archive_bytes, max_archive_members))
        else:
            items.append(_single_file(path, label, max_file_bytes))
    return items


def special_file(path: Path) -> tuple[str, str] | None:
    """A ``special_file`` rejection for a named pipe, device or socket (a read of a pipe waits
    for a writer forever), or None for a regular file, a folder or what cannot be stat'ed."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    kind = ("named pipe" if stat.S_ISFIFO(mode) else "socket" if stat.S_ISSOCK(mode)
            else "device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "special file")
    return ("special_file", f"{path.name} is a {kind}, not a regular file")


def _single_file(path: Path, label: str, max_file_bytes: int) -> InputItem:
    language = detect_language(path)
    rejection = bad_name(path)
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
        rejection = bad_name(entry_path) or problem or special_file(Path(entry_path))
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
        else:  # a regular file, or a pipe, device or socket (refused by name later)
            yield entry.path, False


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
