"""Checkpoints as mmengine's own Runner writes them (mmdet's published weights are such files) load as they are,
through load_from, tools/test.py, --resume and Pretrained, read as data and without re-saving."""
import torch

from mixdet.checkpoint.inert import HISTORY_BUFFER
from mixdet.models.backbones import MixNet
from mixdet.testing.mmengine_files import as_mmengine_writes_it

from conftest import FAST, SHAPES_CONFIG, latest_checkpoint, run_tool


def test_an_mmengine_written_detector_checkpoint_loads_everywhere(shapes_root, trained_work_dir, tmp_path):
    legit = torch.load(latest_checkpoint(trained_work_dir), map_location='cpu', weights_only=True)
    path = tmp_path / 'as_mmengine.pth'
    torch.save(as_mmengine_writes_it(legit), path)
    assert HISTORY_BUFFER in torch.serialization.get_unsafe_globals_in_checkpoint(path)
    common = ['--cfg-options', f'data_root={shapes_root}/', *FAST]
    tested = run_tool('tools/test.py', SHAPES_CONFIG, path, '--work-dir', tmp_path / 'test', *common)
    assert 'coco/bbox_mAP' in tested.stdout
    run_tool('tools/train.py', SHAPES_CONFIG, '--work-dir', tmp_path / 'load', *common, f'load_from={path}')
    resumed = run_tool('tools/train.py', SHAPES_CONFIG, '--resume', path, '--work-dir', tmp_path / 'resume', *common,
                       f'train_cfg.max_iters={legit["meta"]["iter"] + 1}')
    assert f'resumed epoch: 0, iter: {legit["meta"]["iter"]}' in resumed.stdout
    backbone = MixNet(init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='backbone'))
    backbone.init_weights()
    for key, value in backbone.state_dict().items():
        torch.testing.assert_close(value, legit['state_dict'][f'backbone.{key}'], rtol=0, atol=0)
