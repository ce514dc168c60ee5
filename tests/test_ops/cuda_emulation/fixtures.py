"""Fixtures shared by the emulation test modules (import them into a module to apply them there)."""
import pytest
import torch


@pytest.fixture(autouse=True, scope='module')
def one_torch_thread():
    """The references are tiny convolutions: a thread pool only adds waiting (10x slower on 2 busy cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
