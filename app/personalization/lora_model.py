"""The trainable model: the frozen base (from :mod:`base_weights`) with PEFT LoRA layers.

Where the memory of a naive run went (Qwen2.5 0.5B, batch 8 x 256 tokens, measured by
``bench/personalize.py --memory``; the figures are in the module docstring of that file) and
what each piece of this module does about it:

* the load path: transformers' GGUF loader dequantizes the whole file into a dictionary
  first; :mod:`base_weights` converts once, one tensor at a time, and this module maps the
  converted file.
* the frozen weights: held in float16 (half of float32) and cast to float32 one layer at a
  time, where they are used (:class:`_Float32Compute`); the LoRA matrices, their gradients
  and the optimizer state stay float32.
* full-vocabulary logits: Qwen's vocabulary has 151,936 entries, so the logits of 2,048
  positions are 1.2 GB per copy (and the loss makes several copies). :func:`assistant_loss`
  projects only the positions whose next token is the assistant's, in chunks that are
  recomputed in the backward pass instead of kept.
* activations: gradient checkpointing per decoder layer keeps one hidden state per layer and
  recomputes the rest in the backward pass.
* tied embeddings: SmolLM2 ties its input embedding and output head; both stay frozen and
  out of the adapter (llama.cpp ignores an adapter on the output of a tied model).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

from app.engines.torchvision_compat import import_torchvision
from app.personalization.base_weights import BaseWeights

TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
"""Every linear layer of a decoder block (not the embeddings or the output head)."""

LOSS_CHUNK = 64
"""Positions projected onto the vocabulary at once in :func:`assistant_loss`. Each chunk's
logits exist about four times over in its backward pass (logits, log-softmax, and their
gradients): at 256 positions that was 4 x 155 MB on Qwen's vocabulary."""


def load_base(base: BaseWeights, *, checkpointing: bool = True) -> Any:
    """The frozen base model on the CPU, in the dtype its converted file was stored in."""
    import_torchvision()  # transformers imports torchvision; see torchvision_compat
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(
        str(base.directory), dtype="auto", local_files_only=True
    )
    model.requires_grad_(False)
    model.config.use_cache = False
    if model.dtype != torch.float32:
        _compute_in_float32(model)
        _head_in_float32(model)
    if checkpointing:
        model.activation_checkpointing_enable({"use_reentrant": False})
    # Checkpointing only acts in training mode (from_pretrained returns eval mode); there is
    # no dropout in these models, so training mode changes nothing else.
    model.train()
    return model


def add_lora(model: Any, *, rank: int, alpha: int, dropout: float = 0.0) -> Any:
    """Wrap ``model`` with fresh LoRA layers on :data:`TARGET_MODULES` (float32)."""
    import torch
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=rank,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=list(TARGET_MODULES),
        bias="none",
        task_type="CAUSAL_LM",
    )
    with warnings.catch_warnings():
        # PEFT 0.21 still asks transformers 5 for `is_gradient_checkpointing`, which warns that
        # the name is deprecated; nothing to act on here.
        warnings.filterwarnings(
            "ignore", "`is_gradient_checkpointing` is deprecated", FutureWarning
        )
        peft_model = get_peft_model(model, config)
    for name, parameter in peft_model.named_parameters():
        if "lora_" in name:
            parameter.data = parameter.data.to(torch.float32)
    return peft_model


class _Float32Compute:
    """Mixin for a frozen float16 ``nn.Linear``/``nn.Embedding``: compute in float32."""


def _compute_in_float32(model: Any) -> None:
    """Make every float16 Linear compute in float32 by casting its weight where it is used.

    The cast weight lives only while the layer runs (with checkpointing, also while that
    layer's backward runs), so at most a layer's worth of float32 weights exists at once.
    Norm weights are small and become float32 outright.
    """
    import torch
    from torch import nn
    from torch.nn import functional

    class Float32Linear(nn.Linear, _Float32Compute):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            bias = None if self.bias is None else self.bias.float()
            return functional.linear(x.float(), self.weight.float(), bias)

    class Float32Embedding(nn.Embedding, _Float32Compute):
        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            return super().forward(ids).float()

    for module in model.modules():
        if type(module) is nn.Linear:
            module.__class__ = Float32Linear
        elif type(module) is nn.Embedding:
            module.__class__ = Float32Embedding
        elif not list(module.children()):
            for name, parameter in list(module.named_parameters(recurse=False)):
                if parameter.dtype == torch.float16:
                    setattr(module, name, nn.Parameter(parameter.float(), requires_grad=False))


