"""NUTS for kzcausal's PyMC models: pick the sampler, compile once per model structure, sample.

``sampler="auto"`` (the default of every Bayesian estimator) is nutpie's Rust NUTS on a numba-
compiled log density when nutpie is installed, PyMC's own NUTS otherwise. On the 20-region x
15-year hierarchical model (4 chains x 1,000 draws, 2 cores) a new process reaches the posterior
in about 3-4 s (kzcausal's import and the estimator's extras add 2 s) and a second fit of the same
shape in 0.6-1.2 s, where PyMC's sampler takes 8-10 s: about 10x the ESS per second.
``benchmarks/bench_bayes.py`` measures every installed sampler (numpyro, blackjax and nutpie's JAX
backend too, when installed; they were not installed where these numbers were measured).

What makes nutpie fast from the first fit on:

- nutpie's C callbacks copy the gradient with ``out[...] = grad``, for which numba compiles a
  formatted shape-mismatch error (its string machinery): some 8 s in every new process.
  ``_compile_numba`` follows nutpie's ``compile_pymc_model`` step by step with callbacks that copy
  element by element (same return codes, same values; ``tests/bayes/test_sampling.py`` checks
  them against nutpie's). Where nutpie's internals differ, nutpie compiles as it is.
- the callbacks are kept on disk (PyTensor's numba cache, ``pytensor.config.compiledir``) under
  a key of PyTensor's own key of the compiled log density (the graph, constants included), the
  layout of the data and the library versions, so a new process loads them instead of compiling.
  Dimension lengths are frozen to constants first: shared, they make PyTensor's rewrites, and so
  the key, differ from one process to the next. PyTensor's digamma (in the negative-binomial and
  Student-t gradients) calls SciPy's Cython, which numba cannot cache: kzcausal registers a plain
  numba digamma for PyTensor's numba backend (``_register_cacheable_digamma``), so those models are
  kept on disk too.
- a compiled model is kept in the process and re-used for any later model whose log density and
  deterministics are the same computation (``pytensor.graph.basic.equal_computations``, with the
  data and prior scales, which the models hold in ``pm.Data``, as inputs): only the data are
  swapped in. A second fit of the same shape (simulation-based calibration, prior sensitivity,
  model variants, re-fits) skips compilation; anything else (a shape, a constant of the graph, the
  likelihood) compiles anew. ``clear_compiled_models()`` empties the store.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import numbers
import os
import threading
import warnings
from collections import OrderedDict

import numpy as np

from ..errors import SpecificationError, check_count, check_flag, check_seed

__all__ = ["SAMPLER_PACKAGES", "check_sampler", "check_sampling", "sample_nuts", "quiet_pymc", "compiled_for_nutpie",
           "clear_compiled_models"]

SAMPLER_PACKAGES = {"auto": None, "pymc": None, "nutpie": "nutpie", "numpyro": "numpyro", "blackjax": "blackjax"}
#: compiled nutpie models kept for re-use (least recently used dropped first)
CACHE_SIZE = 16

_compiled: OrderedDict[tuple, list] = OrderedDict()
_lock = threading.RLock()


def check_sampler(sampler: str) -> str:
    """The NUTS implementation to use: ``sampler`` itself, or for ``"auto"`` nutpie where it is
    installed (with numba) and PyMC's own NUTS otherwise. Raises if an optional one is missing."""
    if sampler not in SAMPLER_PACKAGES:
        raise SpecificationError(f"sampler must be one of {list(SAMPLER_PACKAGES)}; got {sampler!r}.")
    if sampler == "auto":
        fast = all(importlib.util.find_spec(p) is not None for p in ("nutpie", "numba"))
        return "nutpie" if fast else "pymc"
    package = SAMPLER_PACKAGES[sampler]
    if package and importlib.util.find_spec(package) is None:
        raise SpecificationError(f"sampler {sampler!r} needs the {package} package, which is not installed: "
                                 f'pip install "kzcausal[{sampler}]" (or pip install {package}).')
    return sampler


@contextlib.contextmanager
def quiet_pymc(quiet: bool):
    """Silence PyMC's progress logging (``progress=False``); warnings still come through kzcausal."""
    logger = logging.getLogger("pymc")
    level = logger.level
    if quiet:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


#: The caps of the sampling gate: draws and tuning steps per chain, chains, and the posterior's memory.
MAX_DRAWS = 1_000_000
MAX_CHAINS = 64
MAX_POSTERIOR_BYTES = 4 * 2**30


