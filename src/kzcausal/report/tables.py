"""Regression tables: several models side by side, as text, Markdown, LaTeX or HTML.

Like R's ``fixest::etable`` or ``modelsummary``: one column per model, the estimate with its
standard error in parentheses underneath, optional significance stars, and footer rows for the
number of observations, clusters, fixed effects and the covariance estimator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import text as _text
from ..errors import SpecificationError, check_count

__all__ = ["regression_table", "RegressionTable"]

STARS = ((0.01, "***"), (0.05, "**"), (0.1, "*"))


def esc(text) -> str:
    """Escape LaTeX's special characters (:func:`kzcausal.text.latex`)."""
    return _text.latex(text)


@dataclass(frozen=True)
class RegressionTable:
    """Cells of a side-by-side table; render with ``to_text``, ``to_markdown``, ``to_latex``, ``to_html``."""

    models: list[str]
    terms: list[str]
    estimates: pd.DataFrame          # terms x models, formatted
    errors: pd.DataFrame             # terms x models, formatted "(se)" or ""
    footer: pd.DataFrame             # footer rows x models
    notes: list[str]

    def _rows(self) -> list[list[str]]:
        rows = []
        for term in self.terms:
            rows.append([term, *self.estimates.loc[term]])
            rows.append(["", *self.errors.loc[term]])
        return rows

    def _footer_rows(self) -> list[list[str]]:
        return [[name, *values] for name, values in zip(self.footer.index, self.footer.to_numpy().tolist())]

    def to_text(self) -> str:
        header = ["", *map(_text.clean, self.models)]
        body = [[_text.clean(c) for c in row] for row in self._rows()]
        foot = [[_text.clean(c) for c in row] for row in self._footer_rows()]
        widths = [max(len(str(r[i])) for r in [header, *body, *foot]) for i in range(len(header))]

        def line(row):
            return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths)))

        rule = "-" * len(line(header))
        return "\n".join([rule, line(header), rule, *map(line, body), rule, *map(line, foot), rule, *self.notes])

    def to_markdown(self) -> str:
        def line(row):
            return "| " + " | ".join(_text.markdown(c) for c in row) + " |"

        out = [line(["", *self.models]), "|" + "---|" + "---:|" * len(self.models)]
        out += [line(r) for r in self._rows()]
        out += ["| " + " | ".join([f"*{_text.markdown(r[0])}*", *map(_text.markdown, r[1:])]) + " |"
                for r in self._footer_rows()]
        return "\n".join(out + ([""] + [f"_{_text.markdown(n, None)}_" for n in self.notes] if self.notes else []))

    def to_latex(self) -> str:
        def stars(text: str) -> str:                      # *** -> $^{***}$
            text = str(text)
            count = len(text) - len(text.rstrip("*"))
            return (esc(text.rstrip("*")) + (f"$^{{{'*' * count}}}$" if count else ""))

        out = [r"\begin{tabular}{l" + "c" * len(self.models) + "}", r"\hline",
               " & ".join(["", *map(esc, self.models)]) + r" \\", r"\hline"]
        for term in self.terms:
            out.append(" & ".join([esc(term), *map(stars, self.estimates.loc[term])]) + r" \\")
            out.append(" & ".join(["", *map(esc, self.errors.loc[term])]) + r" \\")
        out.append(r"\hline")
        out += [" & ".join(map(esc, r)) + r" \\" for r in self._footer_rows()]
        out += [r"\hline", r"\end{tabular}"]
        return "\n".join(out + [f"% {_text.clean(n, None)}" for n in self.notes])

    def to_html(self) -> str:
        e = _text.html
        head = "".join(f"<th>{e(m)}</th>" for m in self.models)
        rows = []
        for term in self.terms:
            rows.append(f"<tr><th scope='row'>{e(term)}</th>"
                        + "".join(f"<td>{e(c)}</td>" for c in self.estimates.loc[term]) + "</tr>")
            rows.append("<tr class='se'><th></th>" + "".join(f"<td>{e(c)}</td>" for c in self.errors.loc[term])
                        + "</tr>")
        foot = "".join(f"<tr class='footer'><th scope='row'>{e(r[0])}</th>" + "".join(f"<td>{e(c)}</td>" for c in r[1:])
                       + "</tr>" for r in self._footer_rows())
        notes = "".join(f"<p class='note'>{_text.html(n, None)}</p>" for n in self.notes)
        return (f"<table class='regression'><thead><tr><th></th>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
                f"<tfoot>{foot}</tfoot></table>{notes}")

    def __str__(self) -> str:
        return self.to_text()


