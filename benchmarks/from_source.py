"""Runs ``mirencoder`` from this source tree without installing it (the GPU machine's image
has torch, Lightning, PyG and pyarrow but no network to install the project).

    python3 benchmarks/from_source.py pretrain --config record-gpu-base --set trainer.max_steps=900

Scripts import :func:`ensure_package` to make ``mirencoder.*`` importable the same way.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# The installed layout (pyproject.toml's package-dir): top-level folders as sub-packages.
PACKAGE_DIRS = (("mirencoder", "mirencoder"), ("mirencoder.pipelines", "pipelines"),
                ("mirencoder.training", "training"), ("mirencoder.infra", "infra"))


def ensure_package() -> None:
    """Makes ``mirencoder.*`` importable from the source tree when it is not installed."""
    try:
        import mirencoder.training.pretraining.config  # noqa: F401
        return
    except ImportError:
        pass
    for name, folder in PACKAGE_DIRS:
        init = REPO_ROOT / folder / "__init__.py"
        spec = importlib.util.spec_from_file_location(
            name, init, submodule_search_locations=[str(REPO_ROOT / folder)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)


if __name__ == "__main__":
    ensure_package()
    from mirencoder.cli import main

    sys.argv[0] = "mirencoder"
    sys.exit(main())