_FEWER = "1,000 draws and 4 chains are plenty for a posterior summary"


def check_sampling(*, draws: object, tune: object, chains: object, target_accept: object = 0.9,
                   random_seed: object = None, progress: object = True, sampler: object = "auto") -> dict:
    """The one gate of every Bayesian model's sampling arguments, checked before a model is built: whole
    numbers in range and ``target_accept`` in (0, 1). The posterior's memory is checked by
    :func:`sample_nuts` once the model's size is known."""
    fix = _FEWER
    out = dict(draws=check_count(draws, "draws", cap=MAX_DRAWS, unit_cost="one sampler step per chain", fix=fix),
               tune=check_count(tune, "tune", minimum=0, cap=MAX_DRAWS, unit_cost="one sampler step per chain",
                                fix="1,000 tuning steps are usual"),
               chains=check_count(chains, "chains", cap=MAX_CHAINS, unit_cost="one sampler run", fix=fix),
               random_seed=check_seed(random_seed), progress=check_flag(progress, "progress"),
               sampler=check_sampler(sampler))
    if isinstance(target_accept, bool) or not isinstance(target_accept, numbers.Real) \
            or not 0 < float(target_accept) < 1:
        raise SpecificationError(f"target_accept={target_accept!r}; it must be a number strictly between 0 and 1. "
                                 "Fix: pass e.g. target_accept=0.9 (0.95-0.99 for hard posteriors).")
    out["target_accept"] = float(target_accept)
    return out


def _check_posterior_size(model, draws: int, chains: int) -> None:
    """Refuse a posterior of ``draws x chains x values per draw x 8 bytes`` over :data:`MAX_POSTERIOR_BYTES`."""
    values = sum(int(np.size(v)) for v in model.initial_point().values()) + sum(
        int(np.prod(d.type.shape)) if all(isinstance(n, int) for n in d.type.shape) else 1 for d in model.deterministics)
    size = 8.0 * draws * chains * values
    if size > MAX_POSTERIOR_BYTES:
        raise SpecificationError(f"draws={draws:,} x chains={chains:,} x {values:,} values per draw would keep "
                                 f"{size / 2**30:,.1f} GiB of posterior; the cap is {MAX_POSTERIOR_BYTES / 2**30:.0f} "
                                 f"GiB. Fix: fewer draws or chains ({_FEWER}).")


def sample_nuts(model, sampler: str, *, draws: int, tune: int, chains: int, target_accept: float, random_seed: int,
                progress: bool):
    """Posterior draws of ``model`` with the chosen NUTS implementation (``check_sampler``), chains on
    the available cores, PyMC's own convergence messages off (kzcausal's ``convergence_diagnostics``
    replace them). Returns ``arviz.InferenceData`` with ``posterior``, ``sample_stats``,
    ``observed_data`` and ``constant_data``."""
    import pymc as pm

    _check_posterior_size(model, draws, chains)  # the arguments were checked by check_sampling
    sampler = check_sampler(sampler)
    cores = min(chains, os.cpu_count() or 1)
    if sampler == "nutpie":
        return _sample_nutpie(model, draws=draws, tune=tune, chains=chains, cores=cores, target_accept=target_accept,
                              random_seed=random_seed, progress=progress)
    kwargs = dict(draws=draws, tune=tune, chains=chains, cores=cores, random_seed=random_seed, progressbar=progress,
                  target_accept=target_accept, compute_convergence_checks=False)
    if sampler != "pymc":
        kwargs["nuts_sampler"] = sampler
    with model, quiet_pymc(not progress), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")     # speed, not results
        return pm.sample(**kwargs)


def clear_compiled_models() -> None:
    """Forget the compiled nutpie models kept for re-use."""
    with _lock:
        _compiled.clear()


