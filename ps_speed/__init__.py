"""Did a plenoptic change make PS synthesis faster or slower, or change results."""
