"""The TCAV table of a study: the product's correction over each concept's tests, the summary over seeds, the
paper's marks beside ours, over a study's stored cells
(the ``tcav-table`` command's tests are in tests/xai/cli/test_tables.py)."""

from __future__ import annotations

import pytest

from tests.xai.study._table_records import OPTIONS, fake_study, rec
from xai.contract import fields_equal
from xai.study import runner
from xai.study import table as tmod


def test_holm_runs_over_each_concepts_tests_of_one_seed_and_skips_untested_layers():
    recs = [rec("alberti bass", "Haydn", "block4", 0, mean=0.8, p=0.01),
            rec("alberti bass", "Bach", "block4", 0, mean=0.7, p=0.04),
            rec("alberti bass", "Chopin", "block4", 0, mean=0.6, p=0.04),
            rec("alberti bass", "Liszt", "block3", 0, mean=0.9, p=0.001, better=False),  # not tested: no CAV
            rec("contrapuntal texture", "Bach", "block4", 0, mean=0.8, p=0.04)]  # its own family of one
    t = tmod.from_records(recs, options=OPTIONS)
    # Holm over three tests: 0.01*3 = 0.03 passes, 0.04*2 = 0.08 does not; the untested cell is not in the family
    assert t.cell("alberti bass", "Haydn", "block4").p_corrected == (pytest.approx(0.03),)
    assert t.cell("alberti bass", "Haydn", "block4").mark == tmod.PLUS
    assert t.cell("alberti bass", "Bach", "block4").mark == tmod.BLANK
    assert t.cell("alberti bass", "Liszt", "block3").mark == tmod.NO_CAV
    assert t.cell("contrapuntal texture", "Bach", "block4").mark == tmod.PLUS
    bonf = tmod.from_records(recs, options=OPTIONS | {"correction": "bonferroni"})
    assert bonf.cell("alberti bass", "Bach", "block4").p_corrected == (pytest.approx(0.12),)


def test_seeds_give_a_mean_a_spread_and_a_majority_mark():
    recs = [rec("alberti bass", "Liszt", "block4", s, mean=m, rnd=0.6, p=p)
            for s, m, p in ((0, 0.2, 0.001), (1, 0.3, 0.002), (2, 0.55, 0.5))]
    c = tmod.from_records(recs, options=OPTIONS).cell("alberti bass", "Liszt", "block4")
    assert c.seeds == (0, 1, 2) and c.mean == pytest.approx(0.35)
    assert c.spread == pytest.approx(0.1803, abs=1e-3) and c.spread_over == "seeds"
    assert (c.significant, c.tested, c.mark) == (2, 3, tmod.MINUS)  # below the random sets' score in 2 of 3
    one = tmod.from_records(recs[:1], options=OPTIONS).cell("alberti bass", "Liszt", "block4")
    assert one.spread == pytest.approx(0.1) and one.spread_over == "runs"
    split = tmod.from_records(recs[:1] + recs[2:], options=OPTIONS).cell("alberti bass", "Liszt", "block4")
    assert split.mark == tmod.BLANK  # significant in 1 of 2 seeds: no majority


def test_agreement_with_the_paper_counts_our_marks_against_its_table():
    recs = [rec("alberti bass", "Haydn", "block4", 0, mean=0.9, p=0.001),   # paper +: agree
            rec("alberti bass", "Chopin", "block4", 0, mean=0.6, p=0.9),    # paper −, ours blank
            rec("alberti bass", "Schubert", "block4", 0, mean=0.6, p=0.9),  # paper blank, ours blank: agree
            rec("contrapuntal texture", "Bach", "block4", 0, mean=0.5, p=0.001, better=False)]  # no CAV vs +
    a = tmod.agreement(tmod.from_records(recs, options=OPTIONS), "block4")
    assert (a["agree"], a["compared"], a["same_sign"], a["signed_by_paper"]) == (2, 4, 1, 3)
    assert ("alberti bass", "Chopin", "", tmod.MINUS) in a["differ"]


