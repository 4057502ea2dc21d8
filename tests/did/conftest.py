"""Shared fixtures of the DID tests."""

import numpy as np
import pytest

import kzcausal as kz


@pytest.fixture(scope="module")
def staggered():
    """SIMULATED: 20 regions x 2008-2019, cohorts 2012 and 2015 (5 each), dynamic and heterogeneous effects, a
    covariate ``x`` and a coarser cluster ``macro`` (6 macro-regions). Returns the panel and its frame."""
    panel, _ = kz.simulate_panel(n_regions=20, years=range(2008, 2020), cohorts={2012: 5, 2015: 5},
                                 dynamic=0.3, heterogeneity=0.5, random_seed=31)
    frame = panel.to_frame()
    rng = np.random.default_rng(4)
    frame["x"] = rng.normal(size=len(frame)) + 0.1 * frame["year"]
    frame["macro"] = frame["region"].map({r: float(i % 6 + 1) for i, r in enumerate(sorted(frame["region"].unique()))})
    return kz.read_panel(frame, regions=None), frame
