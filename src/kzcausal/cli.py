"""Command line: ``kzcausal data`` and ``kzcausal report`` (a thin layer over the API)."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from .errors import KzCausalError, RegionNameError
from .text import clean

# markdown: a docstring's wrapped lines are joined into paragraphs (rich mode keeps every line break)
app = typer.Typer(help="kzcausal: causal and Bayesian analysis of regional panel data.",
                  no_args_is_help=True, add_completion=False, rich_markup_mode="markdown")


@app.callback()
def main() -> None:
    """kzcausal command line."""


@app.command()
def data(
    boundaries: int = typer.Option(2021, help="Region boundaries of this year (2021: the papers' 17 regions)."),
) -> None:
    """Print a summary of the bundled real Kazakhstan data: the region panel and the migration flows."""
    import warnings

    from .datasets import load_kazakhstan, load_migration_flows

    try:
        panel = load_kazakhstan(boundaries=boundaries)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the summary lists the moves removed by harmonization
            flows = load_migration_flows(boundaries=boundaries)
    except KzCausalError as exc:
        typer.echo(f"error: {clean(exc, None)}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(panel.summary())
    typer.echo("")
    typer.echo(flows.summary())


@app.command()
def report(
    data: Path | None = typer.Option(None, "--data", help="Your panel (CSV/TSV/TXT/XLSX); needs --spec."),
    spec: Path | None = typer.Option(None, "--spec", help="YAML specification (outcome, first_treated or "
                                     "treated_regions + post_from, leads, lags, elasticity; how to read --data: "
                                     "region, year, value, decimal, header_row, sheet, missing, allow_gaps, "
                                     "columns, region_names)."),
    out: str = typer.Option("kzcausal-report", "--out", help="Folder for report.html and tables/."),
    fast: bool = typer.Option(False, "--fast", help="Skip the MCMC sections (Bayesian gravity and hierarchical "
                              "elasticities) and simulate 100 rather than 300 panels for design power."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress output; only the verdict."),
) -> None:
    """Run the whole robustness suite and write report.html, tables/ and a verdict.

    With no options: the bundled Kazakhstan data (the Serpin-2050 design on real log GRP per capita, the
    real interregional migration flows with PPML and Bayesian gravity models, paper 000's factor models
    and the hierarchical GRP-attractiveness elasticities). With ``--data`` the spec also says how to read
    the file, with the arguments of ``read_panel``: ``region: state``, ``year: yr``, ``decimal: ","``,
    ``header_row: 2``, ``sheet: Data``, ...
    """
    from .panel import read_panel
    from .report import build_report, read_spec
    from .report.build import with_treated_regions

    started = time.perf_counter()
    try:
        if not out.strip():  # an unset shell variable: never the working folder by accident
            raise KzCausalError("--out is empty. Fix: give the folder to write into, e.g. --out kzcausal-report "
                                "(--out . for the current folder).")
        out = Path(out)
        _check_writable(out)                            # before any computation
        if data is not None and not data.is_file():
            raise KzCausalError(f"data file {str(data)!r} not found.")
        if data is not None and spec is None:
            raise KzCausalError("--data needs --spec: say which column is the outcome and which regions are "
                                "treated from when.")
        panel = design = None
        if spec is not None:
            design, raw = read_spec(spec)               # the spec first, before reading any data
            if data is None:
                from .datasets import load_kazakhstan
                from .report.build import READ_KEYS

                given = [key for key in READ_KEYS if key in raw]
                if given:
                    raise KzCausalError(f"{spec}: {given} say how to read --data, but there is no --data (the "
                                        "bundled panel needs none). Fix: pass --data <your file>, or remove them.")
                panel = load_kazakhstan()
            else:
                try:
                    panel = read_panel(data, **design.read_options)
                except RegionNameError as exc:  # the spec's spelling of read_panel's regions=None
                    raise RegionNameError(str(exc).replace("regions=None", "region_names: any (in the spec)")) \
                        from None
            if "treated_regions" in raw:
                panel = with_treated_regions(panel, raw["treated_regions"], raw["post_from"])
            design.require_columns(panel)
        result = build_report(panel, design, out, fast=fast, quiet=quiet)
    except KzCausalError as exc:
        typer.echo(f"error: {clean(exc, None)}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo("\nVerdict:")
    for line in result.verdict:
        typer.echo(f"  - {clean(line, None)}")
    if not quiet:
        typer.echo("\nTime by section:")
        for title, seconds in result.timings.items():
            typer.echo(f"  {title:<52s} {seconds:6.1f} s")
    typer.echo(f"\nwrote {result.html_path} and {result.tables_dir}/ in {time.perf_counter() - started:.0f} s")
    if not result.did_checks:
        typer.echo("error: no DID estimate or check could run on this design (each section of the report says "
                   "why); the report is written, but there is no verdict to read.", err=True)
        raise typer.Exit(code=1)


def _check_writable(out: Path) -> None:
    """The output folder must be a folder we can write to; say so before minutes of computing."""
    import os
    import tempfile

    try:
        if out.exists() and not out.is_dir():
            raise KzCausalError(f"--out {str(out)!r} is a file. Fix: give a folder (it is created if missing).")
        probe = out
        while not probe.exists():
            probe = probe.parent
    except OSError as exc:  # a name or path longer than the file system allows
        raise KzCausalError(f"--out {str(out)[:120]!r}...: {exc.strerror}. Fix: choose a shorter path.") from None
    if not probe.is_dir():
        raise KzCausalError(f"--out {str(out)!r}: {str(probe)!r} is a file, so the folder cannot be created. Fix: "
                            "choose a folder that is not under a file.")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise KzCausalError(f"--out {str(out)!r}: no permission to write in {str(probe)!r}. "
                            "Fix: choose another folder.")
    try:  # read-only file systems pass os.access for root; try it
        with tempfile.NamedTemporaryFile(dir=probe, prefix=".kzcausal-write-test-"):
            pass
    except OSError as exc:
        raise KzCausalError(f"--out {str(out)!r}: cannot write in {str(probe)!r} ({exc.strerror}). "
                            "Fix: choose another folder.") from None


def run() -> None:
    """The ``kzcausal`` console script: the command, then an exit without the interpreter's teardown.

    A finished report process spent 1.5-2 s in Python's own shutdown (clearing some 3,600 modules and
    numba's compiled functions) after its last line was printed. Nothing a finished command needs
    happens there: its files are written and closed, and the exit handlers (logging, PyTensor's cache,
    temporary folders) still run here. Where a thread of the command is still running, or this Python
    has no ``atexit._run_exitfuncs``, the exit is the ordinary one.
    """
    import atexit
    import os
    import sys
    import threading

    try:
        app()
        code = 0
    except SystemExit as exc:
        code = exc.code
    others = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon and t.is_alive()]
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if others or run_exit_handlers is None:
        raise SystemExit(code)
    if code is None:
        code = 0
    elif not isinstance(code, int):             # as Python does with sys.exit("message")
        print(code, file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    run_exit_handlers()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
