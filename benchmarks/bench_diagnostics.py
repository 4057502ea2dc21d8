"""Benchmark: few-cluster inference on a Kazakhstan-shaped panel (17 regions x 15 years, 6 treated).

Run:  .venv/bin/python benchmarks/bench_diagnostics.py
(needs the peers, all in the dev extra: linearmodels diff-diff wildboottest moderndid[didhonest])

1. Exact randomization inference over all C(17, 6) = 12,376 assignments: kzcausal (FWL, one
   matrix product) against re-fitting linearmodels PanelOLS per assignment (timed on a sample
   and scaled to 12,376) and against diff-diff's permutation_test with 12,376 sampled draws.
   Target: >= 50x faster than re-fitting, faster than diff-diff.
2. Wild cluster bootstrap, 9,999 Rademacher draws, 17 clusters: kzcausal (p-value and the
   test-inversion interval) against wildboottest (p-value only). Target: <= 1 s.
3. HonestDiD on the panel's Callaway-Sant'Anna event study (leads=4, lags=3): relative
   magnitudes (hybrid C-LF, Mbar = 0, 0.5, ..., 2) and smoothness (FLCI, the same five M for
   both) against moderndid's create_sensitivity_results_rm / _sm on the same coefficients and
   covariance (moderndid omits the earliest pre-period change from Delta^RM, so its sets can be
   narrower; see docs/diagnostics.md).
4. The whole toolkit on the same panel (RI, wild bootstrap, pre-trend test with power, HonestDiD
   with both restrictions, Bacon decomposition, placebo in time, leave-one-region-out).
   Target: <= 5 s.
5. The same few-cluster checks on the Callaway-Sant'Anna ATT (result protocol): exact RI over
   all 12,376 assignments through the vectorized reassignment, against re-estimating every
   assignment with moderndid's att_gt + aggte (timed on a sample and scaled) and with kzcausal's
   own generic re-fit path; the WCR bootstrap of the CS effect with all 2^17 sign vectors.
"""

from __future__ import annotations

import itertools
import time
import warnings

import pandas as pd

