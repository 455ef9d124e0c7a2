"""Flame graphs from py-spy's speedscope files, with no other tool installed.

``profile_process.sh`` records a run with ``py-spy record --format speedscope``
(open that file at https://www.speedscope.app) and calls this module to draw
the same samples as a static flame graph SVG (hover a box for its function,
file and seconds) and to print the functions that took the most time.

Usage: ``python -m plenexp.runs.profiling PROFILE.speedscope.json --svg OUT.svg``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from plenexp import cli, errors
from plenexp.runs import rundir

#: Width of the drawing, pixels; boxes narrower than MIN_WIDTH are left out.
WIDTH, ROW, MIN_WIDTH, FONT = 1200, 17, 0.5, 11


@dataclass
class Node:
    """One function in one calling context, and the seconds spent there."""

    name: str
    total: float = 0.0
    children: dict[str, Node] = field(default_factory=dict)


def frame_label(frame: dict) -> str:
    """``function (file.py)``, or the bare name for frames without a file."""
    file = frame.get("file") or ""
    if file:
        return f"{frame['name']} ({os.path.basename(file)})"
    name = " ".join(frame["name"].split())
    return name if len(name) <= 100 else name[:97] + "..."


def load_tree(path: str | os.PathLike) -> Node:
    """Merge every sampled profile (all processes and threads) into one tree.

    Frames of the same function at different lines are merged, so each box is
    a function in its calling context.
    """
    data = json.loads(Path(path).read_text())
    labels = [frame_label(f) for f in data["shared"]["frames"]]
    root = Node("all")
    for profile in data["profiles"]:
        if profile.get("type") != "sampled":
            continue
        for stack, weight in zip(profile["samples"], profile["weights"],
                                 strict=True):
            node = root
            node.total += weight
            for index in stack:  # root first
                label = labels[index]
                node = node.children.setdefault(label, Node(label))
                node.total += weight
    return root


def self_times(root: Node) -> dict[str, float]:
    """Seconds spent in each function itself (not in what it called)."""
    totals: dict[str, float] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        own = node.total - sum(c.total for c in node.children.values())
        if node is not root and own > 0:
            totals[node.name] = totals.get(node.name, 0.0) + own
        stack.extend(node.children.values())
    return totals


def _colour(name: str) -> str:
    digest = hashlib.md5(name.encode(), usedforsecurity=False).digest()
    return f"rgb({205 + digest[0] % 50},{80 + digest[1] % 130},{digest[2] % 60})"


def flame_svg(root: Node, title: str) -> str:
    """The tree drawn as a flame graph, root on top (callers above callees)."""
    if root.total <= 0:
        raise ValueError("the profile holds no samples")
    scale = WIDTH / root.total
    boxes: list[tuple[float, int, float, Node]] = []
    depth_max = 0
    queue = [(root, 0.0, 0)]
    while queue:
        node, x, depth = queue.pop()
        width = node.total * scale
        if width < MIN_WIDTH:
            continue
        boxes.append((x, depth, width, node))
        depth_max = max(depth_max, depth)
        child_x = x
        for child in sorted(node.children.values(), key=lambda c: c.name):
            queue.append((child, child_x, depth + 1))
            child_x += child.total * scale
    top = 40
    height = top + (depth_max + 1) * ROW + 10
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH + 20}" '
        f'height="{height}" font-family="monospace" font-size="{FONT}">',
        '<rect width="100%" height="100%" fill="#fdfdf5"/>',
        f'<text x="10" y="20" font-size="14">{escape(title)}</text>',
        f'<text x="10" y="34" fill="#555">{root.total:.2f} s sampled; hover a box '
        "for its function and seconds; open the .speedscope.json at "
        "speedscope.app to explore</text>",
    ]
    for x, depth, width, node in boxes:
        y = top + depth * ROW
        share = 100 * node.total / root.total
        tip = f"{node.name}: {node.total:.2f} s ({share:.1f}%)"
        text = ""
        n_chars = int((width - 4) / (FONT * 0.6))
        if n_chars >= 3:
            label = node.name if len(node.name) <= n_chars \
                else node.name[: n_chars - 2] + ".."
            text = (f'<text x="{x + 12:.1f}" y="{y + ROW - 5}">'
                    f"{escape(label)}</text>")
        out.append(
            f'<g><title>{escape(tip)}</title><rect x="{x + 10:.1f}" y="{y}" '
            f'width="{width:.1f}" height="{ROW - 1}" fill="{_colour(node.name)}" '
            f'rx="2"/>{text}</g>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main() -> None:
    """Command-line entry point."""
    parser = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("speedscope", type=Path, help="py-spy speedscope file")
    parser.add_argument("--svg", type=Path, required=True,
                        help="flame graph to write")
    parser.add_argument("--title", default=None)
    parser.add_argument("--top", type=int, default=8,
                        help="print this many functions by own time (default: 8)")
    args = parser.parse_args()
    try:
        root = load_tree(args.speedscope)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise errors.UsageError(f"cannot read {args.speedscope}: {err}") from None
    if root.total <= 0:
        raise errors.UsageError(f"{args.speedscope} holds no samples")
    svg = flame_svg(root, args.title or args.speedscope.name)
    with rundir.atomic_path(args.svg) as tmp:
        tmp.write_text(svg)
    print(f"flame graph: {args.svg}")
    if args.top > 0:
        print(f"most time spent in (of {root.total:.1f} s sampled):")
        ranked = sorted(self_times(root).items(), key=lambda kv: -kv[1])
        for name, seconds in ranked[: args.top]:
            print(f"  {seconds:7.2f} s {100 * seconds / root.total:5.1f}%  {name}")


if __name__ == "__main__":
    cli.run(main)
