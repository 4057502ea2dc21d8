"""Validated region x year panels: reading, region names, boundary crosswalk, indicators."""

from .core import COUNT_VARIABLES, DERIVED_INDICATORS, RegionPanel, read_panel
from .flows import FlowTable, read_flows
from .regions import BOUNDARY_CHANGES, KAZAKHSTAN_REGIONS, canonical_region, regions_at

__all__ = [
    "RegionPanel",
    "read_panel",
    "FlowTable",
    "read_flows",
    "COUNT_VARIABLES",
    "DERIVED_INDICATORS",
    "BOUNDARY_CHANGES",
    "KAZAKHSTAN_REGIONS",
    "canonical_region",
    "regions_at",
]