# ------------------------------------------------------------------ nutpie
def _sample_nutpie(model, *, draws, tune, chains, cores, target_accept, random_seed, progress):
    import nutpie
    import xarray as xr
    from pymc.backends.arviz import find_constants, find_observations

    compiled = compiled_for_nutpie(model)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
        idata = nutpie.sample(compiled, draws=draws, tune=tune, chains=chains, cores=cores, seed=random_seed,
                              target_accept=target_accept, progress_bar=progress, save_warmup=False)
    # the sampler's unconstrained values (tau_log__) are not part of the posterior PyMC reports
    unconstrained = [model.rvs_to_values[rv].name for rv, transform in model.rvs_to_transforms.items()
                     if transform is not None]
    idata.posterior = idata.posterior.drop_vars([n for n in unconstrained if n in idata.posterior])
    # a re-used compiled model carries the labels of the model it was compiled for
    coords = {name: np.asarray(values) for name, values in model.coords.items() if values is not None}
    for group in ("posterior", "sample_stats"):
        labels = {k: v for k, v in coords.items() if k in idata[group].dims}
        setattr(idata, group, idata[group].assign_coords(labels))
    groups = {}
    for group, found in (("constant_data", find_constants(model)), ("observed_data", find_observations(model))):
        variables = {name: (model.named_vars_to_dims.get(name, tuple(f"{name}_dim_{i}" for i in range(np.ndim(v)))),
                            np.asarray(v)) for name, v in found.items()}
        used = {d for dims, _ in variables.values() for d in dims if d in coords}
        groups[group] = xr.Dataset(variables, coords={d: coords[d] for d in used})
    idata.add_groups(groups)
    return idata


def compiled_for_nutpie(model):
    """A nutpie model of ``model`` (numba backend): a kept one with the data swapped in where an
    earlier model was the same computation, else a new compilation (kept for later)."""
    from pymc.model.transform.optimization import freeze_dims_and_data
    from pytensor.graph.basic import equal_computations

    # Dimension lengths as constants: with them shared, PyTensor's rewrites order the shape checks
    # differently from one process to the next, and the compiled function's disk-cache key with them.
    model = freeze_dims_and_data(model, data=[])
    key = _outline(model)
    with _lock:
        candidates = _compiled.get(key, [])
        graphs = inputs = None
        for entry in candidates:
            if graphs is None:
                graphs = [model.logp(), *model.unobserved_value_vars]
                inputs = _named_inputs(graphs)
            if entry["graphs"] is None:
                entry["graphs"] = [entry["model"].logp(), *entry["model"].unobserved_value_vars]
                entry["inputs"] = _named_inputs(entry["graphs"])
            if inputs is None or entry["inputs"] is None or set(inputs) != set(entry["inputs"]):
                continue
            names = sorted(inputs)
            if equal_computations(entry["graphs"], graphs, [entry["inputs"][n] for n in names],
                                  [inputs[n] for n in names]):
                _compiled.move_to_end(key)
                shared = {name: var for (kind, name), var in inputs.items() if kind == "data"}
                # the kept model's own data drive nutpie's initial points: give them the new values too
                for (kind, name), var in entry["inputs"].items():
                    if kind == "data":
                        var.set_value(np.array(shared[name].get_value(borrow=True), copy=True))
                compiled = entry["compiled"]
                values = {n: shared[n].get_value(borrow=True) for n in compiled.shared_data if n in shared}
                return compiled.with_data(**values)
        compiled = _nutpie_compile(model)
        # the graphs are built only when a later model of the same outline needs the comparison
        _compiled.setdefault(key, []).append({"model": model, "graphs": graphs, "inputs": inputs,
                                              "compiled": compiled})
        _compiled.move_to_end(key)
        while sum(len(v) for v in _compiled.values()) > CACHE_SIZE:
            oldest = next(iter(_compiled))
            _compiled[oldest].pop(0)
            if not _compiled[oldest]:
                del _compiled[oldest]
        return compiled


def _outline(model) -> tuple:
    """What two models must share before their graphs are compared: variables, their kinds, types,
    dims and transforms, the data's names and shapes (cheap; no graphs are built)."""
    def describe(var):
        dims = model.named_vars_to_dims.get(var.name)
        return var.name, type(var.owner.op).__name__ if var.owner else None, str(var.type), \
            None if dims is None else tuple(dims)

    return (tuple(describe(v) for v in [*model.free_RVs, *model.observed_RVs, *model.deterministics,
                                         *model.potentials]),
            tuple((rv.name, type(model.rvs_to_transforms.get(rv)).__name__) for rv in model.free_RVs),
            tuple((v.name, str(v.type), np.shape(v.get_value(borrow=True))) for v in model.data_vars),
            tuple((name, None if values is None else len(values)) for name, values in model.coords.items()),
            bool(model.check_bounds))


