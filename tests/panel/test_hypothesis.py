"""Property: any generated table either validates or raises a KzCausalError, never anything else."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kzcausal as kz
from kzcausal.errors import KzCausalError
from kzcausal.panel.regions import KAZAKHSTAN_REGIONS

names = st.one_of(st.sampled_from(KAZAKHSTAN_REGIONS), st.sampled_from(["Jambyl", "г. Алматы", "Aqmola"]),
                  st.text(max_size=8), st.none())
years = st.one_of(st.integers(1995, 2030), st.sampled_from(["2015", "2015.5", "x", "", None]),
                  st.floats(allow_nan=True, allow_infinity=True))
cells = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 10**7),
                  st.sampled_from(["-", "1,5", "1 000", "abc", "", "…", None]))


@st.composite
def tables(draw):
    n = draw(st.integers(0, 12))
    columns = draw(st.lists(st.sampled_from(["arrivals", "departures", "population", "grp", "other"]),
                            unique=True, max_size=4))
    data = {"region": [draw(names) for _ in range(n)], "year": [draw(years) for _ in range(n)]}
    for column in columns:
        data[column] = [draw(cells) for _ in range(n)]
    return pd.DataFrame(data)


@pytest.mark.filterwarnings("ignore::kzcausal.errors.DroppedRowsWarning")
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=tables(), scheme=st.sampled_from(["kazakhstan", None]), missing=st.sampled_from(["raise", "drop"]),
       allow_gaps=st.booleans())
def test_any_table_validates_or_raises_a_typed_error(table, scheme, missing, allow_gaps):
    before = table.copy(deep=True)
    try:
        panel = kz.read_panel(table, regions=scheme, missing=missing, allow_gaps=allow_gaps)
    except KzCausalError:
        pass
    else:
        frame = panel.to_frame()
        assert not frame.duplicated(["region", "year"]).any()
        assert frame["year"].dtype == np.int64
        for column in panel.count_variables:
            assert np.isfinite(frame[column]).all() and (frame[column] >= 0).all()
        panel.to_xarray()
        panel.summary()
    pd.testing.assert_frame_equal(table, before)
