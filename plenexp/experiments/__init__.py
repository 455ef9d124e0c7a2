"""Per-experiment definitions: grids, run names, tables and summary figures."""
