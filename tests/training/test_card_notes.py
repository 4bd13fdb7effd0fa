"""The card notes of a model trained on the five-soundfont data carry its leave-one-soundfont-out numbers."""

from training import card_notes


def _card(gap_mean):
    ms = {"mean": 0.9, "std": 0.03, "n_folds": 5}
    return {"task": "instrument", "data_version": 2, "metrics": {"test": {"accuracy": 0.95, "n": 480}},
            "loso": {"heldout_accuracy": ms, "in_soundfont_accuracy": {"mean": 0.93, "std": 0.01, "n_folds": 5},
                     "gap_points": {"mean": gap_mean, "std": 2.0, "goal": 5.0, "met": gap_mean <= 5}}}


def test_five_soundfont_text_states_rendering_and_the_measured_gap():
    text = card_notes._five_soundfont_text(_card(3.0))
    assert "rendered, not recorded" in text and "five General MIDI soundfonts" in text
    assert "0.900 +- 0.030" in text and "gap of 3.0 points" in text and "were not measured" in text
    no_loso = {k: v for k, v in _card(3.0).items() if k != "loso"}
    assert "leave-one-soundfont-out" not in card_notes._five_soundfont_text(no_loso)


def test_retrieval_numbers_of_stale_embeddings_are_not_claimed(monkeypatch):
    monkeypatch.setattr(card_notes.embeddings, "parameters", lambda: {"weights_sha256": {"instrument": "old"}})
    text = card_notes._retrieval_text("instrument", {"weights_sha256": "new"})
    assert "earlier weights" in text and "k-NN" not in text


def test_style_text_names_the_weakest_class_from_the_card():
    text = card_notes._style_text({"accuracy": 0.61, "per_class_f1": {"bach": 0.7, "monteverdi": 0.2, "folk": 0.9}})
    assert "per clip 0.610" in text and "weakest class monteverdi (F1 0.20)" in text


def test_a_five_soundfont_style_card_gets_the_style_sentence(monkeypatch):
    monkeypatch.setattr(card_notes, "_ood_text", lambda name: "")
    monkeypatch.setattr(card_notes, "_retrieval_text", lambda name, card: "")
    card = _card(3.0) | {"task": "style"}
    card["metrics"]["test"]["per_class_f1"] = {"bach": 0.5, "folk": 0.8}
    text = card_notes.notes("style_audio", card)
    assert "five General MIDI soundfonts" in text and "weakest class bach" in text


def test_a_card_written_again_keeps_its_notes_section():
    import json

    from models.registry import ASSETS
    from training import train_audio

    card = json.loads((ASSETS / "instrument.json").read_text())
    md = train_audio.model_card_markdown(card)
    assert card_notes.MARK in md and card["limitations"][:80] in md
    assert md.index(card_notes.MARK) < md.index("## Reproduce")
    assert md == (ASSETS / "instrument.md").read_text()  # the shipped card is exactly what the script writes