warnings.filterwarnings("ignore")


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    import kzcausal as kz
    from kzcausal import diagnostics as dx

    panel, truth = kz.simulate_panel(random_seed=2014, effect=0.8)  # 17 regions, 2009-2023, 6 treated from 2014
    treated = truth.first_treated.dropna().index.tolist()
    result = kz.did_2x2(panel, "outcome", treated=treated, post_from=2014, fixed_effects=True, cov="cluster")
    frame = panel.to_frame()

    # 1. randomization inference
    t_ours, ri = timed(lambda: dx.randomization_inference(result))

    from linearmodels.panel import PanelOLS

    sets = list(itertools.combinations(panel.regions, 6))
    sample = sets[:: max(1, len(sets) // 200)]

    def refit_sample():
        for chosen in sample:
            d = (frame["region"].isin(chosen) & (frame["year"] >= 2014)).astype(float)
            data = frame.assign(D=d).set_index(["region", "year"])
            PanelOLS(data["outcome"], data[["D"]], entity_effects=True, time_effects=True).fit()

    t_sample, _ = timed(refit_sample)
    t_refit = t_sample / len(sample) * len(sets)

    import diff_diff

    dd = frame.assign(unit=pd.factorize(frame["region"])[0], treat=frame["region"].isin(treated).astype(int),
                      post=(frame["year"] >= 2014).astype(int))
    t_dd, dd_result = timed(lambda: diff_diff.permutation_test(dd, outcome="outcome", treatment="treat", post="post",
                                                               unit="unit", n_permutations=len(sets), seed=1))
    print(f"1. randomization inference, {len(sets):,} assignments (17 regions, 6 treated)")
    print(f"   kzcausal exact (FWL)          {t_ours:8.3f} s   p = {ri.p_value:.4f}")
    print(f"   re-fitting PanelOLS (scaled)  {t_refit:8.2f} s   ({len(sample)} fits timed)   "
          f"speed-up {t_refit / t_ours:6.0f}x (target >= 50x)")
    print(f"   diff-diff permutation_test    {t_dd:8.3f} s   p = {dd_result.p_value:.4f} (sampled)   "
          f"kzcausal/diff-diff = {t_ours / t_dd:.3f} (target < 1)")

    # 2. wild cluster bootstrap
    t_wcb, boot = timed(lambda: dx.wild_cluster_bootstrap(result, draws=9999, random_seed=1))
    import statsmodels.formula.api as smf
    from wildboottest.wildboottest import wildboottest

    data = frame.assign(D=(frame["region"].isin(treated) & (frame["year"] >= 2014)).astype(float))
    model = smf.ols("outcome ~ D + C(region) + C(year)", data=data)
    t_wbt, wbt = timed(lambda: wildboottest(model, param="D", cluster=pd.factorize(data["region"])[0], B=9999,
                                            seed=1, show=False))
    print("2. wild cluster bootstrap, 9,999 Rademacher draws, 17 clusters")
    print(f"   kzcausal (p and CI by inversion) {t_wcb:6.3f} s   p = {boot.p_value:.4f}, "
          f"CI [{boot.ci_low:.3f}, {boot.ci_high:.3f}]   (target <= 1 s)")
    print(f"   wildboottest (p only)            {t_wbt:6.3f} s   p = {float(wbt['p-value'].iloc[0]):.4f}   "
          f"ratio {t_wcb / t_wbt:.2f}")

    # 3. HonestDiD
    import numpy as np
    from moderndid.didhonest import create_sensitivity_results_rm, create_sensitivity_results_sm

    es = kz.event_study(panel, "outcome", first_treated="first_treated", method="cs", leads=4, lags=3)
    beta = es.table["estimate"].to_numpy()
    sigma = es.vcov.to_numpy()
    n_pre = sum(e < -1 for e in es.event_times)
    n_post = len(beta) - n_pre
    mbar = np.linspace(0, 2, 5)
    t_rm, rm = timed(lambda: kz.honest_sensitivity(es, restriction="relative_magnitude", Mbar=mbar, progress=False))
    t_rm_ref, rm_ref = timed(lambda: create_sensitivity_results_rm(beta, sigma, n_pre, n_post, m_bar_vec=mbar,
                                                                   l_vec=np.eye(n_post)[0]))
    m = np.linspace(0, 0.2, 5)
    t_sd, sd = timed(lambda: kz.honest_sensitivity(es, restriction="smoothness", M=m, progress=False))
    t_sd_ref, sd_ref = timed(lambda: create_sensitivity_results_sm(beta, sigma, n_pre, n_post, m_vec=m,
                                                                   l_vec=np.eye(n_post)[0]))
    print(f"3. HonestDiD, CS event study ({n_pre} leads, {n_post} post-periods), effect at e = 0, five bounds each")
    print(f"   relative magnitudes (C-LF)  kzcausal {t_rm:6.2f} s   moderndid {t_rm_ref:6.2f} s   "
          f"ratio {t_rm / t_rm_ref:.3f}   breakdown Mbar = {rm.breakdown:.3f}")
    print(f"   smoothness (FLCI)           kzcausal {t_sd:6.2f} s   moderndid {t_sd_ref:6.2f} s   "
          f"ratio {t_sd / t_sd_ref:.3f}")
    side = pd.DataFrame({"Mbar": mbar, "kz_low": rm.table["ci_low"], "kz_high": rm.table["ci_high"],
                         "moderndid_low": rm_ref["lb"].to_numpy(), "moderndid_high": rm_ref["ub"].to_numpy()})
    print(side.to_string(index=False, float_format=lambda x: f"{x:.4f}"))

    # 4. the whole toolkit
    def toolkit():
        dx.randomization_inference(result)
        dx.wild_cluster_bootstrap(result, draws=9999, random_seed=1)
        dx.pretrend_test(es)
        kz.honest_sensitivity(es, restriction="relative_magnitude", progress=False)
        kz.honest_sensitivity(es, restriction="smoothness", progress=False)
        dx.bacon_decomposition(panel, "outcome", treatment="treated")
        dx.placebo_in_time(result)
        dx.leave_one_out(result)

    t_all, _ = timed(toolkit)
    print(f"4. the whole toolkit on the 17 x 15 panel: {t_all:.2f} s (target <= 5 s)")

    # 5. Callaway-Sant'Anna through the same checks
    import moderndid

    from kzcausal.diagnostics.inference import _enumerate, _refit_statistics

    att = kz.staggered_did(panel, "outcome", first_treated="first_treated")
    t_cs_ri, cs_ri = timed(lambda: dx.randomization_inference(att, progress=False))
    labels = att.region_cohorts()
    matrix = _enumerate(labels.to_numpy(float))
    sample = matrix[:: max(1, len(matrix) // 100)]
    t_refit, refits = timed(lambda: _refit_statistics(att, labels.index, sample, "estimate", False))
    vectorized = att.permuted(sample)
    assert abs(refits - vectorized).max() < 1e-10, "vectorized reassignment differs from re-fits"
    ids = {r: i for i, r in enumerate(labels.index)}

    def moderndid_sample():
        for row in sample[:20]:
            cohorts = dict(zip(labels.index, row))
            data = frame.assign(id=frame["region"].map(ids), g=frame["region"].map(cohorts).replace(float("inf"), 0))
            fit = moderndid.att_gt(data, yname="outcome", tname="year", idname="id", gname="g", est_method="reg",
                                   boot=False, cband=False)
            moderndid.aggte(fit, type="simple")
    t_md, _ = timed(moderndid_sample)
    scale = len(matrix)
    t_cs_wcb, cs_wcb = timed(lambda: dx.wild_cluster_bootstrap(att, draws="exact"))
    print(f"5. Callaway-Sant'Anna ATT through the same checks ({len(matrix):,} assignments)")
    print(f"   exact RI, vectorized            {t_cs_ri:8.3f} s   p = {cs_ri.p_value:.4f}")
    print(f"   kzcausal re-fit per assignment  {t_refit / len(sample) * scale:8.1f} s (scaled from {len(sample)})"
          f"   ratio {t_cs_ri / (t_refit / len(sample) * scale):.4f}")
    print(f"   moderndid att_gt + aggte        {t_md / 20 * scale:8.1f} s (scaled from 20)"
          f"   ratio {t_cs_ri / (t_md / 20 * scale):.5f}")
    print(f"   WCR bootstrap, all 2^17 draws   {t_cs_wcb:8.3f} s   p = {cs_wcb.p_value:.4f}, "
          f"CI [{cs_wcb.ci_low:.3f}, {cs_wcb.ci_high:.3f}]")


if __name__ == "__main__":
    main()
