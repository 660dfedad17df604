"""The `cognate` command line. Every command is a thin layer over the Python API."""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cognate.checkpoint import load_checkpoint, model_from_checkpoint
from cognate.config import PRESETS, SPECIALIZATIONS, TrainConfig, model_config
from cognate.errors import CognateError
from cognate.infer.sampling import Sampling
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
DEFAULT_SAMPLING = Sampling()  # generate and chat default to its settings
PRESET_NAMES = ", ".join(PRESETS)


def _per_specialization(field: str) -> str:
    """`--help`'s default for an option that falls back to the specialization's value."""
    values = ", ".join(f"{name} {getattr(s, field):g}" for name, s in SPECIALIZATIONS.items())
    return f"the specialization's: {values}"


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


@app.command()
def train(
    out: Annotated[Path, typer.Option(help="Run directory (checkpoints, tokenizer, metrics).")],
    spec: Annotated[str, typer.Option(help=f"Specialization: {SPEC_NAMES}.")] = "reasoning",
    preset: Annotated[str, typer.Option(help=f"Model size: {PRESET_NAMES}.")] = "tiny",
    minutes: Annotated[
        float | None, typer.Option(help="Wall-clock budget (default 10 if no budget is given).")
    ] = None,
    steps: Annotated[int | None, typer.Option(help="Optimizer-step budget.")] = None,
    epochs: Annotated[float | None, typer.Option(help="Epoch budget.")] = None,
    save_every: Annotated[
        int | None,
        typer.Option(
            help="Steps between `last` checkpoints.", show_default=str(TrainConfig.save_every)
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Continue OUT/last exactly where it stopped.")
    ] = False,
    optimizer: Annotated[
        str | None,
        typer.Option(
            help="adamw, mugrokfast or muon (MuGrokfast without its Grokfast filter).",
            show_default=str(TrainConfig.optimizer),
        ),
    ] = None,
    precision: Annotated[
        str, typer.Option(help="auto (bf16 where the hardware has fast bf16), fp32 or bf16.")
    ] = "auto",
    data: Annotated[
        Path | None,
        typer.Option(help="Your data: JSONL {prompt,answer}|{text}, text, Parquet or Arrow."),
    ] = None,
    tokenizer: Annotated[
        str, typer.Option(help="bpe (trained on the training data) or gpt2:PATH (local files).")
    ] = "bpe",
    seed: Annotated[int | None, typer.Option(help="Default: the specialization's seed.")] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            help="Rows per step, all processes together (each takes 1/N).",
            show_default=_per_specialization("batch_size"),
        ),
    ] = None,
    lr: Annotated[
        float | None,
        typer.Option(
            help="Peak learning rate.",
            show_default=_per_specialization("lr"),
        ),
    ] = None,
    eval_every: Annotated[int | None, typer.Option(help="Steps between validations.")] = None,
    device: Annotated[
        str, typer.Option(help="auto (CUDA when present, then MPS, else CPU), cpu, cuda or mps.")
    ] = "auto",
    t_max: Annotated[
        int | None,
        typer.Option(help="Recursion steps (T_max); 1 turns the recursion off, for ablations."),
    ] = None,
    d_mem: Annotated[
        int | None,
        typer.Option(
            help="Width of the long-term memory; 0 turns it off, for ablations.",
            show_default="the specialization's",
        ),
    ] = None,
    compile_model: Annotated[
        bool,
        typer.Option(
            "--compile",
            help="torch.compile the training model: the first steps compile (counted in "
            "--minutes); needs a C++ compiler. What it gains: benchmarks/results/train_speed.md.",
        ),
    ] = False,
    wandb: Annotated[
        bool, typer.Option(help="Log to Weights & Biases (offline by default).")
    ] = False,
    tensorboard: Annotated[bool, typer.Option(help="Write TensorBoard events.")] = False,
) -> None:
    """Train one specialized model; validates as it goes and keeps epoch_N/best/last/final.

    `torchrun --nproc_per_node N -m cognate train ...` trains with N processes (DDP).
    """
    from cognate.config import TrainConfig
    from cognate.train.options import TrainOptions
    from cognate.train.trainer import train as run_training

    overrides = {
        "batch_size": batch_size,
        "lr": lr,
        "eval_every": eval_every,
        "optimizer": optimizer,
        "save_every": save_every,
    }
    config = TrainConfig(
        precision=precision, **{k: v for k, v in overrides.items() if v is not None}
    )
    options = TrainOptions(
        out=out,
        spec=spec,
        preset=preset,
        minutes=minutes,
        steps=steps,
        epochs=epochs,
        resume=resume,
        data=data,
        tokenizer=tokenizer,
        seed=seed,
        wandb=wandb,
        tensorboard=tensorboard,
        device=device,
        compile=compile_model,
        config=config,
        model_overrides={
            name: value
            for name, value in {"t_max": t_max, "d_mem": d_mem}.items()
            if value is not None
        },
    )
    meta = run_training(options)
    if os.environ.get("RANK", "0") == "0":  # torchrun's other ranks stay quiet
        best = meta.get("best") or {}
        console.print(
            f"done: {meta['step']} steps in {meta['train_seconds']:.0f} s; best exact-match "
            f"{best.get('exact_match', 0):.1%} (val loss {best.get('val_loss', float('nan')):.3f})"
            f" at step {best.get('step')}; checkpoints in {out}"
        )