def _named_inputs(graphs) -> dict | None:
    """The graphs' free inputs by (kind, name): value variables and shared data (constants are
    part of the computation). None where one is unnamed or two share a name (then nothing is kept)."""
    from pytensor.compile.sharedvalue import SharedVariable
    from pytensor.graph.basic import Constant
    from pytensor.graph.traversal import graph_inputs

    named = {}
    for var in graph_inputs(graphs):
        if isinstance(var, Constant):
            continue
        key = ("data" if isinstance(var, SharedVariable) else "value", var.name)
        if var.name is None or key in named:
            return None
        named[key] = var
    return named


_DIGAMMA_REGISTERED = False


def _register_cacheable_digamma() -> None:
    """Give PyTensor's numba backend a digamma it can keep on disk.

    PyTensor compiles ``psi`` (digamma: in the gradient of every negative-binomial, Student-t or gamma
    log density with a free shape) as a call into SciPy's Cython, a function pointer numba cannot
    cache, so the whole log density compiled again in every process (about 15 s for the gravity
    model). This one is plain numba: the recurrence ``psi(x) = psi(x + 1) - 1/x`` up to ``x >= 6``,
    then the asymptotic series to ``x^-14`` (Abramowitz & Stegun 6.3.18), reflection below zero;
    within 1e-13 of SciPy's (``tests/bayes/test_sampling.py``). Registered once, for PyTensor's
    numba backend only (PyMC's C backend and SciPy are untouched).
    """
    global _DIGAMMA_REGISTERED
    if _DIGAMMA_REGISTERED:
        return
    try:
        from pytensor.link.numba.dispatch import basic as numba_basic
        from pytensor.link.numba.dispatch.basic import register_funcify_and_cache_key
        from pytensor.link.numba.dispatch.scalar import scalar_op_cache_key
        from pytensor.scalar.math import Psi
    except ImportError:                 # another PyTensor layout: keep its own (uncached) digamma
        return

    @register_funcify_and_cache_key(Psi)
    def _numba_funcify_psi(op, node, **kwargs):
        import math

        @numba_basic.numba_njit
        def digamma(x):
            if x == 0.0:
                return -np.inf
            if x < 0.0 and math.floor(x) == x:
                return np.nan
            result = 0.0
            if x < 0.0:
                result = -math.pi / math.tan(math.pi * x)
                x = 1.0 - x
            while x < 6.0:
                result -= 1.0 / x
                x += 1.0
            f = 1.0 / (x * x)
            series = f * (-1 / 12 + f * (1 / 120 + f * (-1 / 252 + f * (1 / 240 + f * (-1 / 132 + f * (
                691 / 32760 + f * (-1 / 12)))))))
            return result + math.log(x) - 0.5 / x + series

        return digamma, scalar_op_cache_key(op, cache_version=1_000_001)      # kzcausal's, not PyTensor's

    _DIGAMMA_REGISTERED = True


def _nutpie_compile(model):
    """nutpie's ``compile_pymc_model(model, backend="numba")`` with kzcausal's callbacks (see the
    module notes), kept on disk; nutpie's own compilation where its internals differ."""
    import nutpie
    import nutpie.compile_pymc as internals

    _register_cacheable_digamma()

    needed = ("_make_functions", "make_user_data", "make_extraction_fn", "_prepare_dims_and_coords",
              "CompiledPyMCModel")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
        if not all(hasattr(internals, name) for name in needed):
            return nutpie.compile_pymc_model(model, backend="numba")
        return _compile_numba(model, internals)


def _compile_numba(model, internals):
    """nutpie 0.16's ``_compile_pymc_model_numba``, step by step, with kzcausal's C callbacks."""
    from pymc.initial_point import make_initial_point_fn

    point_fn = make_initial_point_fn(model=model, default_strategy="support_point", jitter_rvs=set(model.free_RVs),
                                     return_transformed=True)
    lock = threading.Lock()

    def initial_point(seed):
        with lock:
            return point_fn(seed)

    n_dim, n_expanded, logp_pt, expand_pt, initial_point_fn, shape_info = internals._make_functions(
        model, mode="NUMBA", compute_grad=True, join_expanded=True, pymc_initial_point_fn=initial_point,
        var_names=None)
    shared_data, shared_vars = {}, {}
    for var in [*logp_pt.get_shared(), *expand_pt.get_shared()]:
        if var.name in shared_data and shared_vars[var.name] is not var:
            raise SpecificationError(f"two data variables of the model are both named {var.name!r}.")
        shared_data[var.name] = np.array(var.get_value(), order="C", copy=True)
        shared_vars[var.name] = var
    for value in shared_data.values():
        value.flags.writeable = False
    user_data = internals.make_user_data(shared_vars, shared_data)
    logp = _callback(internals, "logp", logp_pt, n_dim, n_expanded, user_data, shared_data)
    expand = _callback(internals, "expand", expand_pt, n_dim, n_expanded, user_data, shared_data)
    dims, coords = internals._prepare_dims_and_coords(model, shape_info)
    return internals.CompiledPyMCModel(
        _n_dim=n_dim, dims=dims, _coords=coords, _shapes={name: tuple(shape) for name, _, shape in zip(*shape_info)},
        compiled_logp_func=logp, compiled_expand_func=expand, initial_point_func=initial_point_fn,
        shared_data=shared_data, user_data=user_data, n_expanded=n_expanded, shape_info=shape_info,
        logp_func=logp_pt, expand_func=expand_pt)


