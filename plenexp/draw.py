"""Drawing one metamer's figures (shared by plot and analyze scripts)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import plenoptic as po  # noqa: E402
import torch  # noqa: E402


def images_row(images: list[torch.Tensor], titles: list[str], suptitle: str = ""):
    """Grayscale images side by side, each with its own title."""
    fig, axes = plt.subplots(1, len(images), figsize=(3.2 * len(images), 3.6),
                             squeeze=False)
    for ax, image, title in zip(axes[0], images, titles, strict=True):
        ax.imshow(image.detach().cpu().double().numpy()[0, 0], cmap="gray",
                  vmin=0, vmax=1, interpolation="none")
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


def synthesis_status(met: po.Metamer):
    """Plenoptic's synthesis-status figure (metamer, loss, representation error)."""
    # wider than plenoptic's default, so the statistic-group titles don't collide
    return po.plot.synthesis_status(
        met, metamer_representation_error_kwargs={"ylim": False}, figsize=(24, 7)
    )


def representation_error(model: torch.nn.Module, target: torch.Tensor,
                         metamer: torch.Tensor, title: str = "", ax=None):
    """``PS(target) - PS(metamer)``, drawn by plenoptic's ``plot_representation``."""
    with torch.no_grad():
        diff = model(target) - model(metamer)
    if ax is None:
        fig = plt.figure(figsize=(14, 4))
        ax = fig.add_subplot(111)
    else:
        fig = ax.figure
    axes = po.plot.plot_representation(model, diff, ax=ax, ylim=False,
                                       title=title or "PS(target) - PS(metamer)")
    # one sign convention in every figure, said where the values are read
    axes[0].set_ylabel("PS(target) - PS(metamer)")
    return fig
