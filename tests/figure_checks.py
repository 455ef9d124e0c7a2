"""Assertions on drawn summary figures (for every experiment's tests).

Each ``check_*`` function draws the figure once (Agg) and raises
``AssertionError`` naming what a reader would see wrong: panels out of numeric
order, two images in one panel, a figure too wide, a legend over data, text
on text, a log axis with a single tick label. ``check_figure`` runs them all.
"""

from __future__ import annotations

import itertools
import re

from matplotlib.figure import Figure

from plenexp.summary import facet_grid

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def _renderer(fig: Figure):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def data_axes(fig: Figure) -> list:
    """Axes that are drawn (not switched off, not colour bars), reading order."""
    axes = [ax for ax in fig.axes if ax.axison]
    return sorted(axes, key=lambda ax: (-round(ax.get_position().y1, 3),
                                        round(ax.get_position().x0, 3)))


def panel_titles(fig: Figure) -> list[str]:
    """Titles of the drawn axes in reading order (rows top down, left to right)."""
    return [ax.get_title() for ax in data_axes(fig)]


def check_numeric_panel_order(fig: Figure, variable: str) -> None:
    """Panels of each image show ``variable=<number>`` in increasing order.

    The image is the part of the title before :data:`facet_grid.TITLE_SEP`.
    """
    by_image: dict[str, list[float]] = {}
    pattern = re.compile(rf"(?:^|[\s,|]){re.escape(variable)}=({_NUMBER})")
    for title in panel_titles(fig):
        match = pattern.search(title)
        if match:
            image = title.split(facet_grid.TITLE_SEP)[0]
            values = by_image.setdefault(image, [])
            if not values or values[-1] != float(match.group(1)):
                values.append(float(match.group(1)))
    assert by_image, f"no panel title names {variable}= (titles: {panel_titles(fig)})"
    for image, values in by_image.items():
        assert values == sorted(values), (
            f"{variable} panels of {image} in the order {values}, not numeric")


def legend_sections(fig: Figure) -> dict[str, list[str]]:
    """Legend entries under each bold header of every legend."""
    sections: dict[str, list[str]] = {}
    current = ""
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes)]
    for legend in legends:
        if legend is None:
            continue
        for text in legend.get_texts():
            if text.get_fontweight() in ("bold", 700):
                current = text.get_text()
                sections[current] = []
            else:
                sections.setdefault(current, []).append(text.get_text())
    return sections


def check_numeric_legend_order(fig: Figure, header: str) -> None:
    """The legend's entries under ``header`` that are numbers increase."""
    sections = legend_sections(fig)
    assert header in sections, f"no legend section {header!r} in {list(sections)}"
    numbers = [float(v) for v in sections[header] if re.fullmatch(_NUMBER, v)]
    assert numbers == sorted(numbers), (
        f"legend {header!r} in the order {sections[header]}, not numeric")


def images_per_panel(fig: Figure) -> list[set[str]]:
    """For each drawn axes, the images (artist gids ``image:NAME``) it holds."""
    out = []
    for ax in data_axes(fig):
        gids = {artist.get_gid() for artist in ax.get_children()}
        out.append({g.split(":", 1)[1] for g in gids
                    if isinstance(g, str) and g.startswith("image:")})
    return out


def check_one_image_per_panel(fig: Figure) -> None:
    """No axes draws data of two images."""
    for title, images in zip(panel_titles(fig), images_per_panel(fig), strict=True):
        assert len(images) <= 1, f"panel {title!r} holds images {sorted(images)}"


def check_aspect(fig: Figure, max_ratio: float = 3.0) -> None:
    """The saved figure (tight box) is at most ``max_ratio`` x wider than high."""
    box = fig.get_tightbbox(_renderer(fig))
    ratio = box.width / box.height
    assert ratio <= max_ratio, f"figure {box.width:.1f} x {box.height:.1f} in " \
        f"is {ratio:.2f} x as wide as high (limit {max_ratio})"


def check_legends_outside(fig: Figure) -> None:
    """No legend box overlaps any drawn axes."""
    renderer = _renderer(fig)
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes)]
    for legend in legends:
        if legend is None:
            continue
        box = legend.get_window_extent(renderer)
        for ax in data_axes(fig):
            assert not box.overlaps(ax.get_window_extent(renderer)), (
                f"legend overlaps the axes {ax.get_title()!r}")


