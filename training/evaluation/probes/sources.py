"""The C sources the probes draw from: discovery in the corpus archives and seeded samples."""

from __future__ import annotations

import fnmatch
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ....infra.errors import ConfigError
from .config import CorpusSource, ProbeConfig

__all__ = ["SourceFile", "source_identity", "discover_sources", "filter_sources", "sample_sources",
           "template_of", "template_of_id"]


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One C source of a corpus.

    Attributes:
        corpus: the corpus label.
        display: ``ARCHIVE!member`` (as in a dataset manifest) or the file path.
        local_path: the extracted file (its folder holds the headers it includes).
        identity: ``(archive file name, member)`` or ``("", path)``: how manifests are matched.
    """

    corpus: str
    display: str
    local_path: Path
    identity: tuple[str, str]

    @property
    def source_id(self) -> str:
        """Short unique id: ``corpus/member``."""
        return f"{self.corpus}/{self.identity[1]}"


def source_identity(display: str) -> tuple[str, str]:
    """``/x/y/a.tar.gz!dir/f.c`` -> ``("a.tar.gz", "dir/f.c")``; a plain path -> ``("", path)``.

    Archive members are matched by archive file name and member, so that a manifest written
    with ``../shared/data/...`` matches the same archive given as an absolute path.
    """
    if "!" in display:
        archive, member = display.split("!", 1)
        return Path(archive).name, member
    return "", Path(display).as_posix()


def template_of(source: SourceFile, pattern: str | None) -> str:
    """The source's template group (``corpus:s6``), or its own id without a pattern/match."""
    return template_of_id(source.source_id, {source.corpus: pattern})


def template_of_id(source_id: str, patterns: dict[str, str | None]) -> str:
    """:func:`template_of` from a source id (``corpus/member``) and each corpus's pattern."""
    corpus, _, member = source_id.partition("/")
    pattern = patterns.get(corpus)
    if pattern:
        match = re.match(pattern, Path(member).name)
        if match:
            return f"{corpus}:{match.group(1)}"
    return source_id


def discover_sources(config: ProbeConfig) -> dict[str, list[SourceFile]]:
    """All C sources of each corpus (extracted safely once under ``cache_dir/sources``).

    Raises:
        ConfigError: when a corpus archive does not exist (all missing ones are listed).
    """
    from ....pipelines.inputs import discover_inputs

    missing = [str(config.archive_path(c)) for c in config.corpora
               if not config.archive_path(c).exists()]
    if missing:
        raise ConfigError([f"probe corpus not found: {m} (see ProbeConfig.data_dir)"
                           for m in missing])
    found: dict[str, list[SourceFile]] = {}
    for corpus in config.corpora:
        items = discover_inputs([config.archive_path(corpus)], config.cache_dir / "sources",
                                corpus=corpus.name)
        found[corpus.name] = _matching(items, corpus)
    return found


def _matching(items: Sequence, corpus: CorpusSource) -> list[SourceFile]:
    out = []
    for item in items:
        if item.rejection is not None or item.local_path is None or item.language != "c":
            continue
        identity = source_identity(item.path)
        if fnmatch.fnmatchcase(identity[1], corpus.member_glob):
            out.append(SourceFile(corpus.name, item.path, Path(item.local_path), identity))
    return sorted(out, key=lambda s: s.identity)


def filter_sources(sources: Sequence[SourceFile], pattern: str) -> list[SourceFile]:
    """The sources whose text matches ``pattern`` (``re.search`` with DOTALL and MULTILINE);
    unreadable bytes are replaced, so no source is dropped for its encoding alone."""
    regex = re.compile(pattern, re.S | re.M)
    return [s for s in sources if regex.search(s.local_path.read_text(errors="replace"))]


def sample_sources(sources: Sequence[SourceFile], count: int, seed: int,
                   purpose: str) -> list[SourceFile]:
    """A seeded sample of ``count`` sources (all when fewer), in identity order.

    The seed is combined with ``purpose`` and the corpus so that the retrieval and the
    decision samples are independent draws, each reproducible on its own.
    """
    ordered = sorted(sources, key=lambda s: s.identity)
    if count >= len(ordered):
        return ordered
    corpus = ordered[0].corpus if ordered else ""
    rng = random.Random(f"{seed}:{purpose}:{corpus}")
    return sorted(rng.sample(ordered, count), key=lambda s: s.identity)
