"""Checkpoints: safetensors weights + JSON metadata, written atomically, verified on load.

A checkpoint is named by its path without suffix (`runs/x/best`) and consists of
    best.safetensors        model weights (never pickled)
    best.json               metadata: step, epoch, metrics, configs, tokenizer, sha256 of each file
    best.state.safetensors  (only `last`) optimizer, EMA and RNG tensors for an exact resume

Every file is written to a temporary name, fsynced and renamed. The previous version of each
file is kept as a hard link (`*.prev`) until the new set is complete, so a kill at any moment
leaves a consistent checkpoint: the loader takes the first (metadata, files) combination
whose sha256 values match.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from cognate.atomic import rust_os_error, temp_path
from cognate.config import ModelConfig
from cognate.errors import CognateError
from cognate.model import CognateModel

FORMAT = "cognate-checkpoint"
FORMAT_VERSION = 1
FILE_KINDS = {"weights": ".safetensors", "state": ".state.safetensors"}
META_SUFFIX = ".json"
# Runtime state that older checkpoints (the seed's) saved by mistake; dropped on load.
LEGACY_RUNTIME_KEYS = ("memory_state",)


class CheckpointError(CognateError):
    """A checkpoint that is missing, corrupt, tampered with or does not fit the model."""


@dataclass
class Checkpoint:
    stem: Path
    metadata: dict[str, Any]
    weights: dict[str, torch.Tensor]
    state: dict[str, torch.Tensor] | None

    @property
    def model_config(self) -> ModelConfig:
        try:
            return ModelConfig.from_dict(self.metadata["model_config"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{_meta_path(self.stem)}: bad model_config ({exc})") from None


def checkpoint_stem(path: str | Path) -> Path:
    """Accept `runs/x/best`, `runs/x/best.json` or `runs/x/best.safetensors`."""
    path = Path(path)
    for suffix in (FILE_KINDS["state"], FILE_KINDS["weights"], META_SUFFIX):
        if path.name.endswith(suffix):
            return path.with_name(path.name[: -len(suffix)])
    return path


def _meta_path(stem: Path) -> Path:
    return stem.with_name(stem.name + META_SUFFIX)


def _file_path(stem: Path, kind: str) -> Path:
    return stem.with_name(stem.name + FILE_KINDS[kind])


def _files_of(stem: Path) -> list[Path]:
    """The files a checkpoint may have: metadata, weights, state."""
    return [_meta_path(stem), *(_file_path(stem, kind) for kind in FILE_KINDS)]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_synced(path: Path, write: Any) -> None:
    write(path)
    with path.open("rb+") as f:
        os.fsync(f.fileno())


def _save_tensors(tensors: dict[str, torch.Tensor], path: Path) -> None:
    """safetensors' save_file, whose I/O errors (a full disk) become the OSError they are."""
    try:
        save_file(tensors, str(path))
    except SafetensorError as error:
        os_error = rust_os_error(error, path)
        if os_error is None:
            raise
        raise os_error from error


