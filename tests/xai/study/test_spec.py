import pytest

from xai.errors import InputError
from xai.study import spec


def test_a_grid_is_the_cross_product_of_its_lists_with_fixed_keys_and_checked_options(tmp_path):
    s = spec.loads("""
name = "small"
output = "out"
[[tcav]]
models = "composer"
concepts = ["imitation", "syncopation"]
classes = ["bach", "folk", "bach"]
layers = ["block3"]
seeds = [0, 1]
options = { n_random = 5 }
[[label_noise]]
kinds = ["symmetric"]
noises = [0, 0.2]
""", folder=tmp_path)
    assert s.name == "small" and s.output == tmp_path / "out"
    tcav = [c for c in s.cells if c.kind == "tcav"]
    assert len(tcav) == 1 * 2 * 2 * 1 * 2  # the repeated class counts once
    assert tcav[0].params["options"]["n_random"] == 5 and tcav[0].params["options"]["alpha"] == 0.01
    noise = [c for c in s.cells if c.kind == "label_noise"]
    assert [c.params["noise"] for c in noise] == [0.0, 0.2] and noise[0].params["seed"] == 0
    assert len({c.key for c in s.cells}) == len(s.cells)
    again = spec.loads("""
[[label_noise]]
kinds = ["symmetric"]
noises = [0.0]
""")
    assert again.cells[0].key == noise[0].key  # the same parameters are the same cell in any file


def test_discovery_axes_stay_out_of_its_options():
    s = spec.loads('[[discovery]]\nmodels = ["composer"]\nlayers = ["block3"]\nk = [4, 8]\nmethods = ["nmf", "ntd"]\n'
                   'options = { max_iter = 50 }')
    assert len(s.cells) == 4
    assert all("method" not in c.params["options"] and c.params["options"]["max_iter"] == 50 for c in s.cells)


@pytest.mark.parametrize("text, message", [
    ("[[tcav\nmodels = 1", "not valid TOML"),
    ("name = 'x'", "declares no cells"),
    ("[[tcv]]\nseeds = [0]", r"unknown section\(s\) tcv"),
    ("[[hubness]]\nembeddings = ['a']\nk = [5]\nreductions = ['none']\ncolour = 'red'", r"key\(s\) colour are not known"),
    ("[[hubness]]\nembeddings = ['a']\nreductions = ['none']", "list 'k' is missing"),
    ("[[hubness]]\nembeddings = ['a']\nk = []\nreductions = ['none']", "'k' is an empty list"),
    ("[[hubness]]\nembeddings = ['a']\nk = ['ten']\nreductions = ['none']", "'k' must hold a whole number"),
    ("[[tcav]]\nmodels=['m']\nconcepts=['c']\nclasses=['x']\nlayers=['l']\noptions={n_random=1}",
     r"table \[\[tcav\]\] number 1, options: The 'n_random' parameter must be an int in \[2, 500\]"),
    ("[[tcav]]\nmodels=['m']\nconcepts=['c']\nclasses=['x']\nlayers=['l']\noptions={colour=1}", "Unknown option"),
    ("[[call]]\nseeds = [0]", "'function' is missing"),
    ("[[tcav]]\nmodels=['m']\nconcepts=['c']\nclasses=['x']\nlayers=['l']\nrecord='yes'", "'record' must be true/false"),
    ("[[robustness]]\nn_clips = 'many'", "'n_clips' must be a whole number"),
])
def test_a_bad_study_file_is_one_plain_sentence(text, message):
    with pytest.raises(InputError, match=message):
        spec.loads(text, name="bad.toml")


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(InputError, match="no study file at"):
        spec.load(tmp_path / "nothing.toml")


def test_the_shipped_example_studies_are_valid():
    from pathlib import Path

    root = Path(__file__).resolve().parents[3] / "studies"
    files = sorted(root.glob("*.toml"))
    assert {"tcav_piano.toml", "tcav_composer.toml", "robustness_3_seeds.toml"} <= {f.name for f in files}
    for f in files:
        s = spec.load(f)
        assert s.cells and s.output.is_relative_to(root)
    # sized for a loaded 2-core machine: the paper's 3 concepts x 6 composers x 3 layers x 3 seeds + 7 others at block4
    assert len(spec.load(root / "tcav_piano.toml").cells) == 3 * 6 * 3 * 3 + 7 * 6
    assert [c.params["seed"] for c in spec.load(root / "robustness_3_seeds.toml").cells] == [0, 1, 2]
