"""Inference settings every estimator honours: clustering, the small-sample convention, resampling.

``cluster=`` names what errors are clustered on: the region (``None``, the default) or anything
coarser (each region in one cluster): a panel column of numbers or a mapping region -> label
(``{"Akmola": "North", ...}``: macro-region names need no numeric codes). Clustering applies to
clustered covariances only; an estimator whose ``cov`` ignores it refuses ``cluster=`` instead
of dropping it silently. ``ssc=`` chooses the small-sample correction of the cluster-robust
covariance ``V = c (X'X)^-1 (sum_g s_g s_g') (X'X)^-1``:

=================  ===============================================================  ===========
``ssc``            factor ``c``                                                     inference
=================  ===============================================================  ===========
``"fixest"``       ``G/(G-1) (N-1)/(N-K)``, K = slopes + fixed effects *not*          t(G - 1)
                   nested in the clusters (R fixest's default, Stata ``reghdfe``,
                   ``xtreg, fe vce(cluster)``; pooled OLS: Stata ``regress, vce(cluster)``)
``"linearmodels"`` ``N/(N-K)``, K = slopes + every fixed effect (linearmodels         normal
                   ``PanelOLS`` clustered covariance)
``"none"``         1 (the plain sandwich)                                             normal
=================  ===============================================================  ===========

Resampling (bootstraps, placebo replications) is set by ``draws`` (how many), ``random_seed``
(same seed, same numbers) and ``progress``; :func:`renamed` keeps an old argument name working
for one release with a :class:`DeprecationWarning`.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from ..errors import SpecificationError, show_rows

__all__ = ["SSC", "SSC_CHOICES", "check_ssc", "cluster_column", "ssc_scale", "Clustering", "check_clustering",
           "renamed", "CLUSTER_COLUMN", "require_clusters"]

#: The estimation rows' column holding each row's cluster label when clusters are coarser than regions.
CLUSTER_COLUMN = "cluster"


SSC = Literal["fixest", "linearmodels", "none"]
SSC_CHOICES = ("fixest", "linearmodels", "none")


def check_ssc(ssc: str) -> None:
    if ssc not in SSC_CHOICES:
        raise SpecificationError(f"ssc={ssc!r}; use one of {list(SSC_CHOICES)} (see kzcausal.design.inference).")


def cluster_column(frame: pd.DataFrame, cluster: str | Mapping | pd.Series | None,
                   available: list[str] | None = None, regions: Sequence[str] | None = None) -> pd.Series:
    """Cluster label of each row: the region, a column constant within each region, or a mapping
    region -> label (numbers or text; its keys may be any of ``regions``, default the rows' own).

    Raises naming the regions where the column varies (clusters must be coarser than regions),
    the rows where it is missing, or the regions a mapping leaves out.
    """
    if cluster is None or (isinstance(cluster, str) and cluster == "region"):
        return frame["region"].rename("cluster")
    if isinstance(cluster, (Mapping, pd.Series)):
        from .assignment import keyed_by_region

        present = pd.unique(frame["region"])
        labels = pd.Series(keyed_by_region(cluster.items(), present if regions is None else regions, "cluster"),
                           dtype=object)
        empty = [r for r, v in labels.items() if isinstance(v, str) and not v.strip()]
        if empty:
            raise SpecificationError(f"cluster: region(s) {empty[:5]} have an empty label ''. Fix: give every region "
                                     "its cluster's name.")
        unmapped = [r for r in present if r not in labels.index or pd.isna(labels.get(r))]
        if unmapped:
            raise SpecificationError(f"cluster: the mapping gives no cluster to region(s) {unmapped[:5]}"
                                     f"{' ...' if len(unmapped) > 5 else ''}. Fix: map every region of the panel "
                                     "to its cluster label.")
        return _as_text(frame["region"].map(labels), "cluster (the mapping's labels)")
    if cluster not in frame.columns:
        listing = available if available is not None else [c for c in frame.columns if c not in ("region", "year")]
        raise SpecificationError(f"cluster={cluster!r} is not a column of the panel; its columns: {listing}. "
                                 "Fix: add the cluster (e.g. macro-region) column to the panel, pass a mapping "
                                 "region -> cluster label, or leave cluster=None to cluster by region.")
    values = frame[cluster]
    missing = values.isna()
    if missing.any():
        raise SpecificationError(f"cluster column {cluster!r} is missing in {int(missing.sum())} row(s):\n"
                                 f"{show_rows(frame.loc[missing, ['region', 'year', cluster]])}\n"
                                 "Fix: give every region its cluster.")
    varying = values.groupby(frame["region"]).nunique() > 1
    if varying.any():
        bad = varying.index[varying].tolist()
        rows = frame.loc[frame["region"].isin(bad[:5]), ["region", "year", cluster]]
        raise SpecificationError(f"cluster column {cluster!r} changes within region(s) {bad[:5]}; clusters must "
                                 f"be coarser than regions (each region in one cluster):\n{show_rows(rows)}\n"
                                 "Fix: give each region one cluster label.")
    return _as_text(values, f"cluster column {cluster!r}")


def _as_text(labels: pd.Series, what: str) -> pd.Series:
    """Cluster labels as text, refusing distinct labels that read the same (1 and "1" would merge two clusters)."""
    text = labels.astype(str)
    distinct = pd.unique(labels.to_numpy(dtype=object))
    if len(distinct) != text.nunique():
        seen: dict[str, list] = {}
        for value in distinct:
            seen.setdefault(str(value), []).append(value)
        clash = [v for v in seen.values() if len(v) > 1]
        raise SpecificationError(f"{what}: labels {clash[:3]} are different values that read the same, so their "
                                 "regions would be merged into one cluster. Fix: use one type for the labels (all "
                                 "text or all numbers).")
    return text.rename("cluster")


def ssc_scale(ssc: str, *, n_obs: int, n_clusters: int, k: int, fixed_effects: tuple[int, ...] = (),
              nested: tuple[bool, ...] = ()) -> tuple[float, float | None]:
    """Small-sample factor for a clustered covariance and the t degrees of freedom (None: normal).

    ``k`` counts the slopes (and the intercept when there are no fixed effects);
    ``fixed_effects`` the levels of each absorbed effect, ``nested`` whether each is nested in
    the clusters (region effects always are: clusters are regions or coarser).
    """
    check_ssc(ssc)
    n_fe = len(fixed_effects)
    all_fe = sum(fixed_effects) - max(n_fe - 1, 0)
    if ssc == "none":
        return 1.0, None
    if ssc == "linearmodels":
        return n_obs / (n_obs - k - all_fe), None
    nested_levels = sum(f for f, inside in zip(fixed_effects, nested) if inside)
    n_nested = sum(nested)
    df_k = k + all_fe - (nested_levels - n_nested if n_nested else 0)
    require_clusters(n_clusters)
    return n_clusters / (n_clusters - 1) * (n_obs - 1) / (n_obs - df_k), float(n_clusters - 1)


def require_clusters(n_clusters: int) -> None:
    """Cluster-robust errors from one cluster are not defined (every estimator refuses them the same way)."""
    if n_clusters < 2:
        raise SpecificationError(f"cluster-robust errors need at least 2 clusters; these rows have {n_clusters}. Fix: "
                                 "cluster on something finer (cluster=None clusters by region), or use a covariance "
                                 "that does not cluster.")


@dataclass(frozen=True)
class Clustering:
    """What errors are clustered on and the small-sample convention, as a result records them.

    ``name`` is ``"region"`` or the coarser variable (a column name, or ``"cluster"`` for a
    mapping); ``ssc`` the small-sample convention (None where the covariance is not clustered).
    """

    name: str = "region"
    ssc: str | None = "fixest"

    @property
    def coarser(self) -> bool:
        """Clusters coarser than the region (the rows then carry a ``cluster`` column)."""
        return self.name != "region"


def check_clustering(cluster: object, *, cov: str | None = None, clustered: tuple[str, ...] = ("cluster",),
                     estimator: str = "") -> Clustering | None:
    """Validate ``cluster=`` against ``cov=``: a coarser cluster under a covariance that ignores it is refused.

    Returns the :class:`Clustering` to use, or None for a covariance that does not cluster.
    """
    if cluster is not None and not isinstance(cluster, (str, Mapping, pd.Series)):
        raise SpecificationError(f"cluster={cluster!r}. Fix: give a panel column (its name), a mapping region -> "
                                 "cluster label, or None (cluster by region).")
    if isinstance(cluster, str) and not cluster.strip():
        raise SpecificationError("cluster='' is not a column name. Fix: pass a column, or None to cluster by region.")
    if cov is not None and cov not in clustered:
        if cluster is not None and not (isinstance(cluster, str) and cluster == "region"):
            shown = cluster if isinstance(cluster, str) else "<mapping>"
            raise SpecificationError(f"{estimator}: cluster={shown!r} is ignored by cov={cov!r}, which does not "
                                     f"cluster. Fix: pass cov={clustered[0]!r} to cluster by it, or drop cluster=.")
        return None
    if cluster is None or (isinstance(cluster, str) and cluster == "region"):
        return Clustering("region")
    return Clustering(cluster if isinstance(cluster, str) else CLUSTER_COLUMN)


def renamed(**aliases: str):
    """Keep old argument names working for one release: ``@renamed(n_boot="draws")`` maps ``n_boot=`` to
    ``draws=`` with a :class:`DeprecationWarning` (both given: an error)."""
    def decorate(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            for old, new in aliases.items():
                if old in kwargs:
                    if new in kwargs:
                        raise SpecificationError(f"{function.__name__}: {old}= is the old name of {new}=; pass "
                                                 f"only {new}=.")
                    warnings.warn(f"{function.__name__}({old}=...) is deprecated and will be removed in the next "
                                  f"release; pass {new}=.", DeprecationWarning, stacklevel=2)
                    kwargs[new] = kwargs.pop(old)
            return function(*args, **kwargs)
        wrapper.__signature__ = inspect.signature(function)
        return wrapper
    return decorate
