"""The map in docs/ARCHITECTURE.md, enforced: import-linter contracts and no import cycles between modules."""

from pathlib import Path

import grimp
import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("xai", "models", "training", "pages")


def test_import_contracts_hold(monkeypatch):
    # models never imports xai; xai never imports pages, streamlit or training; pages never import torch;
    # the capability layers of xai (pyproject.toml, [tool.importlinter]).
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def test_no_module_imports_itself_back(graph):
    cycles = []
    for importer in sorted(graph.modules):
        if not importer.startswith(PACKAGES):
            continue
        for imported in graph.find_modules_directly_imported_by(importer):
            if imported.startswith(PACKAGES) and imported != importer and not importer.startswith(imported + "."):
                back = graph.find_shortest_chain(importer=imported, imported=importer)
                if back and not imported.startswith(importer + "."):
                    cycles.append(" -> ".join((importer, *back)))
    assert not cycles, "import cycles:\n" + "\n".join(sorted(set(cycles)))


def test_pages_use_the_public_api_only(graph):
    private = [(p, m) for p in graph.modules if p.startswith("pages.")
               for m in graph.find_modules_directly_imported_by(p)
               if m.startswith("xai.") and any(part.startswith("_") for part in m.split(".")[1:])]
    assert not private, private
