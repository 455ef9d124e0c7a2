"""Does LBFGS converge from far outside the target's range, and with which weights."""
