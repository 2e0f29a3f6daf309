"""Probes of representation quality: frozen program embeddings on programs pre-training never saw.

Held-out sources: with a built dataset, only C sources whose manifest row points at a record
of the ``test`` split (plus, by default, sources absent from the manifest or that failed to
compile there); without one, a seeded sample whose held-out status is reported as unchecked.
Corpora: Jotai and the NeuroVectorizer loop kernels (which include ``header.h`` from their
own folder). Everything is compiled with clang 14 to bitcode and cached by source sha256,
clang version and flags.

a. Optimisation-invariance retrieval. Each source is compiled at O0 (with
   ``-disable-O0-optnone``), O1, O2, O3 and Oz. Within a source, variants whose *normalised*
   IR is identical are collapsed to the first level (an identical twin is trivially nearest);
   sources left with fewer than 2 distinct variants, and sources that share a variant with
   another source, are dropped; all counts are reported. Every kept variant queries all other
   variants (both corpora pooled) by cosine similarity; the other variants of its source are
   relevant; MAP@R (Musgrave et al. 2020) with the query excluded and seeded random
   tie-breaking.

b. Compiler-decision prediction. Labels come from clang's optimisation record at -O3
   (``-fsave-optimization-record``, the same remarks as ``-Rpass=loop-vectorize``, plus the
   enclosing function). A program qualifies when exactly one source loop (file, line,
   column) outside ``main`` gets a loop-vectoriser decision and all its copies (unrolled or
   inlined) agree; loops in ``main`` (drivers, and inlined copies) do not count. Tasks:
   vectorised?, VF (1 = not vectorised) and IC, from the -O0 IR; programs whose -O0 IR equals
   an earlier one are dropped; classes with fewer than ``min_class_count`` programs are left
   out. Probe: standardised logistic regression; seeded ``StratifiedGroupKFold`` (5 folds),
   the same folds for every method and for the majority-class baseline; accuracy and
   macro-F1 of the pooled out-of-fold predictions. Two fold groupings, one table each: by
   source file, and by generator template (NeuroVectorizer files ``s<N>_...`` of one
   template are near-copies with other constants; grouped by file, a test loop's siblings
   sit in training, which even a random-weights encoder exploits).

Controls on every probe: the untrained twin, the opcode histogram, IR2Vec flow-aware (skipped
with a reason when ir2vec is missing) and seeded random vectors of the encoder's size.
"""

from .config import (
    CONTROLS,
    GROUPINGS,
    MODALITIES,
    OPT_LEVELS,
    CorpusSource,
    ProbeConfig,
    default_corpora,
)
from .controls import RandomVectorsFeaturizer, TemplateIdentityFeaturizer, build_probe_featurizers
from .data import TASKS, DecisionSet, ProbeData, RetrievalSet, prepare_probe_programs
from .plot import plot_probes
from .report import probes_markdown
from .results import ProbeResults
from .suite import run_probes

__all__ = ["CONTROLS", "GROUPINGS", "MODALITIES", "OPT_LEVELS", "TASKS", "CorpusSource", "ProbeConfig",
           "default_corpora", "RandomVectorsFeaturizer", "TemplateIdentityFeaturizer",
           "build_probe_featurizers",
           "DecisionSet", "ProbeData", "RetrievalSet", "prepare_probe_programs", "plot_probes",
           "probes_markdown", "ProbeResults", "run_probes"]
