"""For a given time budget, which reaches the lowest PS loss: MATLAB or plenoptic."""
