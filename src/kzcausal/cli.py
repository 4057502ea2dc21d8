"""Command line: ``kzcausal data`` (a thin layer over the API)."""

from __future__ import annotations

import typer

from .errors import KzCausalError

app = typer.Typer(help="kzcausal: causal and Bayesian analysis of regional panel data.",
                  no_args_is_help=True, add_completion=False)


@app.callback()
def main() -> None:
    """kzcausal command line."""


@app.command()
def data(
    boundaries: int = typer.Option(2021, help="Region boundaries of this year (2021: the papers' 17 regions)."),
) -> None:
    """Print a summary of the bundled real Kazakhstan panel: regions, years, variables, sources."""
    from .datasets import load_kazakhstan

    try:
        panel = load_kazakhstan(boundaries=boundaries)
    except KzCausalError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(panel.summary())


if __name__ == "__main__":  # pragma: no cover
    app()