# nutpie's C callbacks (nutpie 0.16 ``_make_c_logp_func``, ``_make_c_expand_func``), the results copied
# element by element: nutpie's ``out[...] = grad`` makes numba compile a formatted shape-mismatch error
# (its string machinery), seconds in every new process. Written as source without closures, so that
# numba can keep them on disk under a key (``_callback``).
_CALLBACKS = {
    "logp": """
def logp_numba(dim, x_, out_, logp_, user_data_):
    if dim != n_dim:
        return -1
    try:
        x = numba.carray(x_, (n_dim,))
        logp_val, grad = extract(x, user_data_)
        logp_[0] = logp_val
        finite = True
        for i in range(n_dim):
            out_[i] = grad[i]
            if not np.isfinite(grad[i]):
                finite = False
        if not finite:
            return 3
        if not np.isfinite(logp_val):
            return 4
    except Exception:  # noqa: BLE001
        return 1
    return 0
""",
    "expand": """
def expand_numba(dim, expanded, x_, out_, user_data_):
    if dim != n_dim:
        return -1
    if expanded != n_expanded:
        return -1
    try:
        x = numba.carray(x_, (n_dim,))
        (values,) = extract(x, user_data_)
        for i in range(n_expanded):
            out_[i] = values[i]
    except Exception:  # noqa: BLE001
        return -2
    return 0
"""}


def _callback(internals, kind: str, function, n_dim: int, n_expanded: int, user_data, shared_data):
    """The numba C callback of a compiled PyTensor function (``kind``: logp or expand), from the disk
    cache where PyTensor keys the function itself (its graph, constants included): our key adds the
    callback's source, the layout of the data it reads and the library versions."""
    import hashlib

    import numba
    import nutpie
    import pytensor

    shared = [var.name for var in function.get_shared()]
    extract = internals.make_extraction_fn(function.vm.jit_fn, shared_data, shared, user_data.dtype)
    pointer = numba.types.CPointer(numba.types.double)
    signature = (numba.types.int64(numba.types.uint64, pointer, pointer, pointer, numba.types.voidptr)
                 if kind == "logp" else
                 numba.types.int64(numba.types.uint64, numba.types.uint64, pointer, pointer, numba.types.voidptr))
    source = _CALLBACKS[kind]
    name = source.split("def ")[1].split("(")[0]
    # __name__: numba rebuilds a cached function's environment from its module
    env = {"__name__": __name__, "numba": numba, "np": np, "extract": extract, "n_dim": n_dim,
           "n_expanded": n_expanded}
    try:
        from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS, compile_numba_function_src
    except ImportError:
        CACHED_SRC_FUNCTIONS, compile_numba_function_src = {}, None
    graph_key = CACHED_SRC_FUNCTIONS.get(function.vm.jit_fn.py_func)
    if graph_key is None or compile_numba_function_src is None:
        namespace = dict(env)
        exec(compile(source, "<kzcausal callback>", "exec"), namespace)
        return numba.cfunc(signature)(namespace[name])
    key = hashlib.sha256(repr((kind, graph_key, n_dim, n_expanded, shared, user_data.dtype.descr, source,
                               numba.__version__, pytensor.__version__, nutpie.__version__)).encode()).hexdigest()
    raw = compile_numba_function_src(source, name, global_env=env, cache_key=f"kzcausal_{kind}_{key}")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Cannot cache compiled function")
        try:
            return numba.cfunc(signature, cache=True)(raw)
        except Exception:  # noqa: BLE001 -- an unreadable cache entry must not stop a fit: compile afresh
            return numba.cfunc(signature)(compile_numba_function_src(source, name, global_env=env))
