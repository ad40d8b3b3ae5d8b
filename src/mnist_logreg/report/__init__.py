"""The self-contained HTML report of a run: one file, figures embedded, nothing from the network."""

from .writer import render_report, write_report

__all__ = ["render_report", "write_report"]
