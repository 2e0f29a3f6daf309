"""The run-time inputs' trees under a stacked fine-tuning head (``finetune.runtime_base``)."""

from __future__ import annotations

import numpy as np
import pytest

from mirencoder.training.evaluation.finetune_base import RuntimeBase


def _rows(programs: int = 12, sizes: int = 6, seed: int = 0):
    """Rows whose label is 1 when ``transfer`` is large, except on program 0 (the only one
    with work-group size 100), whose rows are flipped: trees fitted on every row can isolate
    it, trees that never saw it predict the rule there."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(programs), sizes)
    runtime = np.column_stack([rng.uniform(0, 10, len(groups)), rng.integers(1, 9, len(groups))])
    labels = (runtime[:, 0] > 5).astype(np.int64)
    labels[groups == 0] = 1 - labels[groups == 0]
    runtime[groups == 0, 1] = 100
    return runtime, labels, groups


def test_out_of_fold_margins_follow_the_rule_and_never_saw_their_program() -> None:
    runtime, labels, groups = _rows()
    base = RuntimeBase(classes=2, folds=4).fit(runtime, labels, groups)
    margins = base.train_margins
    assert margins.shape == (len(labels), 2)
    np.testing.assert_array_equal(margins[:, 0], 0.0)  # binary: one logit, the second class's
    rule = (runtime[:, 0] > 5).astype(np.int64)
    others = groups != 0
    assert ((margins[others, 1] > 0) == rule[others]).mean() > 0.9
    # program 0 breaks the rule; trees that never saw it predict the rule there ...
    assert ((margins[~others, 1] > 0) == rule[~others]).mean() > 0.9
    # ... while the trees fitted on every row (the test rows' margins) memorised it
    fitted = base.margins(runtime[~others])
    assert ((fitted[:, 1] > 0) == labels[~others]).mean() >= 5 / 6


def test_three_classes_and_a_class_missing_from_an_inner_fold() -> None:
    runtime, labels, groups = _rows()
    labels = np.where(groups == 11, 2, labels)  # class 2 lives in one program only
    base = RuntimeBase(classes=3, folds=3, seed=1).fit(runtime, labels, groups)
    assert base.train_margins.shape == (len(labels), 3)
    # the fold holding program 11 never saw class 2: its rows get 0 for it, not a crash
    np.testing.assert_array_equal(base.train_margins[groups == 11, 2], 0.0)
    new = base.margins(runtime[:5])
    assert new.shape == (5, 3) and np.isfinite(new).all()


def test_one_program_or_one_class_gives_neutral_margins() -> None:
    runtime, labels, groups = _rows()
    single = RuntimeBase(classes=2).fit(runtime, labels, np.zeros(len(labels)))
    np.testing.assert_array_equal(single.train_margins, 0.0)  # no inner folds possible
    same = RuntimeBase(classes=2).fit(runtime, np.ones(len(labels), dtype=np.int64), groups)
    np.testing.assert_array_equal(same.margins(runtime), 0.0)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 2 classes"):
        RuntimeBase(classes=1)
    with pytest.raises(ValueError, match="runtime_base_folds"):
        RuntimeBase(classes=2, folds=1)
    with pytest.raises(ValueError, match="before fit"):
        RuntimeBase(classes=2).margins(np.zeros((1, 2)))