def regression_table(
    results: Sequence[object] | Mapping[str, object],
    *,
    stars: bool = False,
    digits: int = 3,
    terms: Sequence[str] | None = None,
) -> RegressionTable:
    """Side-by-side table of fitted models (any kzcausal result with a coefficient ``table``).

    Parameters
    ----------
    results
        Results in column order, or ``{column name: result}``.
    stars
        Mark estimates with p < 0.1 (*), 0.05 (**), 0.01 (***) where a p-value exists.
    digits
        Decimal places.
    terms
        Terms to show, in order (default: every term, in order of first appearance).
    """
    check_count(digits, "digits", minimum=0, cap=12)
    if isinstance(results, (str, bytes)) or not isinstance(results, (Mapping, Sequence)):
        raise SpecificationError(f"regression_table: results is a {type(results).__name__}. Fix: pass a list of "
                                 "results, or a dict model name -> result.")
    if not isinstance(stars, bool):
        raise SpecificationError(f"stars={stars!r}; it must be True or False. Fix: pass stars=True or stars=False.")
    named = dict(results) if isinstance(results, Mapping) else {f"({i + 1})": r for i, r in enumerate(results)}
    if any(not isinstance(name, str) for name in named):
        raise SpecificationError(f"regression_table: model names {[n for n in named if not isinstance(n, str)][:5]} "
                                 "are not text. Fix: name the models with strings, e.g. {'TWFE': result}.")
    if not named:
        raise SpecificationError("regression_table needs at least one result.")
    for name, result in named.items():
        table = getattr(result, "table", None)
        if not isinstance(table, pd.DataFrame) or not {"estimate", "std_error"} <= set(table.columns):
            raise SpecificationError(f"model {name!r} is a {type(result).__name__}, not an estimator's result (it "
                                     "has no coefficient table with estimate and std_error columns). Fix: pass the "
                                     "results returned by kz.did_2x2, kz.twfe, kz.staggered_did, kz.event_study, ...")
    order: list[str] = []
    for result in named.values():
        order += [str(t) for t in result.table.index if str(t) not in order]
    shown = list(terms) if terms is not None else order
    unknown = [t for t in shown if t not in order]
    if unknown:
        raise SpecificationError(f"terms {unknown} are in none of the models; their terms: {order}.")
    estimates = pd.DataFrame("", index=shown, columns=list(named))
    errors = pd.DataFrame("", index=shown, columns=list(named))
    for name, result in named.items():
        table = result.table.set_axis([str(t) for t in result.table.index])
        for term in shown:
            if term not in table.index:
                continue
            row = table.loc[term]
            mark = ""
            if stars and "p_value" in table.columns and np.isfinite(row["p_value"]):
                mark = next((s for level, s in STARS if row["p_value"] < level), "")
            estimates.loc[term, name] = f"{row['estimate']:.{digits}f}{mark}"
            errors.loc[term, name] = f"({row['std_error']:.{digits}f})" if np.isfinite(row["std_error"]) else ""
    footer = pd.DataFrame({name: _footer(result) for name, result in named.items()}).fillna("")
    notes = ["Standard errors in parentheses."]
    if stars:
        notes.append("* p < 0.1, ** p < 0.05, *** p < 0.01.")
    return RegressionTable(models=list(named), terms=shown, estimates=estimates, errors=errors, footer=footer,
                           notes=notes)


def _footer(result) -> dict[str, str]:
    """Footer rows asked of the result itself: sample, clusters, absorbed effects, errors."""
    out = {}
    if getattr(result, "n_obs", None):
        out["Observations"] = f"{result.n_obs:,}"
    if getattr(result, "n_clusters", None):
        out["Clusters"] = f"{result.n_clusters} ({getattr(result, 'cluster', None) or 'region'})"
    absorbed = getattr(result, "fixed_effects", None)
    if absorbed is not None:
        if set(absorbed) <= {"region", "year"} and getattr(result, "pairs", None) is None:
            out["Region FE"] = "Yes" if "region" in absorbed else "No"
            out["Year FE"] = "Yes" if "year" in absorbed else "No"
        else:  # models of flows between pairs of regions: name the effects (origin x year ...)
            out["Fixed effects"] = " + ".join(a.replace("_", " x ") for a in absorbed) or "none"
    cov, ssc = getattr(result, "covariance", None), getattr(result, "ssc", None)
    if getattr(result, "cluster", None) and ssc:
        out["Errors"] = f"clustered by {result.cluster} (ssc={ssc})"
    elif cov and cov != "cluster":
        out["Errors"] = {"ols": "OLS", "robust": "robust"}.get(cov, str(cov))
    if hasattr(result, "r_squared"):
        out["R²"] = f"{result.r_squared:.3f}"
    return out
