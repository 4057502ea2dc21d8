"""The design layer, between the panel and the estimators: who is treated when (:mod:`.assignment`),
the rows an estimator fits and the checks of re-fit rows (:mod:`.rows`), clustering, small-sample
and resampling settings (:mod:`.inference`), and the staggered design's cohorts, controls and
periods (:class:`DIDDesign`). Every estimator comes in through here; nothing else reads a panel
for estimation.
"""

from .assignment import SPELLINGS, Assignment, check_absorbing, check_panel, positional_deprecated, \
    resolve_assignment, resolve_regions
from .did import FEW_CLUSTERS, ControlGroup, DIDDesign, check_control_group, cohort_share_weights, check_anticipation, check_outcome_varies, few_cluster_notes
from .inference import SSC, SSC_CHOICES, Clustering, check_clustering, check_ssc, cluster_column, renamed, \
    require_clusters, ssc_scale
from .rows import check_rows, estimation_rows, reassign
from .settings import FitSettings

__all__ = ["Assignment", "resolve_assignment", "resolve_regions", "check_panel", "check_absorbing",
           "positional_deprecated", "SPELLINGS", "ControlGroup", "DIDDesign", "check_control_group", "cohort_share_weights", "FEW_CLUSTERS", "check_anticipation",
           "check_outcome_varies", "few_cluster_notes", "SSC", "SSC_CHOICES", "Clustering", "check_clustering",
           "check_ssc", "cluster_column", "renamed", "require_clusters", "ssc_scale", "estimation_rows", "check_rows", "reassign",
           "FitSettings"]
