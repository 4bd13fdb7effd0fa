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
