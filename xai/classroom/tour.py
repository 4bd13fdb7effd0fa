"""The guided tour's steps: one held-out piano performance and the question Foscarin et al. (2022) asked.

Does the piano composer model use the *Alberti bass* when it hears Haydn (or Beethoven), and *counterpoint* when
it hears Bach? Each :class:`Step` is plain data: a title, what to look at, and the view it opens with its settings,
as a share state (:mod:`xai.classroom.share`), so a step's button is an ordinary share link and the tests can check
that every step names an example, a model, classes, layers and concepts that exist. ``pages/tour.py`` draws them.

Mozart, whose Alberti basses are the textbook case, is not a class of this model (ASAP has 4 Mozart works, too few
to evaluate by work), so the tour asks the question of Haydn and Beethoven.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xai.classroom import share

__all__ = ["Step", "STEPS", "MODEL", "PIECE", "SCORE", "ALBERTI", "COUNTERPOINT", "state", "concepts_named"]

MODEL = "piano_composer"
#: A held-out performance (ASAP, MAESTRO) of a work the model never saw, and its score.
PIECE = "Haydn (performance): Keyboard Sonata No. 6 (ASAP numbering)"
SCORE = "Haydn (score): Keyboard Sonata No. 6 (ASAP numbering)"
ALBERTI, COUNTERPOINT = "alberti bass", "contrapuntal texture"
_PIECE_STATE = {"source": "example", "example": PIECE, "model": MODEL}


@dataclass(frozen=True)
class Step:
    """One step: its title, what to look at (markdown), and the view its button opens with ``link`` settings.

    ``live`` names what the page shows of the real view inside the step (``"answer"``: the model's answer for
    the piece; ``""``: nothing). ``also`` holds further (view, settings, label) links.
    """

    title: str
    text: str
    view: str
    link: dict
    label: str
    icon: str = ":material/open_in_new:"
    live: str = ""
    also: tuple[tuple[str, dict, str], ...] = field(default_factory=tuple)


STEPS: tuple[Step, ...] = (
    Step(
        "A Haydn sonata, played",
        "A performance by a competition pianist (MAESTRO, via ASAP) of a Haydn keyboard sonata movement that the "
        "*piano composer* model never saw in training — neither this performance nor any other of the work. The "
        "model reads 20-second windows of the piano roll, with the pedal, and shares out its belief among six "
        "composers: Bach, Beethoven, Chopin, Haydn, Liszt and Schubert. **Look at** whether it hears Haydn, and "
        "in which windows it hesitates (often towards Beethoven: the same Classical keyboard style).",
        "classify", _PIECE_STATE, "Open this performance in 'Classify a piece'", ":material/music_note:",
        live="answer"),
    Step(
        "Alberti bass for Haydn?",
        "The research this tool builds on (Foscarin et al., ISMIR 2022) asked whether a composer classifier uses "
        "the **Alberti bass** — the left hand's broken chord, low-high-middle-high — for Mozart, Haydn and "
        "Beethoven, and found it did. Mozart is **not a class here** (too few works in the data to test fairly), "
        "so we ask it of Haydn and Beethoven. The link opens TCAV with the built-in concept *alberti bass* "
        "(excerpts mined from scores by a written rule) and those two composers; press **Run the test**. **Look "
        "at** the diamond against the grey dots of random concepts: only a ★ is evidence.",
        "tcav", {"model": MODEL, "concepts": [ALBERTI], "targets": ["Haydn", "Beethoven"],
                 "layers": ["block3", "block4"]},
        f"Test '{ALBERTI}' for Haydn and Beethoven", ":material/science:"),
    Step(
        "Counterpoint for Bach?",
        "The same question for **counterpoint**: independent voices, imitation, as in Bach's fugues. The paper "
        "found its *contrapuntal* concept marked Bach '+', and Chopin, Liszt and Schubert '−'. The link tests the "
        "built-in *contrapuntal texture* for Bach, with Chopin beside it as a contrast. **Look at** whether the "
        "concept's direction even separates from random ones at a layer ('no score' says it does not).",
        "tcav", {"model": MODEL, "concepts": [COUNTERPOINT], "targets": ["Bach", "Chopin"],
                 "layers": ["block3", "block4"]},
        f"Test '{COUNTERPOINT}' for Bach and Chopin", ":material/science:"),
    Step(
        "Concepts the model found itself",
        "Named concepts test *our* ideas. Discovered concepts go the other way: the tool factorises the model's "
        "inner layer over many excerpts and shows the excerpts each found pattern is strongest in. **Look at** "
        "whether a pattern important for Haydn or Bach sounds like an Alberti bass or like counterpoint — or like "
        "something else entirely (a register, a tempo, the pedal).",
        "discover", {"model": MODEL, "layer": "block4", "method": "nmf", "k": 8, "scope": "All classes",
                     "f_classes": ["Haydn", "Bach"]},
        "Open the discovered concepts of the piano model", ":material/hub:"),
    Step(
        "Which seconds decide, in this piece",
        "Back to the Haydn performance: LIME switches parts of the piece off and watches the answer change; "
        "Attributions follow the model's gradients. Both point at the seconds and registers the answer rests on. "
        "**Look at** whether the left hand's accompaniment (where an Alberti bass would be) carries the Haydn "
        "answer, or the melody, or a few loud bars.",
        "lime", {**_PIECE_STATE, "input": "score", "target": "Haydn"},
        "Explain the Haydn answer with LIME", ":material/grid_view:",
        also=(("attribute", {**_PIECE_STATE, "input": "score", "target": "Haydn"},
               "Or with attributions (Integrated Gradients, Grad-CAM)"),)),
    Step(
        "What the numbers mean",
        "A TCAV score counts how often nudging a layer **towards** the concept raises the composer's score; it is "
        "tested against many random concepts, corrected for the number of tests, and reported only where the "
        "concept's direction is better than random ones on excerpts of other pieces. A ★ says the answer *moves "
        "with* the idea, not that the idea is *why* the model answers. Two confounds to keep in mind: the "
        "performances come from one competition on one piano, and expression alone (velocity and timing, no "
        "pitches) already tells composers apart better than chance — the model card says how much of the answer "
        "comes from the notes. The link runs both concepts for every composer and layer: the paper's table for "
        "this model (docs/tcav_piano_table.md has it with several seeds, beside the paper's marks).",
        "tcav", {"model": MODEL, "concepts": [ALBERTI, COUNTERPOINT],
                 "targets": ["Bach", "Beethoven", "Chopin", "Haydn", "Liszt", "Schubert"],
                 "layers": ["block2", "block3", "block4"]},
        "Both concepts for every composer and layer", ":material/table_chart:",
        also=(("models_view", {"model": MODEL}, "The model card: accuracy, baseline, confounds"),)),
)


def state(view: str, settings: dict) -> dict:
    """A step's link settings checked against the view's share schema (ParameterError if a link could not hold
    them), so a step never opens a view with settings it would refuse."""
    return share.validate(view, dict(settings))


def concepts_named() -> set[str]:
    """Every concept name the steps' links test (to check against the shipped concept library)."""
    return {c for s in STEPS for _, link in ((s.view, s.link), *((v, d) for v, d, _ in s.also))
            for c in link.get("concepts", [])}
