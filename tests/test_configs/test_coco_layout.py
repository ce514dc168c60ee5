"""The COCO config runs unchanged (one training iteration + validation) on a --coco-layout dataset, and
its epoch-based loader drops a last batch of one image (BatchNorm on the 1x1 neck level cannot train on it)."""
import re

from conftest import REPO, run_tool

COCO_CONFIG = REPO / 'configs/ssdlite_mixnet/ssdlite_mixnet-s-scratch_8xb24-600e_coco.py'


def test_coco_config_trains_one_iteration_and_validates(tmp_path):
    root = tmp_path / 'coco'
    run_tool('tools/misc/make_shapes_dataset.py', root, '--num-train', '3', '--num-val', '2', '--coco-layout',
             '--image-size', '128')
    result = run_tool(
        'tools/train.py', COCO_CONFIG, '--work-dir', tmp_path / 'work', '--cfg-options', f'data_root={root}/',
        'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
        'train_dataloader.dataset.times=1', 'train_dataloader.dataset.dataset.filter_cfg.min_size=1',
        'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'default_hooks.logger.interval=1',
        # an untrained 80-class softmax scores ~1/81 everywhere: keep its boxes so that COCOeval has results
        'model.test_cfg.score_thr=0.0')
    # 3 images in batches of 2: one full batch; the image left over is dropped, not trained on alone
    assert re.search(r'Epoch\(train\) \[1\]\[1/1\]', result.stdout)
    assert 'coco/bbox_mAP:' in result.stdout
    assert 'Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all' in result.stdout
