"""Reports: regression tables (text, Markdown, LaTeX, HTML) and the one-command robustness report."""

from .build import Report, ReportSpec, build_report, default_spec, read_spec
from .tables import RegressionTable, regression_table

__all__ = ["regression_table", "RegressionTable", "build_report", "Report", "ReportSpec", "default_spec", "read_spec"]
