"""The sampling layer: which NUTS runs by default, the store of compiled models (re-used only for the
same computation, with the new data and prior scales swapped in), kzcausal's nutpie callbacks
against nutpie's own, and the vectorized convergence diagnostics against arviz."""

import importlib.util
import logging
import warnings

import arviz as az
import numpy as np
import pytest

from kzcausal.bayes import sampling
from kzcausal.bayes.convergence import convergence_diagnostics, mcse, rhat_ess
from kzcausal.bayes.sampling import check_sampler, clear_compiled_models, compiled_for_nutpie, sample_nuts
from kzcausal.errors import SpecificationError

logging.getLogger("pymc").setLevel(logging.ERROR)
HAS_NUTPIE = importlib.util.find_spec("nutpie") is not None
needs_nutpie = pytest.mark.skipif(not HAS_NUTPIE, reason="nutpie is not installed")
SETTINGS = dict(draws=300, tune=300, chains=2, target_accept=0.9, progress=False)


def regression(y, *, prior_scale=1.0, slope_scale=1.0, student_t=False):
    """y ~ Normal(a + b x, sigma): x, y and the prior scale of ``a`` are data (pm.Data), the prior
    scale of ``b`` a constant of the graph."""
    import pymc as pm

    with pm.Model(coords={"obs": np.arange(len(y))}) as model:
        x = pm.Data("x", np.linspace(-1.0, 1.0, len(y)), dims="obs")
        y_obs = pm.Data("y_obs", np.asarray(y, float), dims="obs")
        scale = pm.Data("scale", prior_scale)
        a = pm.Normal("a", 0.0, scale)
        b = pm.Normal("b", 0.0, slope_scale)
        sigma = pm.HalfNormal("sigma", 1.0)
        if student_t:
            pm.StudentT("y", nu=5.0, mu=a + b * x, sigma=sigma, observed=y_obs, dims="obs")
        else:
            pm.Normal("y", a + b * x, sigma, observed=y_obs, dims="obs")
    return model


def test_auto_is_nutpie_where_installed(monkeypatch):
    assert check_sampler("auto") == ("nutpie" if HAS_NUTPIE else "pymc")
    assert check_sampler("pymc") == "pymc"
    monkeypatch.setattr(sampling.importlib.util, "find_spec", lambda name: None)
    assert check_sampler("auto") == "pymc"


def test_a_missing_sampler_names_an_extra_that_exists(monkeypatch):
    import re
    import tomllib
    from pathlib import Path

    extras = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    monkeypatch.setattr(sampling.importlib.util, "find_spec", lambda name: None)
    for name, package in sampling.SAMPLER_PACKAGES.items():
        if package is None:
            continue
        with pytest.raises(SpecificationError, match="is not installed") as error:
            check_sampler(name)
        extra = re.search(r'kzcausal\[(\w+)\]', str(error.value)).group(1)
        assert any(requirement.startswith(package) for requirement in extras[extra]), (name, extra)


@needs_nutpie
def test_a_kept_compilation_serves_new_data_and_priors_exactly():
    """A second model of the same computation re-uses the compiled one with its own data and prior
    scale, and gives the very draws a fresh compilation of that model gives (same seed)."""
    rng = np.random.default_rng(0)
    clear_compiled_models()
    first = compiled_for_nutpie(regression(rng.normal(size=40)))
    y = 2.0 + rng.normal(size=40)
    second_model = regression(y, prior_scale=0.05)
    second = compiled_for_nutpie(second_model)
    assert second.compiled_logp_func is first.compiled_logp_func          # not compiled again
    assert np.array_equal(second.shared_data["y_obs"], y) and float(second.shared_data["scale"]) == 0.05
    kept = sample_nuts(second_model, "nutpie", random_seed=3, **SETTINGS)
    clear_compiled_models()
    fresh = sample_nuts(regression(y, prior_scale=0.05), "nutpie", random_seed=3, **SETTINGS)
    for name in ("a", "b", "sigma"):
        assert np.array_equal(kept.posterior[name].values, fresh.posterior[name].values), name
    # the tight prior on a holds it near 0 although the data put the level near 2
    assert abs(float(kept.posterior["a"].mean())) < 0.5


