"""ps_matlab: metamers of the original MATLAB textureSynth, seen through plenoptic.

Modules (the contract of :mod:`plenexp.experiments`): :mod:`.grids` (grids and
run names, no heavy imports), :mod:`.run` (the one ``build`` of plenoptic's
model and loss that scores a MATLAB metamer, and its ``loss.csv`` row),
:mod:`.results` (finding metamers, ``load_run``, ``analyze_run``),
:mod:`.figures`, :mod:`.summary`. The MATLAB/Octave runner itself is
:mod:`plenexp.synth.matlab`.
"""

# ps_matlab_vs_plen's MATLAB task writer reads ``ps_matlab.code_arguments``.
from plenexp.experiments.ps_matlab.grids import EXPERIMENT, GRIDS, code_arguments  # noqa: E402, F401
