"""A trained LoRA written as a GGUF adapter that llama.cpp applies to the exact base file.

llama.cpp's adapter format: ``general.type = adapter``, ``adapter.type = lora``,
``adapter.lora.alpha``, and for every adapted weight ``<gguf name>.lora_a`` (rank x in) and
``<gguf name>.lora_b`` (out x rank). llama.cpp scales the product by ``alpha / rank``, as
PEFT does (rsLoRA's ``alpha / sqrt(rank)`` is not honoured, so it is not used here). For
llama-family models the rows of q/k were permuted when the base was converted, so the rows of
their B matrices are permuted the same way here (:func:`base_weights.permute_qk`).

The adapter names the sha256 of the base GGUF it was trained on (``hearth.base.sha256``), so
it is never applied to another file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app.personalization.base_weights import gguf_name, permute_qk

BASE_SHA256_KEY = "hearth.base.sha256"
"""The adapter's metadata key naming the base file it belongs to."""

_LORA_KEY = re.compile(r"^(?:base_model\.model\.)?(.+)\.lora_([AB])(?:\.default)?\.weight$")


def lora_pairs(state: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """PEFT state dict -> {transformers weight name: {"A": tensor, "B": tensor}}."""
    pairs: dict[str, dict[str, Any]] = {}
    for key, tensor in state.items():
        match = _LORA_KEY.match(key)
        if match is None:
            continue
        pairs.setdefault(f"{match.group(1)}.weight", {})[match.group(2)] = tensor
    incomplete = [name for name, pair in pairs.items() if set(pair) != {"A", "B"}]
    if incomplete:
        raise ValueError(f"LoRA weights without their pair: {incomplete[:3]}")
    return pairs


def write_gguf_adapter(
    path: Path,
    state: Mapping[str, Any],
    *,
    config: Mapping[str, Any],
    alpha: float,
    base_sha256: str,
    name: str,
) -> None:
    """Write ``state`` (PEFT LoRA weights, torch or numpy) as a GGUF adapter, atomically."""
    import numpy as np
    from gguf import GGUFWriter

    architecture = str(config["model_type"])
    llama = architecture == "llama"
    partial = path.with_name(path.name + ".partial")
    writer = GGUFWriter(str(partial), architecture)
    writer.add_string("general.type", "adapter")
    writer.add_string("general.name", name)
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(alpha))
    writer.add_string(BASE_SHA256_KEY, base_sha256)
    for torch_weight, pair in sorted(lora_pairs(state).items()):
        target = gguf_name(torch_weight)
        if target is None:
            raise ValueError(f"llama.cpp has no tensor for {torch_weight}")
        a = np.ascontiguousarray(_numpy(pair["A"]), dtype=np.float32)
        b = np.ascontiguousarray(_numpy(pair["B"]), dtype=np.float32)
        if llama and ".attn_q." in target:
            b = np.ascontiguousarray(permute_qk(b, int(config["num_attention_heads"])))
        elif llama and ".attn_k." in target:
            b = np.ascontiguousarray(permute_qk(b, int(config["num_key_value_heads"])))
        writer.add_tensor(f"{target}.lora_a", a)
        writer.add_tensor(f"{target}.lora_b", b)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with open(partial, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, path)


def _numpy(tensor: Any) -> Any:
    detach = getattr(tensor, "detach", None)
    return detach().cpu().float().numpy() if callable(detach) else tensor
