"""Test helper: BatchNorm layers that are not identities."""
import torch


def randomize_batchnorm(model: torch.nn.Module, seed: int) -> None:
    """Random affine parameters and running statistics in every BatchNorm2d of ``model``."""
    gen = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            shape = module.weight.shape
            module.weight.data = 0.5 + torch.rand(shape, generator=gen)
            module.bias.data = 0.1 * torch.randn(shape, generator=gen)
            module.running_mean = 0.1 * torch.randn(shape, generator=gen)
            module.running_var = 0.5 + torch.rand(shape, generator=gen)
