"""Names shared by argument parsing and synthesis (no heavy imports here)."""

#: Loss names accepted by ``--loss``.
LOSSES = ("l2_norm", "mse", "portilla_simoncelli_loss_factory")
