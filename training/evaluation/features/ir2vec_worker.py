"""Subprocess entry that embeds IR files with IR2Vec (it exits the process on a parse error).

Run as ``python ir2vec_worker.py MODE LIST.json OUT.jsonl [VOCAB_DIR]``: LIST holds
``[[index, path], ...]``; VOCAB_DIR, when given, holds the seed vocabulary to use instead of
the one the package ships;
one JSON line ``{"i": index, "v": [300 floats]}`` is appended and flushed per finished file, so
the parent knows which file killed the process.
"""

from __future__ import annotations

import json
import sys

__all__ = ["main"]


def main(argv: list[str]) -> int:
    mode, list_path, out_path, *vocabulary = argv
    import ir2vec

    if vocabulary and vocabulary[0]:
        ir2vec.setSeedEmbdPath(vocabulary[0])

    with open(list_path) as handle:
        items = json.load(handle)
    with open(out_path, "a") as out:
        for index, path in items:
            vector = ir2vec.initEmbedding(path, mode, "p").getProgramVector()
            out.write(json.dumps({"i": index, "v": [float(x) for x in vector]}) + "\n")
            out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
