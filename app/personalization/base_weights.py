"""The chat model's GGUF as weights PyTorch can train on, converted once and cached.

No PyPI package ships a small chat model's weights for PyTorch, but the GGUF the user chats
with holds them (quantized). transformers can load a GGUF directly, but it dequantizes every
tensor into one dictionary before building the model: on Qwen2.5 0.5B that load alone peaked
at 3.7 GB and took 38 s (measured by ``bench/personalize.py --memory``). Here the file is
dequantized one tensor at a time and streamed into a safetensors file in the cache (peak: one
tensor), keyed by the GGUF's sha256; every later training run maps that file instead.

The names follow llama.cpp's own mapping (``blk.N.attn_q`` = ``model.layers.N.self_attn.q_proj``)
and, for llama-family models, the rows of q/k are put back in the order PyTorch expects
(llama.cpp permutes them at conversion; see :func:`unpermute_qk`).
"""

from __future__ import annotations

import json
import os
import re
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.engines.torchvision_compat import import_torchvision
from app.fsutil import atomic_write_text

FORMAT_VERSION = 1
"""Bumped when the cached file's layout changes (old caches are then converted again)."""

_BLOCK_NAMES = {
    "attn_norm.weight": "input_layernorm.weight",
    "ffn_norm.weight": "post_attention_layernorm.weight",
    "attn_q.weight": "self_attn.q_proj.weight",
    "attn_q.bias": "self_attn.q_proj.bias",
    "attn_k.weight": "self_attn.k_proj.weight",
    "attn_k.bias": "self_attn.k_proj.bias",
    "attn_v.weight": "self_attn.v_proj.weight",
    "attn_v.bias": "self_attn.v_proj.bias",
    "attn_output.weight": "self_attn.o_proj.weight",
    "ffn_gate.weight": "mlp.gate_proj.weight",
    "ffn_up.weight": "mlp.up_proj.weight",
    "ffn_down.weight": "mlp.down_proj.weight",
}
_TOP_NAMES = {
    "token_embd.weight": "model.embed_tokens.weight",
    "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
}
ROWS_PER_BLOCK = 4096
"""Rows dequantized at once (bounds the conversion's memory)."""
_BLOCK = re.compile(r"^blk\.(\d+)\.(.+)$")

SUPPORTED = ("llama", "qwen2")
"""The architectures Hearth can personalize (SmolLM2 is llama; Qwen2.5 is qwen2)."""


def torch_name(gguf_name: str) -> str | None:
    """llama.cpp's tensor name -> the transformers parameter name (None: not a weight we use)."""
    if gguf_name in _TOP_NAMES:
        return _TOP_NAMES[gguf_name]
    match = _BLOCK.match(gguf_name)
    if match and match.group(2) in _BLOCK_NAMES:
        return f"model.layers.{match.group(1)}.{_BLOCK_NAMES[match.group(2)]}"
    return None


def gguf_name(torch_param: str) -> str | None:
    """The inverse of :func:`torch_name`, for a ``...proj.weight`` parameter name."""
    for gguf, torch in _TOP_NAMES.items():
        if torch_param == torch:
            return gguf
    match = re.match(r"^model\.layers\.(\d+)\.(.+)$", torch_param)
    if match:
        for gguf, torch in _BLOCK_NAMES.items():
            if torch == match.group(2):
                return f"blk.{match.group(1)}.{gguf}"
    return None


def unpermute_qk(rows: Any, n_head: int) -> Any:
    """Undo llama.cpp's row permutation of a llama-family q/k projection (numpy or torch).

    At conversion llama.cpp reorders each head's rows from the "rotate half" layout to
    interleaved pairs; ``rows`` is the first dimension (out features) of q or k, or of a LoRA
    B matrix for them. :func:`permute_qk` is the inverse.
    """
    half = rows.shape[0] // n_head // 2
    shaped = rows.reshape(n_head, half, 2, *rows.shape[1:])
    return shaped.swapaxes(1, 2).reshape(rows.shape)


def permute_qk(rows: Any, n_head: int) -> Any:
    """Apply llama.cpp's q/k row permutation (as its convert script does)."""
    half = rows.shape[0] // n_head // 2
    shaped = rows.reshape(n_head, 2, half, *rows.shape[1:])
    return shaped.swapaxes(1, 2).reshape(rows.shape)


@dataclass(frozen=True)
class BaseWeights:
    """A converted base model: its transformers config and the safetensors file."""

    directory: Path
    config: dict[str, Any]
    sha256: str

    @property
    def weights(self) -> Path:
        return self.directory / "model.safetensors"

    @property
    def architecture(self) -> str:
        return str(self.config["model_type"])


def read_config(gguf_path: Path) -> dict[str, Any]:
    """The transformers config of a GGUF (metadata only; no tensor is read)."""
    import_torchvision()  # transformers imports torchvision; see torchvision_compat
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

    parsed = load_gguf_checkpoint(str(gguf_path), return_tensors=False)  # type: ignore[no-untyped-call]
    config: dict[str, Any] = dict(parsed["config"])
    config.pop("_model_name_or_path", None)
    if config.get("model_type") not in SUPPORTED:
        raise ValueError(f"cannot personalize a {config.get('model_type')!r} model")
    return config


