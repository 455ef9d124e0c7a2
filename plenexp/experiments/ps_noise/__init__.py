"""ps_noise: PS metamer synthesis started far outside the target's pixel range.

The initial image is either the target plus strong Gaussian noise
(``normal``: image + amplitude x N(0, 1)) or large uniform noise (``uniform``:
amplitude x U[0, 1]). The loss is the L2 norm of the PS statistics with seven
weights: the six pixel statistics (mean, variance, skew, kurtosis, min, max, in
the order of plenoptic's ``PortillaSimoncelli``) and the variance of the
highpass residuals. LBFGS, range penalty off, stopping criteria off.

Modules (the contract of :mod:`plenexp.experiments`): :mod:`.grids` (no heavy
imports), :mod:`.run` (the one ``build``), :mod:`.results` (``load_run``,
``analyze_run``), :mod:`.figures`, :mod:`.summary`.
"""
