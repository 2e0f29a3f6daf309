"""Checks an encoder package's files against sha256 sums that come from outside the package.

The hashes an encoder package lists in its own ``encoder_config.json`` protect against
accidents only: whoever edits the weights can edit that list (and the config itself is in no
list). A :class:`PackageReference` holds the expected sums from outside: a registry version's
tags (``package_sha256``, ``package_files``), a package digest given by the user
(``--sha256``), or a lock file (``mirencoder.lock.json`` beside the package folder, or named).

The package digest is the sha256 of the sorted lines ``"<file name> <sha256>\\n"`` of every
file in the folder (:func:`package_digest`). Every file must be listed: an extra or a missing
file is an error, as is a file whose hash differs (the error names it). Without any outside
reference the files are checked against the package's own list and a
:class:`UnverifiedPackageWarning` is issued (once per package and process).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ...infra.errors import ConfigError, FatalError
from ...infra.files import sha256_file, write_text_atomic

__all__ = ["LOCK_FILE_NAME", "CONFIG_FILE", "PackageReference", "UnverifiedPackageWarning",
           "package_file_hashes", "package_digest", "folder_reference", "verify_package_files",
           "write_package_lock", "DEFAULT_BASIS_VARIANCE"]

LOCK_FILE_NAME = "mirencoder.lock.json"
CONFIG_FILE = "encoder_config.json"
# The share of the pre-training corpus variance a package's principal basis keeps unless told
# otherwise (EmbedConfig.basis_variance and the served pyfunc's basis_variance param).
DEFAULT_BASIS_VARIANCE = 0.9
_LOCK_FORMAT = 1


class UnverifiedPackageWarning(UserWarning):
    """An encoder package was loaded without an outside reference for its files."""


@dataclass(frozen=True, slots=True)
class PackageReference:
    """Expected sha256 sums of a package's files, from outside the package.

    Attributes:
        source: where they come from, for messages (``registry version mirencoder/3``).
        files: ``{file name: sha256}`` of every file, when known.
        package_sha256: the package digest (:func:`package_digest`), when known.
    """

    source: str
    files: Mapping[str, str] | None = None
    package_sha256: str | None = None

    def __post_init__(self) -> None:
        if not self.files and not self.package_sha256:
            raise ConfigError(f"{self.source}: a package reference needs file hashes or a "
                              "package digest")
        if self.files and self.package_sha256 and \
                package_digest(self.files) != self.package_sha256:
            raise FatalError(f"{self.source}: its file list does not hash to its "
                             f"package_sha256 {self.package_sha256}")


def package_file_hashes(package_dir: str | Path) -> dict[str, str]:
    """``{name: sha256}`` of every entry of the folder (a sub-folder is an error).

    Raises:
        FatalError: the folder holds something other than regular files.
    """
    package_dir = Path(package_dir)
    hashes = {}
    for path in sorted(package_dir.iterdir()):
        if path.is_symlink() or not path.is_file():
            raise FatalError(f"encoder package {package_dir}: unexpected entry {path.name} "
                             "(a package holds plain files only)")
        hashes[path.name] = sha256_file(path)
    return hashes


def package_digest(files: Mapping[str, str] | str | Path) -> str:
    """The sha256 of the sorted ``"<name> <sha256>\\n"`` lines of a package's files (a
    ``{name: sha256}`` mapping, or a package folder)."""
    if not isinstance(files, Mapping):
        files = package_file_hashes(files)
    lines = "".join(f"{name} {files[name]}\n" for name in sorted(files))
    return hashlib.sha256(lines.encode()).hexdigest()


def _read_lock(lock: Path, package_dir: Path) -> PackageReference:
    try:
        data = json.loads(lock.read_text())
        entry = data["packages"][package_dir.name]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ConfigError(f"lock file {lock} has no entry for the package {package_dir.name!r} "
                          f"({type(error).__name__}: {error})") from error
    if data.get("format_version") != _LOCK_FORMAT:
        raise ConfigError(f"lock file {lock}: format {data.get('format_version')!r} is not "
                          f"supported (expected {_LOCK_FORMAT})")
    return PackageReference(source=f"lock file {lock}", files=entry.get("files"),
                            package_sha256=entry.get("package_sha256"))


def folder_reference(package_dir: str | Path, *, sha256: str | None = None,
                     lock_file: str | Path | None = None) -> PackageReference | None:
    """The outside reference of a local package folder: ``sha256`` (a package digest), else
    ``lock_file``, else a ``mirencoder.lock.json`` beside the folder, else None.

    Raises:
        ConfigError: a named lock file that is missing, or a lock file without this package.
    """
    package_dir = Path(package_dir)
    if sha256:
        return PackageReference(source="the given --sha256", package_sha256=sha256.lower())
    if lock_file:
        if not Path(lock_file).is_file():
            raise ConfigError(f"lock file {lock_file} does not exist")
        return _read_lock(Path(lock_file), package_dir)
    beside = package_dir.parent / LOCK_FILE_NAME
    return _read_lock(beside, package_dir) if beside.is_file() else None


def write_package_lock(package_dir: str | Path, lock_file: str | Path | None = None) -> Path:
    """Adds (or replaces) the package's entry in a lock file (default: beside the folder)."""
    package_dir = Path(package_dir)
    lock = Path(lock_file) if lock_file else package_dir.parent / LOCK_FILE_NAME
    data = json.loads(lock.read_text()) if lock.is_file() else {}
    data = {"format_version": _LOCK_FORMAT, "packages": dict(data.get("packages", {}))}
    files = package_file_hashes(package_dir)
    data["packages"][package_dir.name] = {"package_sha256": package_digest(files),
                                          "files": files}
    return write_text_atomic(lock, json.dumps(data, indent=2, sort_keys=True) + "\n")


