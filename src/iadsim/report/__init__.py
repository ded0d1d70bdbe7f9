"""The self-contained HTML report and its figures."""

from iadsim.report.run import RunReport, write_run_report

__all__ = ["RunReport", "write_run_report"]
