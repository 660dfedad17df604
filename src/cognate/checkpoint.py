"""Checkpoints: safetensors weights + JSON metadata, written atomically, verified on load.

A checkpoint is named by its path without suffix (`runs/x/best`) and consists of
    best.safetensors        model weights (never pickled)
    best.json               metadata: step, epoch, metrics, configs, the tokenizer file and its
                            sha256, the sha256 of each file below
    best.state.safetensors  (only `last`) optimizer, EMA and RNG tensors for an exact resume

The weights file also holds, in its header, the metadata as it was saved (all but `files`):
loading refuses a metadata file edited since, naming the fields that differ. Checkpoints saved
before this (and before the tokenizer's sha256 was recorded) load without these two checks.

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
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from cognate.atomic import rust_os_error, temp_path
from cognate.config import ModelConfig
from cognate.data.tokenizer import TOKENIZER_FILE
from cognate.errors import CognateError
from cognate.model import CognateModel

FORMAT = "cognate-checkpoint"
FORMAT_VERSION = 1
FILE_KINDS = {"weights": ".safetensors", "state": ".state.safetensors"}
META_SUFFIX = ".json"
# The weights file's header key for the metadata as saved (canonical JSON, without `files`).
SEALED_METADATA = "cognate.metadata"
DAMAGED = "restore it or use another checkpoint"  # the fix for a damaged file
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
        config = self.metadata.get("model_config")
        if not isinstance(config, dict):
            raise CheckpointError(f"{_meta_path(self.stem)}: key model_config is missing")
        try:
            return ModelConfig.from_dict(config)
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"{_meta_path(self.stem)}: bad model_config ({exc})") from None

    @property
    def tokenizer_path(self) -> Path:
        """The tokenizer file beside the checkpoint, checked to be the one it was saved with."""
        meta_path = _meta_path(self.stem)
        name = self.metadata.get("tokenizer_file", TOKENIZER_FILE)
        path = _beside(meta_path, "tokenizer_file", name)
        saved_with = self.metadata.get("tokenizer_sha256")
        if saved_with is not None and path.is_file() and sha256_of(path) != saved_with:
            raise CheckpointError(
                f"{path} is not the tokenizer {meta_path} was saved with (its sha256 differs: "
                f"another run's?); put back this run's own {name}"
            )
        return path


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


def _beside(meta_path: Path, key: str, name: Any) -> Path:
    """The file `name` that metadata key `key` names: a file name in the metadata's directory."""
    if not isinstance(name, str) or name in ("", ".", "..") or Path(name).name != name:
        raise CheckpointError(
            f"{meta_path}: {key} is {name!r}, not a file name: a checkpoint's files lie beside "
            f"its {META_SUFFIX} file"
        )
    return meta_path.with_name(name)


def _canonical(metadata: dict[str, Any]) -> str:
    """One JSON text for equal metadata, whether built in Python or read from its file."""
    as_saved = json.loads(json.dumps(metadata, default=str))
    return json.dumps(as_saved, sort_keys=True, separators=(",", ":"))


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


def _save_tensors(
    tensors: dict[str, torch.Tensor], path: Path, header: dict[str, str] | None
) -> None:
    """safetensors' save_file, whose I/O errors (a full disk) become the OSError they are."""
    try:
        save_file(tensors, str(path), metadata=header)
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
    if "tokenizer_file" in metadata:
        tokenizer = _beside(_meta_path(stem), "tokenizer_file", metadata["tokenizer_file"])
        metadata = {**metadata, "tokenizer_sha256": sha256_of(tokenizer)}
    metadata = {**metadata, "format": FORMAT, "format_version": FORMAT_VERSION}
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
    header = {SEALED_METADATA: _canonical(metadata)}
    payloads = {"weights": weights, "state": state}
    files: dict[str, dict[str, str]] = {}
    pending: list[tuple[Path, Path]] = []  # (temporary, final)
    for kind, tensors in payloads.items():
        if tensors is None:
            continue
        final = _file_path(stem, kind)
        tmp = temp_path(final)
        contiguous = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
        sealed = header if kind == "weights" else None
        _write_synced(tmp, lambda p, t=contiguous, h=sealed: _save_tensors(t, p, h))
        files[kind] = {"file": final.name, "sha256": sha256_of(tmp)}
        pending.append((tmp, final))
    meta = {**metadata, "files": files}
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