def save_checkpoint(
    stem: str | Path,
    weights: dict[str, torch.Tensor],
    metadata: dict[str, Any],
    state: dict[str, torch.Tensor] | None = None,
) -> None:
    """Write weights (+ optional resume state) and metadata atomically as one set.

    A save that fails (a full disk, say) removes its temporaries and raises: the previous
    version of the checkpoint stays loadable."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    try:
        _save_files(stem, weights, metadata, state)
    except BaseException:
        for final in _files_of(stem):
            for path in (final, final.with_name(final.name + ".prev")):
                with contextlib.suppress(OSError):  # a read-only disk refuses this too
                    temp_path(path).unlink(missing_ok=True)
        raise


def _save_files(
    stem: Path,
    weights: dict[str, torch.Tensor],
    metadata: dict[str, Any],
    state: dict[str, torch.Tensor] | None,
) -> None:
    payloads = {"weights": weights, "state": state}
    files: dict[str, dict[str, str]] = {}
    pending: list[tuple[Path, Path]] = []  # (temporary, final)
    for kind, tensors in payloads.items():
        if tensors is None:
            continue
        final = _file_path(stem, kind)
        tmp = temp_path(final)
        contiguous = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
        _write_synced(tmp, lambda p, t=contiguous: _save_tensors(t, p))
        files[kind] = {"file": final.name, "sha256": sha256_of(tmp)}
        pending.append((tmp, final))
    meta = {**metadata, "format": FORMAT, "format_version": FORMAT_VERSION, "files": files}
    meta_final = _meta_path(stem)
    meta_tmp = temp_path(meta_final)
    _write_synced(meta_tmp, lambda p: p.write_text(json.dumps(meta, indent=2, default=str)))
    pending.append((meta_tmp, meta_final))  # the metadata goes last: it commits the set

    backups = []
    for _, final in pending:
        if final.exists():
            backup = final.with_name(final.name + ".prev")
            link_tmp = temp_path(backup)
            link_tmp.unlink(missing_ok=True)
            os.link(final, link_tmp)
            os.replace(link_tmp, backup)
            backups.append(backup)
    for tmp, final in pending:
        os.replace(tmp, final)
    _fsync_dir(stem.parent)
    for backup in backups:
        backup.unlink(missing_ok=True)
    stale_state = _file_path(stem, "state")
    if state is None and stale_state.exists():
        stale_state.unlink()


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None


def checkpoints_in(directory: Path) -> list[Path]:
    """The stems of the Cognate checkpoints in `directory`, found by their metadata files."""
    metadata = directory.glob(f"*{META_SUFFIX}")
    return sorted(path.with_suffix("") for path in metadata if _read_json(path) is not None)


def delete_checkpoint(stem: Path) -> None:
    """Remove every file of a checkpoint (current and previous versions)."""
    for final in _files_of(stem):
        final.unlink(missing_ok=True)
        final.with_name(final.name + ".prev").unlink(missing_ok=True)


def _consistent_files(stem: Path, meta: dict[str, Any]) -> dict[str, Path] | None:
    """For each file the metadata lists, the current or previous copy whose sha256 matches."""
    found = {}
    for kind, entry in meta.get("files", {}).items():
        final = stem.with_name(entry["file"])
        for candidate in (final, final.with_name(final.name + ".prev")):
            if candidate.exists() and sha256_of(candidate) == entry["sha256"]:
                found[kind] = candidate
                break
        else:
            return None
    return found


def read_metadata(stem: str | Path) -> tuple[dict[str, Any], dict[str, Path]]:
    """The newest consistent (metadata, files) of a checkpoint, or a one-line CheckpointError."""
    stem = checkpoint_stem(stem)
    meta_path = _meta_path(stem)
    if not meta_path.exists() and not _file_path(stem, "weights").exists():
        raise CheckpointError(
            f"{stem}: no checkpoint here (expected {meta_path.name} and "
            f"{_file_path(stem, 'weights').name}); name a checkpoint by its path without suffix, "
            "e.g. runs/demo/reasoning/best"
        )
    if not meta_path.exists():
        raise CheckpointError(f"{meta_path}: metadata file is missing")
    candidates = [meta_path, meta_path.with_name(meta_path.name + ".prev")]
    saw_metadata = False
    for candidate in candidates:
        meta = _read_json(candidate) if candidate.exists() else None
        if meta is None:
            continue
        saw_metadata = True
        files = _consistent_files(stem, meta)
        if files is not None:
            if candidate != meta_path:
                warnings.warn(
                    f"{stem}: recovered the previous version (a save was interrupted)",
                    stacklevel=2,
                )
            return meta, files
    if not saw_metadata:
        raise CheckpointError(f"{meta_path}: not a Cognate checkpoint metadata file")
    weights = _file_path(stem, "weights")
    if not weights.exists():
        raise CheckpointError(f"{weights}: weights file is missing")
    raise CheckpointError(
        f"{weights}: sha256 does not match {meta_path.name} (file truncated, corrupted or "
        "modified); restore it or use another checkpoint"
    )


def _load_tensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: cannot read safetensors file ({exc})") from None


def load_checkpoint(stem: str | Path, with_state: bool = False) -> Checkpoint:
    """Read and verify a checkpoint. Weights are never unpickled (safetensors only)."""
    stem = checkpoint_stem(stem)
    meta, files = read_metadata(stem)
    weights = _load_tensors(files["weights"])
    state = None
    if with_state:
        if "state" not in files:
            raise CheckpointError(
                f"{stem}: holds no optimizer/resume state; only `last` checkpoints can be resumed"
            )
        state = _load_tensors(files["state"])
    return Checkpoint(stem, meta, weights, state)


def fit_weights(
    weights: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], source: Path
) -> dict[str, torch.Tensor]:
    """Check weights against a model's state_dict; drop legacy runtime state with a warning."""
    weights = dict(weights)
    for key in [k for k in weights if k not in expected]:
        if key.rsplit(".", 1)[-1] in LEGACY_RUNTIME_KEYS:
            warnings.warn(
                f"{source}: dropped runtime state {key} {tuple(weights[key].shape)} "
                "(per-sequence memory is not part of a model)",
                stacklevel=2,
            )
            del weights[key]
    unexpected = sorted(set(weights) - set(expected))
    if unexpected:
        raise CheckpointError(f"{source}: unexpected key {unexpected[0]} (not in the model)")
    missing = sorted(set(expected) - set(weights))
    if missing:
        raise CheckpointError(f"{source}: missing key {missing[0]}")
    for key, tensor in expected.items():
        if tuple(weights[key].shape) != tuple(tensor.shape):
            raise CheckpointError(
                f"{source}: key {key} has shape {tuple(weights[key].shape)}, "
                f"the model expects {tuple(tensor.shape)}"
            )
    return weights


def flatten_state(obj: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Split a nested structure into JSON (returned) and tensors (added to `tensors`)."""
    if isinstance(obj, torch.Tensor):
        tensors[prefix] = obj
        return {"__tensor__": prefix}
    if isinstance(obj, dict):
        return {
            "__dict__": [
                [
                    flatten_state(k, f"{prefix}.k{i}", tensors),
                    flatten_state(v, f"{prefix}.{i}", tensors),
                ]
                for i, (k, v) in enumerate(obj.items())
            ]
        }
    if isinstance(obj, tuple):
        return {
            "__tuple__": [flatten_state(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
        }
    if isinstance(obj, list):
        return [flatten_state(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
    return obj


def unflatten_state(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of flatten_state."""
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__tuple__" in obj:
            return tuple(unflatten_state(v, tensors) for v in obj["__tuple__"])
        if "__dict__" in obj:
            return {
                unflatten_state(k, tensors): unflatten_state(v, tensors) for k, v in obj["__dict__"]
            }
    if isinstance(obj, list):
        return [unflatten_state(v, tensors) for v in obj]
    return obj


def model_from_checkpoint(checkpoint: Checkpoint) -> CognateModel:
    """Build the model the checkpoint describes and load its weights (strict, shape-checked)."""
    model = CognateModel(checkpoint.model_config)
    weights = fit_weights(
        checkpoint.weights, model.state_dict(), _file_path(checkpoint.stem, "weights")
    )
    model.load_state_dict(weights)
    return model
