"""The MLflow "model from code" of a registered encoder: program text in, embeddings out.

MLflow executes this file when it loads the model (``mlflow.pyfunc.load_model`` or
``mlflow models serve``); its only artifact, ``encoder``, is an encoder package folder
(safetensors weights + JSON config + tokenizer + node vocabulary), so nothing pickled is
needed. The ``mirencoder`` package must be importable where the model is loaded.

MLflow runs this file as a script (not as part of the package), so it imports the package
absolutely; it sits beside the CLI, above every library layer, and nothing imports it
(:data:`mirencoder.training.registry.model_registry.PYFUNC_CODE_PATH` names the file).

Input: a pandas DataFrame with a ``text`` column (C, C++, OpenCL C, CUDA or LLVM-IR text) and
optional ``language`` (``c``, ``cpp``, ``opencl``, ``cuda``, ``ir``; empty: IR when the text
looks like IR — ``define``/``target triple`` — else C) and ``modality`` (``fused`` default,
``tokens``, ``graph``; one value per request) columns; a list of strings or a dict
``{"text": [...]}`` also works. Served as JSON:
``{"dataframe_records": [{"text": "int f(int x){return x+1;}"}]}``.

Parameters (``params=`` of ``predict``, or ``"params"`` beside the records when served):
``modality`` (as the column), ``basis`` (``"package"``: vectors in the principal basis the
package ships, centred, turned and cut to its leading directions; ``""``: the network's own
coordinates), ``basis_variance`` (0.9, ``DEFAULT_BASIS_VARIANCE``) and ``basis_dims`` (0: by
variance).

Output: a DataFrame with one row per input: ``embedding`` (a list of D floats; null for a
failed input), ``error`` (empty when embedded, else ``reason: message``) and ``reason``.
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel

__all__ = ["EncoderPyfunc", "to_frame"]


def to_frame(model_input: Any) -> pd.DataFrame:
    """Normalises the accepted input forms to a DataFrame with a ``text`` column."""
    if isinstance(model_input, pd.DataFrame):
        frame = model_input
    elif isinstance(model_input, pd.Series):
        frame = model_input.to_frame(name="text")
    elif isinstance(model_input, str):
        frame = pd.DataFrame({"text": [model_input]})
    elif isinstance(model_input, dict):
        frame = pd.DataFrame({k: v if isinstance(v, list) else [v]
                              for k, v in model_input.items()})
    elif isinstance(model_input, list):
        if all(isinstance(item, dict) for item in model_input):
            frame = pd.DataFrame(model_input)
        else:
            frame = pd.DataFrame({"text": [str(item) for item in model_input]})
    else:
        raise TypeError(f"unsupported input of type {type(model_input).__name__}: give a "
                        "DataFrame with a 'text' column or a list of strings")
    if "text" not in frame.columns:
        if frame.shape[1] == 1:
            frame = frame.rename(columns={frame.columns[0]: "text"})
        else:
            raise ValueError(f"input needs a 'text' column; got {list(frame.columns)}")
    return frame


class EncoderPyfunc(PythonModel):
    """Embeds program texts with the packaged encoder."""

    def load_context(self, context) -> None:
        from mirencoder.training.embedding.embedder import Embedder

        self.package = context.artifacts["encoder"]
        self.embedder = Embedder.from_package(self.package, source="mlflow-pyfunc")
        self.in_basis: dict[tuple[float, int], Any] = {}

    def _embedder(self, params: dict) -> Any:
        """The plain embedder, or one in the package's principal basis (made once per
        setting)."""
        basis = str(params.get("basis") or "")
        if not basis:
            return self.embedder
        if basis != "package":
            raise ValueError(f"basis must be '' or 'package', got {basis!r}")
        from mirencoder.training.core.package_verify import DEFAULT_BASIS_VARIANCE
        from mirencoder.training.embedding.embed_config import EmbedConfig

        key = (float(params.get("basis_variance", DEFAULT_BASIS_VARIANCE)),
               int(params.get("basis_dims", 0)))
        if key not in self.in_basis:
            from mirencoder.training.embedding.embedder import Embedder

            config = EmbedConfig(model=self.package, basis="package", basis_variance=key[0],
                                 basis_dims=key[1])
            self.in_basis[key] = Embedder.from_package(self.package, source="mlflow-pyfunc",
                                                       config=config)
        return self.in_basis[key]

    def predict(self, context, model_input, params=None) -> pd.DataFrame:
        params = params or {}
        frame = to_frame(model_input)
        texts = ["" if t is None else str(t) for t in frame["text"].tolist()]
        languages = None
        if "language" in frame.columns:
            languages = [(str(v).strip().lower() or None) if v is not None and v == v else None
                         for v in frame["language"].tolist()]
        modality = params.get("modality") or "fused"
        if "modality" in frame.columns and len(frame):
            modality = str(frame["modality"].iloc[0] or modality)
        result = self._embedder(params).embed_texts(texts, languages, modality=modality,
                                                    progress=False)
        embeddings, errors, reasons = [], [], []
        for i in range(len(texts)):
            if i in result.errors:
                reason, message = result.errors[i]
                embeddings.append(None)
                errors.append(f"{reason}: {message}")
                reasons.append(reason)
            else:
                embeddings.append([float(x) for x in result.vectors[i]])
                errors.append("")
                reasons.append("")
        return pd.DataFrame({"embedding": embeddings, "error": errors, "reason": reasons})


mlflow.models.set_model(EncoderPyfunc())
