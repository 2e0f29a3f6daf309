"""Real data (../shared/data): loaders, the opcode-histogram control through the literature's
device-mapping folds, and the thread-coarsening command end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mirencoder.cli import main
from mirencoder.training.evaluation.devmap_data import load_devmap_669, load_devmap_680
from mirencoder.training.evaluation.devmap_eval import DevMapConfig, evaluate_devmap_rows
from mirencoder.training.evaluation.feature_runs import featurize_programs
from mirencoder.training.evaluation.features.opcode_histogram import OpcodeHistogramFeaturizer
from mirencoder.training.evaluation.report_files import read_studies

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("eval-cache")


def test_devmap_669_opcode_histogram_literature_amd(shared_data: Path, cache_dir: Path) -> None:
    data = load_devmap_669(shared_data, cache_dir)
    assert data.coverage["rows_used"] == 669 and len(data.programs) == 669
    assert data.coverage["kernels_total"] == 256
    assert any("lavaMD" in repair for repair in data.repairs)
    assert not list(Path(__file__).resolve().parents[3].glob("kernels_ir"))  # not in the repo
    features, info = featurize_programs(data.programs, [OpcodeHistogramFeaturizer()],
                                        progress=False)
    assert info["opcode-histogram"]["failures"] == {}
    config = DevMapConfig(data_dir=shared_data, cache_dir=cache_dir, row_sets=("669",),
                          platforms=("amd",), protocols=("literature",), split_seeds=(104,),
                          seeds=1)
    results = evaluate_devmap_rows(data, features, config, progress=False)
    amd = results["literature-rs104"]["amd"]
    assert 75.0 < amd["opcode-histogram"]["accuracy_mean"] < 100.0
    assert amd["static"]["accuracy_mean"] == pytest.approx(100 * 395 / 669, abs=0.1)
    assert amd["oracle"]["speedup_mean"] == pytest.approx(3.63, abs=0.01)
    assert 1.5 < amd["opcode-histogram"]["speedup_mean"] < amd["oracle"]["speedup_mean"]


def test_devmap_680_compiles_kernels_and_counts_failures(shared_data: Path,
                                                        cache_dir: Path) -> None:
    data = load_devmap_680(shared_data, cache_dir)
    coverage = data.coverage
    assert coverage["rows_total"] == 680 and coverage["kernels_total"] == 256
    assert coverage["kernels_compiled"] + coverage["kernels_failed"] == 256
    assert coverage["kernels_compiled"] >= 150
    assert coverage["rows_used"] + sum(coverage["excluded_rows"].values()) == 680
    assert coverage["details"]["missing_source"] == []
    assert coverage["details"]["src_column_mismatch"] == []
    assert all(p.path.suffix == ".bc" and p.path.read_bytes()[:4] == b"BC\xc0\xde"
               for p in data.programs[:5])
    for table in data.tables.values():
        assert len(table) == coverage["rows_used"]
        assert set(table["benchmark"]) == {p.kernel for p in data.programs}


def test_the_two_devmap_row_sets_share_their_measurements(shared_data: Path) -> None:
    """The 669 and 680 rows are one set of measurements with two IR programs per kernel
    (IR2Vec's and the one compiled here): the rows they share agree on every label and run-time
    input, which is what the agreement and resolution studies' readings rest on."""
    import pandas as pd

    columns = ["oracle", "transfer", "wgsize", "runtime_cpu", "runtime_gpu"]
    for platform in ("amd", "nvidia"):
        tables = [pd.read_csv(shared_data / "devmap" / folder / f"cgo17-{platform}.csv")
                  .set_index(["benchmark", "dataset"]) for folder in ("ir2vec-669", "")]
        shared = tables[0].index.intersection(tables[1].index)
        assert len(shared) == 665
        assert (len(tables[0]) - len(shared), len(tables[1]) - len(shared)) == (4, 15)
        assert tables[0].loc[shared, columns].equals(tables[1].loc[shared, columns])


def test_thread_coarsening_command(shared_data: Path, cache_dir: Path, tmp_path: Path) -> None:
    code = main(["eval", "thread-coarsening", "--data-dir", str(shared_data), "--cache-dir",
                 str(cache_dir), "--out-dir", str(tmp_path), "--features", "opcode-histogram",
                 "--protocols", "leakage-free", "--seeds", "1", "--quiet"])
    assert code == 0
    summary = json.loads((tmp_path / "results" / "summary.json").read_text())
    average = summary["results"]["thread-coarsening"]["leakage-free"]["average"]
    assert average["oracle"]["speedup_mean"] == pytest.approx(1.356, abs=0.001)
    assert 0.8 < average["opcode-histogram"]["speedup_mean"] < 1.356
    assert (tmp_path / "RESULTS.md").exists() and (tmp_path / "results" / "results.png").exists()


def test_coarsening_resolution_on_real_data(shared_data: Path, cache_dir: Path,
                                            tmp_path: Path) -> None:
    from mirencoder.training.evaluation.coarsening_data import load_thread_coarsening
    from mirencoder.training.evaluation.coarsening_eval import (
        CoarseningConfig,
        evaluate_coarsening_rows,
    )
    from mirencoder.training.evaluation.coarsening_resolution import (
        coarsening_resolution,
        exact_feature_sets,
    )
    from mirencoder.training.evaluation.coarsening_resolution import (
        main as resolution_main,
    )

    data = load_thread_coarsening(shared_data, cache_dir)
    section = coarsening_resolution(data, draws=2, boot_draws=500)
    assert section["kernels"] == 17 and section["oracle"] == pytest.approx(1.356, abs=0.001)
    for row in section["exact"].values():
        low, high = row["interval"]
        assert low < row["speedup"] < high
    # The per-kernel table's mean is the protocol's own average speedup.
    size = exact_feature_sets(data)["program-size"]
    protocol = evaluate_coarsening_rows(data, {"size": size}, CoarseningConfig(
        protocols=("leakage-free",), seeds=1), progress=False)["leakage-free"]["average"]
    assert section["exact"]["program-size"]["speedup"] == pytest.approx(
        protocol["size"]["speedup_mean"], abs=1e-12)
    assert section["exact"]["program-size"]["columns"] == 1
    assert all(len(r["values"]) == 2 for r in section["random"].values())
    (tmp_path / "results").mkdir()
    assert resolution_main(["--draws", "2", "--data-dir", str(shared_data), "--cache-dir",
                            str(cache_dir), "--report-dir", str(tmp_path)]) == 0
    text, study = (tmp_path / "RESULTS.md").read_text(), read_studies(tmp_path)
    assert "## How finely thread coarsening leakage-free separates representations" in study
    assert "**what limits thread coarsening leakage-free** (17 kernels" in text
    assert (tmp_path / "results" / "coarsening_resolution.png").stat().st_size > 1000


def test_missing_data_dir_is_a_clear_error(tmp_path: Path, capsys) -> None:
    code = main(["eval", "devmap", "--data-dir", str(tmp_path / "nowhere"), "--cache-dir",
                 str(tmp_path), "--out-dir", str(tmp_path), "--features", "kernel-identity",
                 "--quiet"])
    assert code == 1
    assert "evaluation data not found" in capsys.readouterr().err
