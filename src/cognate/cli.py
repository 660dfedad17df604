"""The `cognate` command line. Every command is a thin layer over the Python API."""

from __future__ import annotations

import json
import sys
import warnings
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cognate.checkpoint import load_checkpoint, model_from_checkpoint
from cognate.config import PRESETS, SPECIALIZATIONS, model_config
from cognate.errors import CognateError
from cognate.model import CognateModel

app = typer.Typer(
    help=(
        "Train, checkpoint, load, test and report on small recursive-memory language models "
        "(TRM x Titans-MAG with ACT halting). A checkpoint CKPT is named by its path without "
        "suffix, e.g. runs/demo/reasoning/best."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
console = Console()
err_console = Console(stderr=True)

SPEC_NAMES = ", ".join(SPECIALIZATIONS)
PRESET_NAMES = ", ".join(PRESETS)


@app.callback()
def _root() -> None:
    """Commands: train, test, generate, chat, inspect, report, demo."""


def _print_parameters(model: CognateModel, title: str) -> None:
    table = Table(title=title)
    table.add_column("component")
    table.add_column("parameters", justify="right")
    for name, count in model.parameter_counts().items():
        table.add_row(name, f"{count:,}")
    console.print(table)


@app.command()
def inspect(
    checkpoint: Annotated[
        str | None, typer.Argument(help="Checkpoint path without suffix (omit with --preset).")
    ] = None,
    preset: Annotated[
        str | None, typer.Option(help=f"Describe a preset instead: {PRESET_NAMES}.")
    ] = None,
    spec: Annotated[
        str | None, typer.Option(help=f"With --preset: apply a specialization ({SPEC_NAMES}).")
    ] = None,
) -> None:
    """Print parameters per component (and, for a checkpoint, its metadata)."""
    if (checkpoint is None) == (preset is None):
        raise CognateError("inspect: give either a checkpoint path or --preset NAME, not both")
    if preset is not None:
        import torch

        config = model_config(preset, spec)
        with torch.device("meta"):
            model = CognateModel(config)
        _print_parameters(model, f"preset {preset}" + (f", spec {spec}" if spec else ""))
        console.print(config)
        return
    ckpt = load_checkpoint(checkpoint)
    model = model_from_checkpoint(ckpt)
    _print_parameters(model, f"checkpoint {ckpt.stem}")
    shown = {k: v for k, v in ckpt.metadata.items() if k not in ("model_config", "train_config")}
    console.print_json(json.dumps(shown, default=str))
    console.print(ckpt.model_config)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    err_console.print(f"warning: {message}", highlight=False)


def main() -> None:
    """Entry point: a CognateError becomes one line on stderr and exit status 1."""
    warnings.showwarning = _show_warning
    try:
        app()
    except CognateError as exc:
        err_console.print(f"error: {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("interrupted", highlight=False)
        sys.exit(130)
