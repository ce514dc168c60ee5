"""Automatic mixed precision for MixConv: the rule PyTorch applies to convolutions.

Inside ``torch.autocast(device_type, dtype)`` a convolution runs in the autocast dtype: its floating-point
tensor arguments on that device, except float64 ones, are cast to ``dtype``. The casts are ordinary autograd
ops, so the gradient of a float32 parameter comes back in float32. Both MixConv implementations apply this
rule (:func:`mixdet.ops.mixconv2d` and the reference), and ``mixdet::mixconv2d`` has it as its Autocast
kernels, so that direct ``torch.ops.mixdet.mixconv2d`` calls behave the same way.
"""
from __future__ import annotations

from typing import Optional

import torch

# Device type -> the dispatch key of its autocast kernels.
AUTOCAST_KEYS = {'cpu': 'AutocastCPU', 'cuda': 'AutocastCUDA'}


def autocast_dtype(device_type: str) -> Optional[torch.dtype]:
    """The dtype autocast runs convolutions in on ``device_type`` now, or None outside autocast."""
    if device_type not in AUTOCAST_KEYS or not torch.is_autocast_enabled(device_type):
        return None
    return torch.get_autocast_dtype(device_type)


def cast_to(value, device_type: str, dtype: torch.dtype):
    """``value`` (a tensor, a list/tuple of tensors, or anything else) with every eligible tensor cast to ``dtype``.

    Eligible: floating point, not float64, on ``device_type`` (autocast's own rule). Other values pass
    unchanged, so argument checks that follow still see and name them.
    """
    if isinstance(value, torch.Tensor):
        eligible = value.is_floating_point() and value.dtype != torch.float64 and value.device.type == device_type
        return value.to(dtype) if eligible else value
    if isinstance(value, (list, tuple)):
        return type(value)(cast_to(v, device_type, dtype) for v in value)
    return value


def autocast_arguments(input, weights, bias):
    """(input, weights, bias) as a convolution inside the current autocast region would see them.

    Outside autocast (or for a non-tensor ``input``) they come back unchanged.
    """
    dtype = autocast_dtype(input.device.type) if isinstance(input, torch.Tensor) else None
    if dtype is None:
        return input, weights, bias
    device_type = input.device.type
    return cast_to(input, device_type, dtype), cast_to(weights, device_type, dtype), cast_to(bias, device_type, dtype)


def register_autocast_kernels(library: torch.library.Library, op_name: str, op) -> None:
    """Give ``op`` (``library``'s ``op_name``) an Autocast kernel per device type of AUTOCAST_KEYS.

    The kernel casts the floating-point tensor arguments as :func:`cast_to` does, then calls ``op`` with
    autocast off for that device (so the call goes on to the autograd and device kernels).
    """
    for device_type, key in AUTOCAST_KEYS.items():
        def kernel(*args, device_type=device_type):
            dtype = torch.get_autocast_dtype(device_type)
            with torch.autocast(device_type, enabled=False):
                return op(*cast_to(args, device_type, dtype))
        library.impl(op_name, kernel, key)
