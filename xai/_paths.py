"""Where the shipped assets are: one place, so moving a module never moves its data."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
