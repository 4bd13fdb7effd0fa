"""One set of upload limits: the app's upload cap, the loaders (app and CLI alike) and the README agree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from xai.audio import clip
from xai.symbolic import io as xio
from xai.symbolic import prescan

ROOT = Path(__file__).resolve().parents[1]


def _readme_limits() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("## Limits on uploads")
    return text[start:text.index("\n## ", start + 1)]


def test_the_app_accepts_every_file_the_loaders_accept():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    cap_bytes = config["server"]["maxUploadSize"] * 2**20  # Streamlit counts megabytes of 2**20 bytes
    assert cap_bytes >= clip.DEFAULT_AUDIO_LIMITS.max_bytes
    assert cap_bytes >= xio.DEFAULT_LIMITS.max_bytes


def _number(n: float) -> str:
    return f"{n:,.0f}" if float(n).is_integer() else f"{n:g}"


def test_the_readme_states_the_limits_the_code_applies():
    text = _readme_limits()
    lim, audio = xio.DEFAULT_LIMITS, clip.DEFAULT_AUDIO_LIMITS
    stated = {
        "score size": f"**{lim.max_bytes // 1_000_000} MB**",
        "notes": f"**{_number(lim.max_notes)} notes**",
        "minutes": f"**{_number(lim.max_minutes)} minutes**",
        "tracks": f"**{lim.max_tracks} MIDI tracks**",
        "cpu": f"**{_number(lim.cpu_seconds)} s** of processor time",
        "memory": f"**{_number(lim.memory_mb)} MB**",
        "metre": f"**{prescan.MAX_NUMERATOR} beats**",
        "beat": f"**1/{prescan.MAX_DENOMINATOR}**",
        "tempo": f"**{_number(prescan.MAX_QPM)}** beats a minute",
        "midi events": f"**{_number(prescan.MAX_MIDI_EVENTS)}** MIDI events",
        "musicxml": f"**{_number(prescan.MAX_WRITTEN)}** written notes and rests in MusicXML",
        "humdrum": f"**{_number(prescan.MAX_KERN_TOKENS)}** in Humdrum",
        "abc": f"**{_number(prescan.MAX_ABC_NOTES)}** in an ABC tune",
        "audio size": f"**{audio.max_bytes // 1_000_000} MB** per file",
        "audio minutes": f"**{_number(audio.max_seconds / 60)} minutes**",
        "app cap": "**100 MB**",
    }
    missing = {what: s for what, s in stated.items() if s not in text}
    assert not missing, missing


def test_the_readme_names_no_module_that_is_gone():
    for module in re.findall(r"`(xai/[a-z_/]+\.py)`", _readme_limits()):
        assert (ROOT / module).is_file(), module
