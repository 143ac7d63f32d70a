"""`python -m pipeline.plots [REV ...]`: `dvc plots diff` rendered into one HTML page that works offline.

`dvc plots show/diff` write HTML that loads Vega from a CDN. Here the same Vega-Lite specs (with their
data, from `dvc plots diff --json`) are drawn to inline SVG by vl-convert, and image plots are embedded
as data URIs, so the page opens from disk with no network.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import subprocess
import sys
import tempfile
from pathlib import Path

import vl_convert

from ingest.atomic import atomic_file
from pipeline import setup_logging
from pipeline.config import load_params

log = logging.getLogger("pipeline.plots")


def collect_plots(revisions: list[str], image_dir: Path) -> dict[str, list[dict]]:
    """The plots of each revision as DVC resolves them (workspace vs HEAD when none are given).

    DVC copies image plots into ``image_dir``; its JSON is ``{"data": {plot id: [entry, ...]}}``.
    """
    result = subprocess.run(
        ["dvc", "plots", "diff", "--json", "-o", str(image_dir), *revisions],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"dvc plots diff failed:\n{result.stderr.strip()}")
    return json.loads(result.stdout).get("data", {})


def render_page(plots: dict[str, list[dict]], title: str) -> str:
    sections = []
    for plot_id, entries in plots.items():
        for entry in entries:
            revisions = ", ".join(entry.get("revisions", []))
            heading = f"<h2>{html.escape(plot_id)} <small>{html.escape(revisions)}</small></h2>"
            sections.append(heading + _render_entry(entry))
    body = "\n".join(sections) or "<p>No plots found.</p>"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}h2 small{color:#666;font-weight:normal}"
        "img{max-width:720px}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>\n"
    )


def _render_entry(entry: dict) -> str:
    if entry.get("type") == "image":
        data = base64.b64encode(Path(entry["url"]).read_bytes()).decode()
        return f"<img alt='' src='data:image/png;base64,{data}'>"
    return vl_convert.vegalite_to_svg(entry["content"])


def main() -> None:
    setup_logging()
    revisions = sys.argv[1:]
    out = load_params().paths.reports / "plots.html"
    title = "Churn model plots: " + (" vs ".join(revisions) or "HEAD vs workspace")
    with tempfile.TemporaryDirectory() as images:
        page = render_page(collect_plots(revisions, Path(images)), title)
    with atomic_file(out) as tmp:
        tmp.write_text(page, encoding="utf-8")
    log.info("wrote %s (opens offline)", out)


if __name__ == "__main__":
    main()
