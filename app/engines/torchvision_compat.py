"""Make ``import torchvision`` work with the CPU-only torch 2.13.0 used here.

The only torchvision matching torch 2.13.0 on PyPI (0.28.0) is a CUDA build: its compiled
operators (``torchvision/_C.so``) fail to load on a machine without CUDA libraries, and then
``import torchvision`` dies registering fake kernels for operators that were never defined
("operator torchvision::nms does not exist"). Hearth never calls those detection operators
(open_clip only needs torchvision's image transforms), so before the first import we define
their schemas (as upstream torchvision declares them) without any kernel. Calling one of them
would fail with a clear "no kernel" error instead of crashing the import.

This is the one place that knows about the problem; call :func:`import_torchvision` instead of
importing torchvision directly.
"""

from __future__ import annotations

import logging
import threading
from types import ModuleType

log = logging.getLogger(__name__)

SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "roi_align(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, "
    "SymInt pooled_width, int sampling_ratio, bool aligned) -> Tensor",
    "_roi_align_backward(Tensor grad, Tensor rois, float spatial_scale, SymInt pooled_height, "
    "SymInt pooled_width, SymInt batch_size, SymInt channels, SymInt height, SymInt width, "
    "int sampling_ratio, bool aligned) -> Tensor",
    "qroi_align(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, "
    "SymInt pooled_width, int sampling_ratio, bool aligned) -> Tensor",
    "ps_roi_align(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, "
    "SymInt pooled_width, int sampling_ratio) -> (Tensor, Tensor)",
    "_ps_roi_align_backward(Tensor grad, Tensor rois, Tensor channel_mapping, "
    "float spatial_scale, SymInt pooled_height, SymInt pooled_width, int sampling_ratio, "
    "SymInt batch_size, SymInt channels, SymInt height, SymInt width) -> Tensor",
    "roi_pool(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, "
    "SymInt pooled_width) -> (Tensor, Tensor)",
    "_roi_pool_backward(Tensor grad, Tensor rois, Tensor argmax, float spatial_scale, "
    "SymInt pooled_height, SymInt pooled_width, SymInt batch_size, SymInt channels, "
    "SymInt height, SymInt width) -> Tensor",
    "ps_roi_pool(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, "
    "SymInt pooled_width) -> (Tensor, Tensor)",
    "_ps_roi_pool_backward(Tensor grad, Tensor rois, Tensor channel_mapping, "
    "float spatial_scale, SymInt pooled_height, SymInt pooled_width, SymInt batch_size, "
    "SymInt channels, SymInt height, SymInt width) -> Tensor",
    "deform_conv2d(Tensor input, Tensor weight, Tensor offset, Tensor mask, Tensor bias, "
    "SymInt stride_h, SymInt stride_w, SymInt pad_h, SymInt pad_w, SymInt dilation_h, "
    "SymInt dilation_w, SymInt groups, SymInt offset_groups, bool use_mask) -> Tensor",
    "_deform_conv2d_backward(Tensor grad, Tensor input, Tensor weight, Tensor offset, "
    "Tensor mask, Tensor bias, SymInt stride_h, SymInt stride_w, SymInt pad_h, SymInt pad_w, "
    "SymInt dilation_h, SymInt dilation_w, SymInt groups, SymInt offset_groups, "
    "bool use_mask) -> (Tensor, Tensor, Tensor, Tensor, Tensor)",
)

_lock = threading.Lock()
_defined: list[object] = []
"""The Library that holds the definitions (they live as long as it does)."""


def _binary_loads() -> bool:
    """Does torchvision's own _C library load (and so define its operators)?"""
    import importlib.util

    import torch

    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return False
    folder = next(iter(spec.submodule_search_locations))
    try:
        torch.ops.load_library(f"{folder}/_C.so")  # type: ignore[no-untyped-call]
    except (OSError, RuntimeError):
        return False
    return True


def import_torchvision() -> ModuleType:
    """Import torchvision, defining its operator schemas first when its binary cannot."""
    with _lock:
        import torch

        if not _defined and not _binary_loads():
            library = torch.library.Library("torchvision", "DEF")  # type: ignore[no-untyped-call]
            for schema in SCHEMAS:
                library.define(schema)  # type: ignore[no-untyped-call]
            _defined.append(library)
            log.info("torchvision's compiled operators are unavailable; schemas defined")
        import torchvision

        module: ModuleType = torchvision
        return module