def _tensors(gguf_path: Path, config: dict[str, Any]) -> Iterator[tuple[str, Iterator[Any]]]:
    """(transformers name, its rows as float32 blocks) per tensor, dequantized block by block.

    Blocks of rows keep the conversion's memory small: dequantizing Qwen's 152k-row
    embedding at once made several float32 temporaries of its full 545 MB.
    """
    import numpy as np
    from gguf import GGUFReader
    from gguf.quants import dequantize

    reader = GGUFReader(str(gguf_path))
    llama = config["model_type"] == "llama"

    def blocks(tensor: Any, shape: list[int]) -> Iterator[Any]:
        data = tensor.data.reshape(shape[0], -1) if len(shape) > 1 else tensor.data
        for start in range(0, shape[0], ROWS_PER_BLOCK):
            block = dequantize(data[start : start + ROWS_PER_BLOCK], tensor.tensor_type)
            yield np.asarray(block, dtype=np.float32).reshape(-1, *shape[1:])

    for tensor in reader.tensors:
        name = torch_name(tensor.name)
        if name is None:
            continue
        shape = [int(n) for n in reversed(tensor.shape)]
        heads = None
        if llama and ".attn_q." in tensor.name:
            heads = int(config["num_attention_heads"])
        elif llama and ".attn_k." in tensor.name:
            heads = int(config["num_key_value_heads"])
        if heads is None:
            yield name, blocks(tensor, shape)
        else:
            whole = np.concatenate(list(blocks(tensor, shape)))
            yield name, iter([np.ascontiguousarray(unpermute_qk(whole, heads))])


def _shapes(gguf_path: Path) -> list[tuple[str, list[int]]]:
    from gguf import GGUFReader

    reader = GGUFReader(str(gguf_path))
    shapes = []
    for tensor in reader.tensors:
        name = torch_name(tensor.name)
        if name is not None:
            shapes.append((name, [int(n) for n in reversed(tensor.shape)]))
    return shapes


def _write_transformers_config(directory: Path, config: dict[str, Any], dtype: str) -> None:
    """config.json beside the weights, so ``from_pretrained(directory)`` maps them lazily."""
    import_torchvision()
    from transformers import AutoConfig

    settings = dict(config)
    model_type = settings.pop("model_type")
    settings["dtype"] = {"F16": "float16", "F32": "float32"}[dtype]
    made = AutoConfig.for_model(model_type, **settings)
    atomic_write_text(directory / "config.json", made.to_json_string())


def convert(
    gguf_path: Path,
    sha256: str,
    cache_root: Path,
    *,
    dtype: str = "F16",
    progress: Callable[[int, int], None] | None = None,
) -> BaseWeights:
    """Return the cached conversion of ``gguf_path``, converting it first when needed.

    ``dtype`` is how the frozen weights are stored ("F16" halves the file and the memory
    that holds it; the training casts each weight to fp32 where it is used). The file is
    written beside its final name and renamed into place, so a killed conversion leaves
    nothing that looks finished.
    """
    import numpy as np

    directory = cache_root / f"{sha256[:16]}-{dtype.lower()}"
    done = directory / "base.json"
    if done.is_file():
        stored = json.loads(done.read_text(encoding="utf-8"))
        if stored.get("format") == FORMAT_VERSION and stored.get("sha256") == sha256:
            return BaseWeights(directory, stored["config"], sha256)
    config = read_config(gguf_path)
    directory.mkdir(parents=True, exist_ok=True)
    np_dtype = {"F16": np.float16, "F32": np.float32}[dtype]
    width = np.dtype(np_dtype).itemsize
    shapes = _shapes(gguf_path)
    header: dict[str, Any] = {"__metadata__": {"format": "pt", "source_sha256": sha256}}
    offset = 0
    for name, shape in shapes:
        size = width
        for n in shape:
            size *= n
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)
    partial = directory / "model.safetensors.partial"
    with open(partial, "wb") as out:
        out.write(struct.pack("<Q", len(encoded)))
        out.write(encoded)
        for index, (name, blocks) in enumerate(_tensors(gguf_path, config)):
            start, end = header[name]["data_offsets"]
            for block in blocks:
                out.write(np.ascontiguousarray(block, dtype=np_dtype).tobytes())
            if out.tell() - len(encoded) - 8 != end:
                raise ValueError(f"{name}: {out.tell() - len(encoded) - 8 - start} bytes written")
            if progress is not None:
                progress(index + 1, len(shapes))
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, directory / "model.safetensors")
    _write_transformers_config(directory, config, dtype)
    atomic_write_text(
        done,
        json.dumps({"format": FORMAT_VERSION, "sha256": sha256, "config": config}, indent=1),
    )
    return BaseWeights(directory, config, sha256)
