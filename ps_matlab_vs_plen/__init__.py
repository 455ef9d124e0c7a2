"""ps_matlab_vs_plen: which reaches a lower PS loss in a given time, MATLAB textureSynth or plenoptic (Adam, LBFGS)?"""
