"""The self-contained HTML reports and their figures: renderings of finished results, no simulation."""

from iadsim.report.run import RunReport, render_run_report

__all__ = ["RunReport", "render_run_report"]