@needs_nutpie
def test_a_different_computation_compiles_anew():
    rng = np.random.default_rng(1)
    y = rng.normal(size=40)
    clear_compiled_models()
    base = compiled_for_nutpie(regression(y))
    for other in (regression(y, slope_scale=2.0),              # a constant of the graph
                  regression(y, student_t=True),               # the likelihood
                  regression(rng.normal(size=41))):            # the shape
        assert compiled_for_nutpie(other).compiled_logp_func is not base.compiled_logp_func
    assert compiled_for_nutpie(regression(y)).compiled_logp_func is base.compiled_logp_func


@needs_nutpie
def test_callbacks_compute_what_nutpies_compute():
    """kzcausal's C callbacks (element-wise copies, disk cache) against nutpie's compile_pymc_model on
    the same model: log density, gradient, stored draws and return codes at the same points."""
    import ctypes

    import nutpie
    import nutpie.compile_pymc as internals
    from pymc.model.transform.optimization import freeze_dims_and_data

    model = freeze_dims_and_data(regression(np.random.default_rng(2).normal(size=30), student_t=True), data=[])
    ours = sampling._compile_numba(model, internals)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = nutpie.compile_pymc_model(model)
    double = ctypes.POINTER(ctypes.c_double)
    rng = np.random.default_rng(3)
    points = [rng.normal(size=ours.n_dim) for _ in range(3)] + [np.array([0.0, 0.0, 800.0])]   # sigma overflows
    for x in points:
        results = []
        for compiled in (ours, theirs):
            gradient, logp = np.zeros(compiled.n_dim), np.zeros(1)
            expanded = np.zeros(compiled.n_expanded)
            code = compiled.compiled_logp_func.ctypes(compiled.n_dim, x.ctypes.data_as(double),
                                                      gradient.ctypes.data_as(double), logp.ctypes.data_as(double),
                                                      compiled.user_data.ctypes.data)
            expand_code = compiled.compiled_expand_func.ctypes(compiled.n_dim, compiled.n_expanded,
                                                               x.ctypes.data_as(double),
                                                               expanded.ctypes.data_as(double),
                                                               compiled.user_data.ctypes.data)
            results.append((code, expand_code, logp, gradient, expanded))
        (code, expand_code, *arrays), (code_ref, expand_ref, *references) = results
        assert (code, expand_code) == (code_ref, expand_ref)
        for array, reference in zip(arrays, references):
            np.testing.assert_allclose(array, reference, rtol=1e-12, atol=1e-12, equal_nan=True)
    assert [name for name, *_ in zip(*ours.shape_info)] == [name for name, *_ in zip(*theirs.shape_info)]


@needs_nutpie
def test_nutpie_inference_data_is_pymcs_shape():
    model = regression(np.random.default_rng(3).normal(size=20))
    idata = sample_nuts(model, "nutpie", random_seed=1, **SETTINGS)
    assert {"posterior", "sample_stats", "observed_data", "constant_data"} <= set(idata.groups())
    assert "sigma_log__" not in idata.posterior and idata.posterior["a"].shape == (2, 300)
    assert list(idata.observed_data["y"]["obs"].values) == list(range(20))


def _autocorrelated(rng, shape, rho=0.8):
    draws = np.zeros(shape)
    for t in range(1, shape[1]):
        draws[:, t] = rho * draws[:, t - 1] + rng.normal(size=(shape[0], *shape[2:]))
    return draws


