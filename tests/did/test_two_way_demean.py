"""Region and year effects partialled out by kzcausal's absorber equal linearmodels' two-way demeaning,
on balanced panels (closed form) and on unbalanced ones (alternating projections)."""

import numpy as np
import pandas as pd
import pytest

from kzcausal.did.regression import two_way_demean


def linearmodels_demean(data: pd.DataFrame, values: np.ndarray) -> np.ndarray:
    from linearmodels.panel.data import PanelData

    index = pd.MultiIndex.from_arrays([data["region"].to_numpy(), data["year"].to_numpy()])
    flat = pd.DataFrame(values.reshape(len(index), -1), index=index)
    return PanelData(flat).demean("both").values2d.reshape(values.shape)


@pytest.mark.parametrize("drop", [0.0, 0.15])
def test_two_way_demean_equals_linearmodels(drop):
    rng = np.random.default_rng(3)
    data = pd.DataFrame([(f"r{i:02d}", y) for i in range(23) for y in range(2005, 2019)], columns=["region", "year"])
    data = data[rng.uniform(size=len(data)) >= drop].reset_index(drop=True)
    values = rng.normal(size=(len(data), 3)) + rng.normal(size=23)[pd.factorize(data["region"])[0], None]
    ours = two_way_demean(data, values)
    np.testing.assert_allclose(ours, linearmodels_demean(data, values), atol=1e-8)
    # the result has no region or year effect left: group means are zero
    for key in ("region", "year"):
        assert np.abs(pd.DataFrame(ours).groupby(data[key].to_numpy()).mean().to_numpy()).max() < 1e-8
    assert two_way_demean(data, values[:, 0]).shape == (len(data),)
