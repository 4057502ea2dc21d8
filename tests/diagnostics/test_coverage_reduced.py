"""Reduced coverage check (the full study is benchmarks/coverage_study.py): valid tests keep their size."""

import numpy as np

import kzcausal as kz
from kzcausal import diagnostics as dx


def test_ri_and_wild_bootstrap_keep_their_size():
    ri, wcr = [], []
    for seed in range(40):
        panel, truth = kz.simulate_panel(effect=0.0, serial_correlation=0.8, random_seed=seed)
        treated = truth.first_treated.dropna().index.tolist()
        fe = kz.did_2x2(panel, "outcome", treated, 2014, fixed_effects=True, cov="cluster")
        ri.append(dx.randomization_inference(fe, progress=False).p_value < 0.05)
        wcr.append(dx.wild_cluster_bootstrap(fe, n_boot=399, random_seed=seed).p_value < 0.05)
    # 40 null panels: a 5% test rejects 2 on average; P(>= 7 rejections) < 0.5% for a valid test
    assert np.sum(ri) <= 6 and np.sum(wcr) <= 6