def test_diagnostics_equal_arviz():
    rng = np.random.default_rng(4)
    posterior = {"a": rng.normal(size=(4, 300)), "b": _autocorrelated(rng, (4, 300, 3)),
                 "c": rng.standard_t(3, size=(4, 300, 2)) + np.arange(4)[:, None, None] * 0.3,
                 "d": (rng.random((4, 300)) < 0.2).astype(float)}
    idata = az.from_dict(posterior=posterior, sample_stats={"diverging": np.zeros((4, 300), bool)},
                         coords={"k": ["x", "y"]}, dims={"c": ["k"]})
    ours, divergences, _ = convergence_diagnostics(idata)
    reference = az.summary(idata, kind="diagnostics", round_to="none")
    assert list(ours.index) == list(reference.index) and divergences == 0
    np.testing.assert_allclose(ours[["r_hat", "ess_bulk", "ess_tail"]].to_numpy(),
                               reference[["r_hat", "ess_bulk", "ess_tail"]].to_numpy(), rtol=1e-10)
    one_chain = rhat_ess(posterior["b"][:1])
    assert np.isnan(one_chain[0]).all()
    reference = az.summary(az.from_dict(posterior={"b": posterior["b"][:1]}), kind="diagnostics", round_to="none")
    np.testing.assert_allclose(one_chain[1], reference["ess_bulk"].to_numpy(), rtol=1e-10)


def test_mcse_of_the_mean_equals_arviz():
    draws = _autocorrelated(np.random.default_rng(5), (4, 400, 2))
    mean_error, sd_error = mcse(draws)
    reference = az.mcse(az.from_dict(posterior={"v": draws}), method="mean")["v"].values
    np.testing.assert_allclose(mean_error, reference, rtol=1e-10)
    # the sd's Monte Carlo error is of the order sd / sqrt(2 ESS)
    ess = az.ess(az.from_dict(posterior={"v": draws}), method="mean")["v"].values
    assert np.all((sd_error > 0.3 * draws.std(axis=(0, 1)) / np.sqrt(2 * ess))
                  & (sd_error < 3 * draws.std(axis=(0, 1)) / np.sqrt(2 * ess)))


@needs_nutpie
def test_digamma_is_scipys_and_negative_binomial_models_are_kept_on_disk():
    """kzcausal's numba digamma (registered for PyTensor's numba backend so that graphs with it can be
    cached) against SciPy's: the asymptotic series stops at x^-14 with x >= 6, whose next term is below
    2e-13, and the recurrence adds rounding of order 1e-16 per step, so 1e-12 (absolute, or relative
    where |psi| > 1) holds on any machine. Then a negative-binomial model (digamma in its gradient)
    compiles to a log density PyTensor can key, which is what puts it in the disk cache."""
    import pymc as pm
    import pytensor
    import pytensor.tensor as pt
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS
    from scipy import special

    sampling._register_cacheable_digamma()
    x = pt.dvector("x")
    digamma = pytensor.function([x], pt.psi(x), mode="NUMBA")
    positive = np.concatenate([np.linspace(1e-6, 40.0, 40001), np.logspace(-8, 9, 2001)])
    negative = -np.linspace(0.0125, 20.9875, 840)            # away from the poles at the negative integers
    for points in (positive, negative):
        reference = special.psi(points)
        np.testing.assert_allclose(digamma(points), reference, rtol=1e-12, atol=1e-12)
    assert np.isneginf(digamma(np.array([0.0]))[0]) and np.isnan(digamma(np.array([-2.0]))[0])

    with pm.Model() as model:
        alpha = pm.HalfNormal("alpha", 5.0)
        mu = pm.LogNormal("mu", 2.0, 1.0)
        pm.NegativeBinomial("y", mu=mu, alpha=alpha, observed=np.array([3, 0, 12, 7, 40]))
    clear_compiled_models()
    compiled = compiled_for_nutpie(model)
    assert CACHED_SRC_FUNCTIONS.get(compiled.logp_func.vm.jit_fn.py_func) is not None
