"""Small generated datasets and helpers to run the tools as a user would (subprocesses).

Nothing of OpenMMLab (mmdet, mmcv, mmengine) is imported here at module level: pytest loads this file for
every test below tests/, and the op tests (tests/test_ops) must collect on a machine without OpenMMLab
(the GPU acceptance run, tools/misc/gpu_check.py; rehearsed by tests/test_tools/test_gpu_check.py). Every other
test module gets mixdet's modules registered before it is imported (:func:`pytest_collectstart`).
"""
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch

from mixdet.testing.http_server import PROXY_VARIABLES, running_server

REPO = Path(__file__).resolve().parents[1]
OPENMMLAB_FREE = REPO / 'tests' / 'test_ops'  # collected on the GPU machine, where OpenMMLab is not installed
SHAPES_CONFIG = str(REPO / 'configs/shapes/ssdlite_mixnet-s_1xb8-1k_shapes.py')
# Tools run from an empty folder, so that no relative default (data/shapes/, work_dirs/) of the repository
# can stand in for what a test passes explicitly.
RUN_DIR = Path(tempfile.mkdtemp(prefix='mixdet-tool-cwd-'))
# Fast settings for the (iteration-based) shapes config: tiny batches, no worker processes, two iterations.
FAST = ['train_dataloader.batch_size=2', 'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
        'val_dataloader.batch_size=2', 'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
        'test_dataloader.batch_size=2', 'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False',
        'train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'default_hooks.logger.interval=1',
        'default_hooks.checkpoint.interval=2']


def pytest_collectstart(collector):
    """mixdet's modules in mmdet's registries before a test module outside OPENMMLAB_FREE is imported, as mmdet's
    tests call ``register_all_modules()`` (``import mixdet`` registers nothing)."""
    if isinstance(collector, pytest.Module) and OPENMMLAB_FREE not in collector.path.parents:
        from mixdet.modules import register_all_modules
        register_all_modules(init_default_scope=False)


def run_tool(tool, *args, check=True, env=None, timeout=900):
    """Run the tool ``tool`` (path relative to the repository, or absolute: mmdet's tools) with the current
    interpreter from an empty folder; return the CompletedProcess (stdout+stderr merged)."""
    result = subprocess.run([sys.executable, str(REPO / tool), *map(str, args)], cwd=RUN_DIR, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f'{tool} {args} failed with {result.returncode}:\n{result.stdout[-4000:]}')
    return result


@pytest.fixture(scope='session')
def shapes_root(tmp_path_factory):
    """5 train images and 6 val images at 192 px."""
    from mixdet.datasets import make_shapes_dataset  # imports mmdet: only where a test asks for the data
    root = tmp_path_factory.mktemp('shapes')
    make_shapes_dataset(root, num_train=5, num_val=6, seed=1, image_size=192)
    return root


def latest_checkpoint(work_dir):
    """The checkpoint that ``last_checkpoint`` of ``work_dir`` names (other tests may train the work dir on)."""
    return Path((Path(work_dir) / 'last_checkpoint').read_text().strip())


@pytest.fixture(scope='session')
def trained_work_dir(shapes_root, tmp_path_factory):
    """A work dir after two iterations of training on ``shapes_root``."""
    work_dir = tmp_path_factory.mktemp('work')
    run_tool('tools/train.py', SHAPES_CONFIG, '--work-dir', work_dir,
             '--cfg-options', f'data_root={shapes_root}/', *FAST)
    return work_dir


@pytest.fixture
def marker(tmp_path):
    """A file that a crafted payload would create if its code ran; the test fails if it exists afterwards."""
    path = tmp_path / 'EXECUTED'
    yield path
    assert not path.exists(), 'code from a checkpoint was executed'


@pytest.fixture
def server():
    """A local HTTP server (mixdet/testing/http_server.py): ``server.files[path] = body``, ``server.requests``."""
    with running_server() as httpd:
        yield httpd


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """torch's hub folder under tmp_path; no proxy between the test and its server."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    hub_dir = tmp_path / 'torch' / 'hub'
    assert str(torch.hub.get_dir()) == str(hub_dir), 'torch.hub.set_dir was called elsewhere; TORCH_HOME is ignored'
    return hub_dir