def _read_json(path: Path) -> dict[str, Any]:
    """The content of a checkpoint metadata file, or a one-line CheckpointError."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: cannot be read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg}); {DAMAGED}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a Cognate checkpoint metadata file")
    return data


def _listed_files(meta_path: Path, meta: dict[str, Any]) -> dict[str, tuple[Path, str]]:
    """The files the metadata lists, {kind: (path, sha256)}; a damaged entry is an error."""
    files = meta.get("files")
    if not isinstance(files, dict) or "weights" not in files:
        raise CheckpointError(f"{meta_path}: key files.weights is missing; {DAMAGED}")
    listed = {}
    for kind, entry in files.items():
        if kind not in FILE_KINDS:
            raise CheckpointError(f"{meta_path}: unknown key files.{kind}; {DAMAGED}")
        for key in ("file", "sha256"):
            if not isinstance(entry, dict) or not isinstance(entry.get(key), str):
                raise CheckpointError(
                    f"{meta_path}: key files.{kind}.{key} is missing or not a string; {DAMAGED}"
                )
        listed[kind] = (_beside(meta_path, f"files.{kind}.file", entry["file"]), entry["sha256"])
    return listed


def _consistent_files(meta_path: Path, listed: dict[str, tuple[Path, str]]) -> dict[str, Path]:
    """For each listed file, the current or previous copy whose sha256 matches."""
    found = {}
    for kind, (final, sha256) in listed.items():
        copies = [c for c in (final, final.with_name(final.name + ".prev")) if c.exists()]
        match = next((c for c in copies if sha256_of(c) == sha256), None)
        if match is None and not copies:
            raise CheckpointError(f"{final}: {kind} file is missing")
        if match is None:
            raise CheckpointError(
                f"{final}: sha256 does not match {meta_path.name} (file truncated, corrupted or "
                f"modified); {DAMAGED}"
            )
        found[kind] = match
    return found


def _brief(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _differences(saved: Any, current: Any, where: str = "") -> list[str]:
    """Where two JSON values differ: "a.b is 5, saved as 3", "a.c was added", ..."""
    if isinstance(saved, dict) and isinstance(current, dict):
        found = []
        for key in sorted(saved.keys() | current.keys()):
            path = f"{where}.{key}" if where else key
            if key not in current:
                found.append(f"{path} was removed")
            elif key not in saved:
                found.append(f"{path} was added")
            else:
                found += _differences(saved[key], current[key], path)
        return found
    if json.dumps(saved) == json.dumps(current):
        return []
    return [f"{where} is {_brief(current)}, saved as {_brief(saved)}"]


def _check_unedited(meta_path: Path, meta: dict[str, Any], weights: Path) -> None:
    """Refuse metadata that differs from the copy its weights file holds since it was saved."""
    try:
        with safe_open(str(weights), "pt") as f:
            sealed = (f.metadata() or {}).get(SEALED_METADATA)
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{weights}: cannot read safetensors file ({exc})") from None
    current = _canonical({key: value for key, value in meta.items() if key != "files"})
    if sealed is None or sealed == current:  # None: saved before checkpoints held the copy
        return
    changes = _differences(json.loads(sealed), json.loads(current))
    shown = "; ".join(changes[:3]) + ("; ..." if len(changes) > 3 else "")
    raise CheckpointError(
        f"{meta_path}: edited after saving ({shown}); {weights.name} holds the values it was "
        "saved with: put them back or use another checkpoint"
    )


def _verified(meta_path: Path) -> tuple[dict[str, Any], dict[str, Path]]:
    meta = _read_json(meta_path)
    files = _consistent_files(meta_path, _listed_files(meta_path, meta))
    _check_unedited(meta_path, meta, files["weights"])
    return meta, files


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
    try:
        return _verified(meta_path)
    except CheckpointError as problem:
        previous = meta_path.with_name(meta_path.name + ".prev")
        if not previous.exists():
            raise
        try:
            verified = _verified(previous)
        except CheckpointError:
            raise problem from None
    warnings.warn(f"{stem}: recovered the previous version (a save was interrupted)", stacklevel=2)
    return verified


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


def checkpoints_in(directory: Path) -> list[Path]:
    """The stems of the Cognate checkpoints in `directory`, found by their metadata files."""
    stems = []
    for path in sorted(directory.glob(f"*{META_SUFFIX}")):
        with contextlib.suppress(CheckpointError):
            _read_json(path)
            stems.append(path.with_suffix(""))
    return stems


def delete_checkpoint(stem: Path) -> None:
    """Remove every file of a checkpoint (current and previous versions)."""
    for final in _files_of(stem):
        final.unlink(missing_ok=True)
        final.with_name(final.name + ".prev").unlink(missing_ok=True)
