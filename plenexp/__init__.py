"""Shared harness for the plenoptic Portilla-Simoncelli experiments.

Modules are kept import-light on purpose: the task writers and summaries import
nothing heavy, and only the synthesis path pulls in torch and plenoptic.
"""

__version__ = "0.1.0"