@app.command()
def test(
    checkpoint: Annotated[str, typer.Argument(help="Checkpoint path without suffix.")],
    suite: Annotated[
        str,
        typer.Option(
            help="seed (the report's 3 prompts), heldout (the model's test split), open "
            "(stories and word problems of words never trained on), chat (test-split questions "
            "asked inside multi-turn chats, and fresh) or all."
        ),
    ] = "all",
    prompts: Annotated[
        Path | None, typer.Option(help='Score a JSONL of {"prompt", "answer"} instead.')
    ] = None,
    spec: Annotated[
        str | None, typer.Option(help="Suite of this specialization (default: the model's).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Score greedy answers by exact match: Prompt / Expected / Actual, then the rate."""
    from cognate.evaluate.suites import (
        chat_scores,
        exact_match,
        plays_chat,
        read_prompts_file,
        run_items,
        suite_items,
    )
    from cognate.infer.bundle import load

    bundle = load(checkpoint)
    spec = spec or bundle.metadata.get("run", {}).get("spec", "reasoning")
    items = read_prompts_file(prompts) if prompts is not None else suite_items(spec, suite)
    results = run_items(bundle.model, bundle.tokenizer, items)
    chat = chat_scores(bundle, spec) if prompts is None and plays_chat(suite) else None
    if chat is not None:
        results += chat.in_chat
    rate = exact_match(results)
    if as_json:
        payload = {
            "checkpoint": str(bundle.path),
            "results": [
                {
                    k: r.as_dict()[k]
                    for k in ("prompt", "expected", "output", "correct", "act_steps")
                }
                for r in results
            ],
            "exact_match": rate,
        }
        if chat is not None:
            payload["chat"] = {
                "questions": len(chat.in_chat),
                "in_chat_exact_match": exact_match(chat.in_chat),
                "fresh_exact_match": exact_match(chat.fresh),
            }
        print(json.dumps(payload))
        return
    for r in results:
        mark = "[green]correct[/]" if r.correct else "[red]wrong[/]"
        for label, text in (("Prompt", r.prompt), ("Expected", r.expected), ("Actual", r.output)):
            console.print(
                f"{label + ':':<9} {text.strip()}", highlight=False, markup=False, soft_wrap=True
            )
        steps = f"          {mark}  (ACT steps per token: {r.act_steps})\n"
        console.print(steps, highlight=False, soft_wrap=True)
    console.print(f"exact match: {sum(r.correct for r in results)}/{len(results)} = {rate:.1%}")
    if chat is not None:
        console.print(
            f"chat: {len(chat.in_chat)} questions inside transcripts "
            f"{exact_match(chat.in_chat):.1%} vs the same questions fresh "
            f"{exact_match(chat.fresh):.1%}"
        )


TemperatureOption = Annotated[float, typer.Option(help="Sampling temperature; 0 = greedy.")]
QuantizeOption = Annotated[
    str | None,
    typer.Option(
        help="int8 or int4: decode with quantized copies of the weights, faster and "
        "approximate (int4: fastest, least exact)."
    ),
]


@app.command()
def generate(
    checkpoint: Annotated[str, typer.Argument(help="Checkpoint path without suffix.")],
    prompt: Annotated[str, typer.Argument(help="Text to continue.")],
    max_new_tokens: Annotated[
        int, typer.Option(help="Tokens to add at most.")
    ] = DEFAULT_SAMPLING.max_new_tokens,
    temperature: TemperatureOption = DEFAULT_SAMPLING.temperature,
    top_k: Annotated[int | None, typer.Option(help="Sample from the k likeliest tokens.")] = None,
    top_p: Annotated[float | None, typer.Option(help="Nucleus sampling mass.")] = None,
    repetition_penalty: Annotated[
        float, typer.Option(help=">1 discourages repeats.")
    ] = DEFAULT_SAMPLING.repetition_penalty,
    greedy: Annotated[bool, typer.Option(help="Always take the likeliest token.")] = False,
    seed: Annotated[int | None, typer.Option(help="Seed for reproducible sampling.")] = None,
    stop: Annotated[
        list[str] | None, typer.Option(help="Stop at this string (repeatable).")
    ] = None,
    stream: Annotated[bool, typer.Option(help="Print tokens as they are produced.")] = False,
    quantize: QuantizeOption = None,
) -> None:
    """Continue PROMPT with the model (KV cache, per-token ACT halting)."""
    from cognate.infer.bundle import load

    bundle = load(checkpoint, quantize=quantize)
    options = dict(
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        repetition_penalty=repetition_penalty,
        greedy=greedy,
        seed=seed,
        stop=tuple(stop or ()),
    )
    if stream:
        for piece in bundle.stream(prompt, **options):
            print(piece, end="", flush=True)
        print()
        return
    print(bundle.generate(prompt, **options))


def _input_lines(prompt: str | None) -> Iterator[str]:
    """Lines of standard input until its end; with a prompt (on a terminal) through input()."""
    if prompt is None:
        yield from sys.stdin
        return
    while True:
        try:
            yield input(prompt)
        except EOFError:
            print()
            return


@app.command()
def chat(
    checkpoint: Annotated[str, typer.Argument(help="Checkpoint path without suffix.")],
    temperature: TemperatureOption = DEFAULT_SAMPLING.temperature,
    max_new_tokens: Annotated[
        int, typer.Option(help="Answer length limit in tokens.")
    ] = DEFAULT_SAMPLING.max_new_tokens,
    seed: Annotated[int | None, typer.Option(help="Seed for reproducible sampling.")] = None,
    quantize: QuantizeOption = None,
) -> None:
    """Ask questions; statements ending in "." become context. Commands: /reset, /temp T, /quit.

    Lines that do not end in "A:" are asked as "Q: LINE A:". When standard input is not a
    terminal, every line is read and answered until the end of the input.
    """
    from cognate.infer.bundle import load
    from cognate.infer.chat import COMMANDS, ChatSession

    bundle = load(checkpoint, quantize=quantize)
    sampling = bundle.sampling(temperature=temperature, max_new_tokens=max_new_tokens, seed=seed)
    session = ChatSession(bundle, sampling)
    interactive = sys.stdin.isatty()
    if interactive:
        console.print(f"Chatting with {checkpoint}. Commands: {COMMANDS}.", highlight=False)
    for line in _input_lines("> " if interactive else None):
        try:
            reply = session.send(line)
        except CognateError as exc:
            err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
            continue
        if session.finished:
            break
        if reply is not None:
            print(reply, flush=True)


@app.command()
def report(
    run_dirs: Annotated[list[Path], typer.Argument(help="Run directories to test and report.")],
    out: Annotated[
        Path | None, typer.Option(help="Report file (default RUN_DIR/REPORT.md).")
    ] = None,
) -> None:
    """Test each run's best checkpoint and write the Markdown testing report (+ PNG figures)."""
    from cognate.evaluate.report import write_report

    target = out or run_dirs[0] / "REPORT.md"
    console.print(f"report written to {write_report(run_dirs, target)}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Directory for the three runs and REPORT.md.")] = Path(
        "runs/demo"
    ),
    minutes: Annotated[
        float,
        typer.Option(
            help="Total budget: training of all three models plus testing. Training minutes "
            "are split by the specializations' demo shares: memory and speed get more (they "
            "need the steps more)."
        ),
    ] = 30.0,
    ablation: Annotated[
        bool,
        typer.Option(
            help="Also train the memory model with the recursion off (T_max 1, "
            "DIR/memory-t1) and without its long-term memory (DIR/memory-noltm), each with "
            "memory's training minutes (on top of --minutes), for the report's ablation."
        ),
    ] = False,
    processes: Annotated[
        int | None,
        typer.Option(
            help="Train each model with this many processes (torchrun, DDP).",
            show_default="2 on 2+ cores",
        ),
    ] = None,
) -> None:
    """The main job: train the reasoning, memory and speed models on CPU, test, write REPORT.md."""
    from cognate.train.demo import DEFAULT_PROCESSES, run_demo

    processes = DEFAULT_PROCESSES if processes is None else processes
    path = run_demo(out, minutes, console, processes, ablation)
    console.print(f"\nreport: {path}")


@app.command()
def serve(
    run_dirs: Annotated[
        list[Path],
        typer.Argument(help="Run directories, or a directory of runs such as runs/demo."),
    ],
    host: Annotated[
        str, typer.Option(help="Address to listen on; 0.0.0.0 opens the server to the network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    quantize: QuantizeOption = None,
) -> None:
    """Serve each run's best checkpoint: an OpenAI-compatible API at /v1 and a page at /.

    The API: /v1/models, /v1/completions and /v1/chat/completions (streaming, stop strings,
    seeds; concurrent requests are decoded together). The page: a card per model, its training
    curves (live while a run trains), a chat and a test panel.
    """
    from cognate.serve.app import Server, bound_socket, web_server
    from cognate.serve.runs import find_run_dirs

    server = Server(find_run_dirs(run_dirs), quantize)
    server.load()
    sock = bound_socket(host, port)
    url = f"http://{host}:{sock.getsockname()[1]}"
    console.print(
        f"serving {', '.join(server.runs)}: page {url}/ , OpenAI API {url}/v1 (Ctrl-C stops)",
        highlight=False,
        soft_wrap=True,
    )
    web_server(server).run(sockets=[sock])


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    err_console.print(f"warning: {message}", markup=False, highlight=False, soft_wrap=True)


def main() -> None:
    """Entry point: a CognateError becomes one line on stderr and exit status 1; a training
    stopped by a signal says where it saved, with the signal's exit status (130, 143).

    Under torchrun only rank 0 prints: the ranks mostly fail alike, and torchrun's summary
    shows every failing rank's line. (Ctrl-C outside training ends with typer's status 130:
    typer catches KeyboardInterrupt.)
    """
    from cognate.train.stopping import Interrupted

    warnings.showwarning = _show_warning
    try:
        app()
    except CognateError as exc:
        if os.environ.get("RANK", "0") == "0":
            err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(1)
    except Interrupted as stop:
        if os.environ.get("RANK", "0") == "0":  # torchrun's other ranks stay quiet
            err_console.print(str(stop), markup=False, highlight=False, soft_wrap=True)
        sys.exit(stop.exit_code)
