"""kzcausal leaves the caller's logging set-up alone (pyfixest configures the root logger on import)."""

import subprocess
import sys

CHECK = """
import logging, warnings
warnings.simplefilter("ignore")
from kzcausal.datasets import load_kazakhstan, load_migration_flows
from kzcausal.migration import gravity_model
root = logging.getLogger()
before = (list(root.handlers), root.level)
flows = load_migration_flows(2021).select(years=[2015, 2020])
gravity_model(flows, load_kazakhstan(2021), fixed_effects="year")
assert "pyfixest.estimation" in __import__("sys").modules      # the import that configures logging happened
after = (list(root.handlers), root.level)
print(before == after, after)
"""


def test_fitting_through_pyfixest_leaves_the_root_logger_as_it_was():
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("True"), done.stdout
    assert "INFO:" not in done.stderr
