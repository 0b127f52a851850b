"""docs/monitoring.md shows every dashboard panel as a committed PNG and has a runbook entry for
every alert. Fast: it reads files only (test_e2e.py runs Prometheus)."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from benchmarks._promql import Panel, alert_expressions, dashboard_panels

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "monitoring.md"
IMAGES = ROOT / "docs" / "img" / "panels"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PANELS = dashboard_panels()
ALERTS = [name for name, _ in alert_expressions()]


def _section(heading: str) -> str:
    """The text under a ``## heading`` of the page, up to the next ``## ``."""
    text = DOC.read_text(encoding="utf-8")
    assert f"\n## {heading}\n" in text, f"docs/monitoring.md has no '## {heading}' section"
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR", f"{path} has no IHDR chunk first"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_dashboard_and_the_rules_are_not_empty() -> None:
    assert len(PANELS) >= 9
    assert len(ALERTS) == 7


@pytest.mark.parametrize("panel", PANELS, ids=lambda p: p.slug)
def test_every_panel_has_a_png_shown_in_the_docs(panel: Panel) -> None:
    path = IMAGES / f"{panel.slug}.png"
    assert path.is_file(), f"{path} is missing: run python -m benchmarks.panels"
    width, height = _png_size(path)
    assert 400 <= width <= 1600, f"{path} is {width} px wide: keep it readable and small"
    assert 200 <= height <= 800, f"{path} is {height} px high: keep it readable and small"
    assert 5_000 < path.stat().st_size < 300_000, f"{path}: {path.stat().st_size} bytes"
    # Relative, so the mkdocs site and GitHub both resolve it.
    assert f"](img/panels/{panel.slug}.png)" in _section("Dashboard panels")


def test_no_stale_panel_pngs() -> None:
    assert {p.stem for p in IMAGES.glob("*.png")} == {panel.slug for panel in PANELS}


def test_every_image_link_is_relative_and_exists() -> None:
    links = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", DOC.read_text(encoding="utf-8"))
    assert links
    for link in links:
        assert not link.startswith(("/", "http:", "https:")), link
        assert (DOC.parent / link).is_file(), link


@pytest.mark.parametrize("alert", ALERTS)
def test_every_alert_has_a_runbook_entry(alert: str) -> None:
    runbook = _section("Alerts: what to do when each fires")
    assert f"\n### {alert}\n" in f"\n{runbook}", f"no '### {alert}' heading in the runbook"
    entry = runbook.split(f"### {alert}\n", 1)[1].split("\n### ", 1)[0]
    for part in ("**What it means.**", "**First checks.**", "**Knobs.**"):
        assert part in entry, f"the {alert} runbook entry has no {part}"