def test_the_table_round_trips_json_and_reads_as_markdown():
    recs = [rec(c, t, la, s, mean=0.5 + 0.1 * s, p=0.01 * (s + 1))
            for c in ("alberti bass", "virtuosic figuration") for t in ("Bach", "Haydn")
            for la in ("block3", "block4") for s in (0, 1)]
    t = tmod.from_records(recs, study="piano", options=OPTIONS, n_cells=len(recs) + 2,
                          failed=(("tcav concept=octave bass", "no concept called 'octave bass'"),))
    assert fields_equal(tmod.TCAVTable.from_json(t.to_json()), t)
    md = tmod.markdown(t, command="python -m xai tcav-table --model piano_composer")
    assert "## Ours beside the paper's" in md and "| alberti bass (alberti bass) |" in md
    assert "| virtuosic figuration (difficult-to-play) |" in md and "not run" in md  # contrapuntal was not run
    assert "## Where we differ and why" in md and "one-sample test" in md and "Mozart" in md
    assert "16 of 18 cells finished" in md and "no concept called 'octave bass'" in md
    assert "0.55 ± 0.07" in md  # (0.5, 0.6) over two seeds


def test_cells_the_study_never_declared_are_told_apart_from_cells_not_run_yet():
    recs = [rec("alberti bass", "Bach", "block4", 0, mean=0.6, p=0.5)]
    planned = [("alberti bass", "Bach", la) for la in ("block3", "block4")] + [("pedal point", "Bach", "block4")]
    t = tmod.from_records(recs, options=OPTIONS, planned=planned, n_cells=3)
    assert t.layers == ("block3", "block4") and t.concepts == ("alberti bass", "pedal point")
    md = tmod.markdown(t)
    block3 = md.split("### block3")[1].split("###")[0]
    assert "| alberti bass | not run |" in block3 and "pedal point" not in block3  # never declared at block3
    assert "| pedal point | not run |" in md.split("### block4")[1]


def test_the_papers_own_test_marks_runs_it_would_call_significant():
    # 20 runs with mean 0.55 and sd 0.1: the inflated two-sample t passes Bonferroni over 6 composers ...
    assert tmod.paper_test(0.55, 0.1, 20, 6) == tmod.PLUS
    assert tmod.paper_test(0.2, 0.0, 20, 6) == tmod.MINUS  # identical runs: any distance from 0.5 is "significant"
    assert tmod.paper_test(0.52, 0.2, 20, 6) == tmod.BLANK
    # ... while our null can call the same cell nothing: random sets score as high
    r = rec("alberti bass", "Haydn", "block4", 0, mean=0.9, p=0.4, rnd=0.88) | {"n_runs": 20}
    t = tmod.from_records([r], options=OPTIONS)
    c = t.cell("alberti bass", "Haydn", "block4")
    assert (c.mark, c.paper_rule) == (tmod.BLANK, tmod.PLUS)
    assert tmod.agreement(t, "block4", rule="paper")["same_sign"] == 1
    assert tmod.agreement(t, "block4")["same_sign"] == 0
    assert "### The paper's test on our runs" in tmod.markdown(t) and "(r 0.88)" in tmod.markdown(t)


def test_cells_of_another_version_of_a_concept_are_left_out_as_stale(tmp_path):
    _, study = fake_study(tmp_path)
    store = runner.Store(study.output)
    store.prepare()
    cells = [c for c in study.cells if c.params["layer"] == "block4" and c.params["seed"] == 0]
    for i, c in enumerate(cells):
        p = c.params
        r = rec(p["concept"], p["target"], "block4", 0, mean=0.7, p=0.001)
        store.save(c, {"result": {"records": [r], "concept_fingerprint": "old" if i == 0 else "new"}})
    prints = {"alberti bass": "new", "contrapuntal texture": "new"}
    assert [c.key for c in tmod.stale(study, prints)] == [cells[0].key]
    t = tmod.build(study, fingerprints=prints)
    assert (t.n_finished, t.n_stale) == (len(cells) - 1, 1)
    assert "1 finished cell(s) were computed from an earlier version" in tmod.markdown(t)
    assert tmod.build(study).n_finished == len(cells)  # without fingerprints nothing is judged stale


def test_layers_run_shallow_to_deep_whatever_order_the_study_declares_them_in():
    planned = [("alberti bass", "Bach", la) for la in ("block4", "block10", "block2")]
    t = tmod.from_records([rec("alberti bass", "Bach", "block4", 0, mean=0.6, p=0.5)], planned=planned)
    assert t.layers == ("block2", "block4", "block10")
    assert "**ours at block10**" in tmod.markdown(t)
