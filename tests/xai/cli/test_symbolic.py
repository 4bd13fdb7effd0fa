"""xai.cli.symbolic: the score part of ``python -m xai predict`` (the full command runs in test_cli.py)."""

from argparse import Namespace

from tests._fakes import FakeModel, scale_piece
from xai.cli import symbolic
from xai.symbolic import music, predict


def test_print_prediction_names_the_answer_and_each_windows_bars(capsys):
    summary = predict.classify(scale_piece(12), FakeModel()).summary()
    symbolic.print_prediction(summary)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{summary['model']}: {summary['piece']['label']} (")
    assert len(lines) == 1 + len(summary["windows"])
    first = summary["windows"][0]
    assert lines[1].startswith(f"  bars {first['start_bar']}-{first['end_bar']}: {first['label']}")


def test_predict_score_reads_the_file_and_asks_the_named_model(tmp_path, monkeypatch):
    path = tmp_path / "scale.mid"
    path.write_bytes(music.to_midi_bytes(scale_piece(8)))
    asked = []
    monkeypatch.setattr(symbolic.registry, "load", lambda name: asked.append(name) or FakeModel())
    out = symbolic.predict_score(Namespace(file=str(path), model="fake"))
    assert asked == ["fake"] and set(out) == {"model", "classes", "piece", "windows"}
