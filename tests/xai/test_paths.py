"""xai._paths: one place says where the shipped assets are, whatever module asks."""

from xai import _paths


def test_assets_is_the_repository_assets_folder():
    assert _paths.ROOT.is_absolute() and (_paths.ROOT / "xai" / "_paths.py").is_file()
    assert _paths.ASSETS == _paths.ROOT / "assets" and _paths.ASSETS.is_dir()


def test_the_shipped_assets_the_package_reads_are_found_there():
    for sub in ("models", "examples", "discovery", "concepts"):
        assert (_paths.ASSETS / sub).is_dir(), sub
    assert (_paths.ASSETS / "models" / "piano_composer.json").is_file()


def test_modules_that_keep_assets_point_inside_it():
    from xai.concepts import excerpts

    assert excerpts.ASSETS == _paths.ASSETS / "discovery"
