"""Build the label-noise lab's small shipped subset: ``python -m training.label_noise``.

Excerpts from the corpus cache (``python -m training.data build`` first), split by piece, packed as bits into
``assets/label_noise/subset.npz`` (read by :func:`models.label_noise.load_subset`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from models.label_noise import SUBSET_PATH, SUBSET_SEED, TEST_PER_CLASS, TRAIN_PER_CLASS, pack
from xai.symbolic import dataset as data


def build_subset(path: Path = SUBSET_PATH) -> dict:
    """Make the subset from the corpus cache (needs ``~/.cache/musicxai/corpus_v2.npz``) and save it."""
    table = data.build()
    parts = data.split(table)
    out, meta = {}, {"classes": list(data.CLASSES), "split": "xai.symbolic.dataset.split (by piece, seed "
                     f"{data.SEED})", "hop_quarters": 16, "min_notes": 4, "seed": SUBSET_SEED,
                     "per_class": {"train": TRAIN_PER_CLASS, "test": TEST_PER_CLASS},
                     "command": "python -m training.label_noise"}
    for name, cap in (("train", TRAIN_PER_CLASS), ("test", TEST_PER_CLASS)):
        X, y, p = data.window_set(table, parts[name], hop=16, cap_per_class=cap, random_state=SUBSET_SEED)
        out[f"X_{name}"], out[f"y_{name}"], out[f"piece_{name}"] = pack(X > 0), y.astype(np.int8), p.astype(np.int32)
        meta[f"n_{name}"] = int(len(y))
        meta[f"pieces_{name}"] = int(len(np.unique(p)))
    assert not set(out["piece_train"].tolist()) & set(out["piece_test"].tolist())
    meta["piece_ids"] = {str(i): table.ids[i] for i in np.unique(np.concatenate([out["piece_train"],
                                                                              out["piece_test"]]))}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, meta=np.array(json.dumps(meta)), **out)
    return meta


if __name__ == "__main__":
    m = build_subset()
    print({k: v for k, v in m.items() if k != "piece_ids"}, SUBSET_PATH.stat().st_size, "bytes", file=sys.stdout)
