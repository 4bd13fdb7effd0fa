import json

import numpy as np

from xai import cli


def test_hubness_of_your_own_collection_from_npy_files(tmp_path, capsys):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(400, 16)).astype(np.float32)
    labels = rng.integers(0, 4, 400)
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "labels.npy", labels)
    assert cli.main(["hubness", "--vectors", str(tmp_path / "x.npy"), "--labels", str(tmp_path / "labels.npy"),
                     "--k", "5", "--reduction", "mp", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 400 and out["reduction"] == "mp" and out["knn_accuracy"] is not None
    assert len(out["hubs"]) == 5 and out["hubs"][0]["k_occurrence"] >= out["hubs"][-1]["k_occurrence"]
    np.save(tmp_path / "few.npy", labels[:10])
    assert cli.main(["hubness", "--vectors", str(tmp_path / "x.npy"), "--labels", str(tmp_path / "few.npy")]) == 2
    assert "one label per vector" in capsys.readouterr().err
    (tmp_path / "bad.npy").write_text("not an array")
    assert cli.main(["hubness", "--vectors", str(tmp_path / "bad.npy")]) == 2
    assert "is not a NumPy .npy array" in capsys.readouterr().err