def _compare(package_dir: Path, actual: Mapping[str, str], expected: Mapping[str, str],
             source: str) -> None:
    extra = sorted(set(actual) - set(expected))
    missing = sorted(set(expected) - set(actual))
    if missing:
        raise FatalError(f"corrupt encoder package {package_dir}: {', '.join(missing)} is "
                         f"missing (listed by {source})")
    if extra:
        raise FatalError(f"encoder package {package_dir}: unexpected file "
                         f"{', '.join(extra)} (not listed by {source})")
    changed = [name for name in sorted(expected) if actual[name] != expected[name]]
    if changed:
        raise FatalError(f"corrupt encoder package {package_dir}: {', '.join(changed)} does "
                         f"not match its sha256 in {source}")


def verify_package_files(package_dir: str | Path, config: Mapping,
                         reference: PackageReference | None) -> str:
    """Checks every file of the package; returns its package digest.

    Args:
        package_dir: the package folder.
        config: its parsed ``encoder_config.json`` (its ``files`` list is used without a
            reference).
        reference: the outside reference, or None (a warning is issued).

    Raises:
        FatalError: a missing, extra or changed file (named in the message).
    """
    package_dir = Path(package_dir)
    actual = package_file_hashes(package_dir)
    digest = package_digest(actual)
    if reference is None:
        own = {**config.get("files", {}), CONFIG_FILE: actual.get(CONFIG_FILE, "")}
        _compare(package_dir, actual, own, f"{CONFIG_FILE}")
        warnings.warn(f"encoder package {package_dir} is not verified against an outside "
                      f"reference (registry tags, --sha256 or {LOCK_FILE_NAME}): its files "
                      f"match only its own {CONFIG_FILE}; package sha256 {digest}",
                      UnverifiedPackageWarning, stacklevel=3)
    elif reference.files:
        _compare(package_dir, actual, reference.files, reference.source)
    elif digest != reference.package_sha256:
        own = {**config.get("files", {}), CONFIG_FILE: actual.get(CONFIG_FILE, "")}
        suspects = [name for name in sorted(set(actual) | set(own))
                    if actual.get(name) != own.get(name)] or [CONFIG_FILE]
        raise FatalError(f"corrupt encoder package {package_dir}: its package sha256 is {digest},"
                         f" not {reference.package_sha256} ({reference.source}); changed: "
                         f"{', '.join(suspects)} (or files edited together with "
                         f"{CONFIG_FILE})")
    return digest