def _texts(fig: Figure) -> list:
    texts = list(fig.texts)
    if fig._suptitle is not None:
        texts.append(fig._suptitle)
    for legend in [*fig.legends, *(ax.get_legend() for ax in fig.axes)]:
        if legend is not None:
            texts += [*legend.get_texts(), legend.get_title()]
    for ax in data_axes(fig):
        texts += [ax.title, ax._left_title, ax._right_title, *ax.texts]
        texts += [text for axis in (ax.xaxis, ax.yaxis) if axis.get_visible()
                  for text in (axis.label, axis.get_offset_text())]
        for axis in (ax.xaxis, ax.yaxis):
            if not axis.get_visible():
                continue
            low, high = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks():
                if low <= tick.get_loc() <= high:
                    texts.append(tick.label1)
    unique = {id(t): t for t in texts}
    return [t for t in unique.values() if t.get_visible() and t.get_text().strip()]


def check_no_text_overlap(fig: Figure, tolerance: float = 1.0) -> None:
    """No two visible texts (titles, labels, tick labels, legend) overlap.

    ``tolerance`` pixels of touching are allowed.
    """
    renderer = _renderer(fig)
    boxes = [(t, t.get_window_extent(renderer)) for t in _texts(fig)]
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        width = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
        height = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
        assert width <= tolerance or height <= tolerance, (
            f"text {a.get_text()!r} overlaps {b.get_text()!r}")


def _labels_shown(axis) -> bool:
    return any(t.get_visible() for t in axis.get_ticklabels())


def check_tick_labels(fig: Figure, minimum: int = 2) -> None:
    """Every axis that shows tick labels shows at least ``minimum`` of them.

    An axes may hide its y axis only when an axes to its left in the same
    row shows one, and its x axis only when another in its column shows one
    (shared axes).
    """
    _renderer(fig)
    rows: dict[float, list] = {}
    for ax in data_axes(fig):
        rows.setdefault(round(ax.get_position().y0, 3), []).append(ax)
        for axis in (ax.xaxis, ax.yaxis):
            if not axis.get_visible() or not _labels_shown(axis):
                continue
            labels = visible = visible_tick_labels(axis)
            assert len(visible) >= minimum, (
                f"{axis.axis_name} axis of {ax.get_title()!r} "
                f"({axis.get_scale()}) has tick labels {labels}")
    columns: dict[float, list] = {}
    for ax in data_axes(fig):
        columns.setdefault(round(ax.get_position().x0, 3), []).append(ax)
    for row in rows.values():
        first = min(row, key=lambda ax: ax.get_position().x0)
        assert first.yaxis.get_visible() and _labels_shown(first.yaxis), (
            f"the row of {first.get_title()!r} labels no y axis")
    for column in columns.values():
        assert any(ax.xaxis.get_visible() and _labels_shown(ax.xaxis)
                   for ax in column), (
            f"the column of {column[0].get_title()!r} labels no x axis")


def check_figure(fig: Figure, numeric: tuple[str, ...] = (),
                 legend_numeric: tuple[str, ...] = ()) -> None:
    """Every check: ``numeric`` panel variables, ``legend_numeric`` sections."""
    check_one_image_per_panel(fig)
    check_aspect(fig)
    check_legends_outside(fig)
    check_no_text_overlap(fig)
    check_tick_labels(fig)
    for variable in numeric:
        check_numeric_panel_order(fig, variable)
    for header in legend_numeric:
        check_numeric_legend_order(fig, header)


def visible_tick_labels(axis) -> list[str]:
    """The non-empty major tick labels inside an axis's view limits."""
    low, high = sorted(axis.get_view_interval())
    span = high - low
    locs = [v for v in axis.get_majorticklocs()
            if low - 1e-9 * abs(span) <= v <= high + 1e-9 * abs(span)]
    formatter = axis.get_major_formatter()
    formatter.set_locs(locs)
    return [text for text in (formatter(v) for v in locs) if text.strip()]
