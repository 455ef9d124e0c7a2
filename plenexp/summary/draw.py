"""Drawing one metamer's figures (shared by plot and analyze scripts).

One sign convention everywhere: the representation error is
``PS(target) - PS(metamer)``, and the axis label says so.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
import plenoptic as po  # noqa: E402
import torch  # noqa: E402

#: The representation error every figure draws, as its axis label says.
ERROR_LABEL = "PS(target) − PS(metamer)"


def _show(ax, image: torch.Tensor, title: str) -> None:
    ax.imshow(image.detach().cpu().double().numpy()[0, 0], cmap="gray",
              vmin=0, vmax=1, interpolation="none")
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()


def images_row(images: list[torch.Tensor], titles: list[str], suptitle: str = ""):
    """Grayscale images side by side, each with its own title."""
    fig, axes = plt.subplots(1, len(images), figsize=(3.2 * len(images), 3.6),
                             squeeze=False, layout="constrained")
    for ax, image, title in zip(axes[0], images, titles, strict=True):
        _show(ax, image, title)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return fig


def synthesis_status(met: po.Metamer):
    """Target, metamer, loss curve, and the representation error below them.

    Like plenoptic's ``synthesis_status``, but with the error drawn as
    ``PS(target) - PS(metamer)`` (plenoptic draws the opposite sign) and with
    room for a ``fig.suptitle`` that overlaps no panel title (constrained
    layout).
    """
    fig = plt.figure(figsize=(16, 9), layout="constrained")
    grid = fig.add_gridspec(2, 3, height_ratios=[1, 1.25])
    _show(fig.add_subplot(grid[0, 0]), met.image, "target")
    _show(fig.add_subplot(grid[0, 1]), met.metamer.clip(0, 1),
          f"metamer after {len(met.losses) - 1} iterations")
    ax = fig.add_subplot(grid[0, 2])
    losses = torch.as_tensor(met.losses).detach().cpu().double().numpy()
    ax.semilogy(range(len(losses)), losses, color="C0")
    ax.set_xlabel("iteration", fontsize=9)
    ax.set_ylabel("loss", fontsize=9)
    ax.set_title(f"loss: {losses[-1]:.4g} at the end", fontsize=9)
    ax.yaxis.set_major_locator(mticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(mticker.NullFormatter())
    ax.grid(True, which="major", linewidth=0.4, alpha=0.5)
    representation_error(met.model, met.image, met.metamer,
                         ax=fig.add_subplot(grid[1, :]))
    return fig


def representation_error(model: torch.nn.Module, target: torch.Tensor,
                         metamer: torch.Tensor, title: str = "", ax=None):
    """``PS(target) - PS(metamer)`` by statistic group (the model's own plot).

    Drawn into ``ax`` (subdivided into one axes per statistic group) or a new
    figure; the first group's axis label names the sign. ``title`` becomes the
    suptitle of a new figure, or is ignored when drawing into ``ax`` (the
    caller titles its own figure).
    """
    with torch.no_grad():
        diff = model(target) - model(metamer)
    if ax is None:
        fig = plt.figure(figsize=(14, 5.5), layout="constrained")
        ax = fig.add_subplot(111)
        fig.suptitle(title or f"representation error: {ERROR_LABEL}", fontsize=11)
    else:
        fig = ax.figure
    _, axes = model.plot_representation(diff, ax=ax, ylim=False)
    for sub in axes:
        sub.title.set_fontsize(8)
        sub.tick_params(labelsize=7)
    axes[0].set_ylabel(ERROR_LABEL, fontsize=8)
    return fig
