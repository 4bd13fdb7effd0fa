"""training.train_piano: the markdown model card is written from the JSON card alone, section by section, and
reproduces the shipped card byte for byte."""

import json

import pytest

from training import train_piano

CARD = train_piano.MODELS / f"{train_piano.NAME}.json"


@pytest.mark.skipif(not CARD.exists(), reason="the piano model's card does not ship")
def test_the_markdown_card_is_rebuilt_exactly_from_the_json_card():
    card = json.loads(CARD.read_text())
    text = train_piano.markdown_card(card)
    assert text == (train_piano.MODELS / f"{train_piano.NAME}.md").read_text()
    assert text.count("| true \\ pred |") == 2  # windows and works confusion tables
    assert all(f"| {c} |" in text for c in card["classes"])


def _fold_file(d, fraction, k, bal, work, n_works):
    (d / f"{fraction:.2f}_fold{k}.json").write_text(json.dumps(
        {"fraction": fraction, "fold": k, "training_works": n_works,
         "metrics": {"balanced_window_accuracy": bal, "work_accuracy": work}}))


def test_the_network_curve_summarises_complete_fractions_only_and_ends_with_the_full_cv(tmp_path):
    d = tmp_path / train_piano.CURVE_DIR
    d.mkdir()
    n = train_piano.asap.N_FOLDS
    for k in range(n):
        _fold_file(d, 0.5, k, 0.50 + 0.01 * k, 0.70, 40 + k)
    for k in range(n - 1):  # a fraction still running: not summarised
        _fold_file(d, 0.25, k, 0.4, 0.6, 20)
    full = [{"balanced_window_accuracy": 0.60 + 0.01 * k, "work_accuracy": 0.9} for k in range(n)]
    half, whole = train_piano.curve_summary(tmp_path, full)
    assert (half["fraction"], half["runs"], half["training_works_mean"]) == (0.5, n, 42.0)
    assert half["balanced_window_accuracy"]["mean"] == pytest.approx(0.52)
    assert (whole["fraction"], whole["training_works_mean"]) == (1.0, None)
    assert whole["balanced_window_accuracy"]["mean"] - half["balanced_window_accuracy"]["mean"] == pytest.approx(0.10)
    assert train_piano.curve_summary(tmp_path / "nothing", full) == []
    tested = [25, 25, 24, 24, 24]  # test works per fold: each fold trains on the others'
    with_counts = [dict(m, n_works=n) for m, n in zip(full, tested)]
    assert train_piano.curve_summary(tmp_path, with_counts)[-1]["training_works_mean"] == pytest.approx(97.6)


def test_the_card_reads_the_network_gain_per_doubling_and_extrapolates_only_when_it_grows():
    row = lambda f, a: {"fraction": f, "runs": 5, "training_works_mean": None if f == 1 else 48.8,  # noqa: E731
                        "balanced_window_accuracy": {"mean": a, "std": 0.01}, "work_accuracy": {"mean": 0.8, "std": 0.05}}
    grows = "\n".join(train_piano._md_network_curve({"network_learning_curve": [row(0.5, 0.60), row(1.0, 0.65)]}, {0.5: 0.57, 1.0: 0.64}))
    assert "gained 5.0 points" in grows and "(the baseline 7.0)" in grows
    assert "about 4.0 times the works" in grows  # 0.10 to go at 5 points per doubling: two doublings
    flat = "\n".join(train_piano._md_network_curve({"network_learning_curve": [row(0.5, 0.66), row(1.0, 0.65)]}, {}))
    assert "would not help this network" in flat and "times the works" not in flat
    assert train_piano._md_network_curve({}, {}) == []
