"""Reading a Graphviz SVG back: each node's text and centre, each box's title and extent."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

SVG = "{http://www.w3.org/2000/svg}"


@dataclass
class Drawn:
    """What an SVG shows: ``nodes`` (id -> its lines of text and its centre) and ``boxes``
    (cluster title -> its label and extent)."""

    nodes: dict[str, tuple[list[str], tuple[float, float]]]
    boxes: dict[str, tuple[str, tuple[float, float, float, float]]]
    edges: set[str]

    def texts(self) -> str:
        return " ".join(" ".join(lines) for lines, _ in self.nodes.values())

    def box_of(self, node: str) -> list[str]:
        """The labels of the boxes whose extent holds the centre of ``node``."""
        _, (x, y) = self.nodes[node]
        return [
            label
            for label, (x0, y0, x1, y1) in self.boxes.values()
            if x0 <= x <= x1 and y0 <= y <= y1
        ]


def _numbers(text: str) -> list[float]:
    return [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", text)]


def read(svg: str) -> Drawn:
    root = ET.fromstring(svg)
    nodes: dict[str, tuple[list[str], tuple[float, float]]] = {}
    boxes: dict[str, tuple[str, tuple[float, float, float, float]]] = {}
    edges: set[str] = set()
    for group in root.iter(f"{SVG}g"):
        title = group.find(f"{SVG}title")
        if title is None or title.text is None:
            continue
        kind = group.get("class")
        texts = list(group.iter(f"{SVG}text"))
        if kind == "node":
            lines = [(t.text or "").replace("\xa0", " ") for t in texts]
            xs = [float(t.get("x", 0)) for t in texts] or [0.0]
            ys = [float(t.get("y", 0)) for t in texts] or [0.0]
            nodes[title.text] = (lines, (sum(xs) / len(xs), sum(ys) / len(ys)))
        elif kind == "cluster":
            shape = group.find(f"{SVG}path")
            if shape is None:
                shape = group.find(f"{SVG}polygon")
            if shape is None:  # an invisible box (a column of a tall drawing)
                continue
            points = _numbers(shape.get("d") or shape.get("points") or "")
            xs, ys = points[0::2], points[1::2]
            label = " ".join((t.text or "").replace("\xa0", " ") for t in texts)
            boxes[title.text] = (label, (min(xs), min(ys), max(xs), max(ys)))
        elif kind == "edge":
            edges.add(title.text.replace("&#45;", "-"))
    return Drawn(nodes, boxes, edges)