def _head_in_float32(model: Any) -> None:
    """Keep the output head's weight in float32 for good.

    It is used for every chunk of the loss (forward, recompute and backward): cast on each
    use it made a full float32 copy each time (545 MB for Qwen, 113 MB for SmolLM2) next to
    the logits. A tied head (SmolLM2) gets its own copy; the embedding stays float16.
    """
    import torch
    from torch import nn

    head = model.get_output_embeddings()
    head.__class__ = nn.Linear
    head.weight = nn.Parameter(head.weight.detach().to(torch.float32), requires_grad=False)
    model.config.tie_word_embeddings = False


def causal_lm(model: Any) -> Any:
    """The transformers CausalLM inside a PEFT model (or the model itself)."""
    get_base = getattr(model, "get_base_model", None)
    return get_base() if callable(get_base) else model


def assistant_loss(model: Any, input_ids: Any, attention_mask: Any, target_mask: Any) -> Any:
    """Mean cross-entropy over the positions whose next token is the assistant's.

    ``target_mask[b, t]`` is true when token ``t`` of row ``b`` is part of an assistant
    reply (the loss at position ``t - 1`` predicts it). Only those hidden states are
    projected onto the vocabulary, :data:`LOSS_CHUNK` at a time, each chunk recomputed in
    the backward pass rather than kept.
    """
    import torch
    from torch.nn import functional
    from torch.utils.checkpoint import checkpoint

    lm = causal_lm(model)
    hidden = lm.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    predicts = target_mask[:, 1:]
    chosen = hidden[:, :-1][predicts]
    targets = input_ids[:, 1:][predicts]
    if chosen.shape[0] == 0:
        return hidden.sum() * 0.0
    head = lm.get_output_embeddings()

    def chunk_loss(states: torch.Tensor, wanted: torch.Tensor) -> torch.Tensor:
        logits = head(states).float()
        return functional.cross_entropy(logits, wanted, reduction="sum")

    total = hidden.new_zeros(())
    for start in range(0, chosen.shape[0], LOSS_CHUNK):
        part = checkpoint(
            chunk_loss,
            chosen[start : start + LOSS_CHUNK],
            targets[start : start + LOSS_CHUNK],
            use_reentrant=False,
        )
        total = total + part
    return total / chosen.shape[0]


@contextlib.contextmanager
def scaled(model: Any, scale: float) -> Iterator[None]:
    """The adapter at ``scale`` strength for a while (as llama.cpp's adapter scale does).

    LoRA adds ``B @ A`` times alpha / rank; scaling every B scales that sum exactly."""
    import torch

    saved = {name: p.detach().clone() for name, p in model.named_parameters() if "lora_B" in name}
    params = dict(model.named_parameters())
    try:
        with torch.no_grad():
            for name in saved:
                params[name].mul_(scale)
        yield
    finally:
        with torch.no_grad():
            for name, value in saved.items():
                params[name].copy_(value)


def token_losses(
    model: Any, rows: Sequence[tuple[list[int], list[bool]]]
) -> list[tuple[float, int]]:
    """(summed loss, target tokens) per row, without gradients (for the evaluation gate)."""
    import torch

    results = []
    with torch.no_grad():
        for ids, mask in rows:
            input_ids = torch.tensor([ids])
            attention = torch.ones_like(input_ids)
            targets = torch.tensor([mask])
            count = int(targets[:, 1:].sum())
            if count == 0:
                results.append((0.0, 0))
                continue
            loss = assistant_loss(model, input_ids, attention, targets)
            results.append((float(loss) * count, count))
    return results
