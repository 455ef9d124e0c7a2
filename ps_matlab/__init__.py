"""ps_matlab: how far original textureSynth metamers are, by plenoptic's PS loss."""
