"""tools/deployment/export_onnx.py and test_onnx.py, run as a user runs them, against tools/test.py."""
import re

from conftest import FAST, SHAPES_CONFIG, latest_checkpoint, run_tool

COCO_LINE = re.compile(r'^ Average (?:Precision|Recall) .* = (-?[\d.]+)$', re.MULTILINE)


def test_onnx_runtime_map_equals_pytorch(shapes_root, trained_work_dir, tmp_path):
    """The exported 2-iteration model (score_thr 0, so that it predicts boxes) scores as tools/test.py.

    The 192-px images are tested at 160 px, so that the boxes are scaled back to the original images.
    """
    checkpoint, model = latest_checkpoint(trained_work_dir), tmp_path / 'model.onnx'
    options = ['--cfg-options', f'data_root={shapes_root}/', 'model.test_cfg.score_thr=0.0',
               'test_dataloader.dataset.pipeline.1.scale=(160,160)', *FAST]
    exported = run_tool('tools/deployment/export_onnx.py', SHAPES_CONFIG, checkpoint, '--out', model, *options)
    assert re.search(r'model\.onnx: input \[1, 3, 160, 160\], opset 17, \d+ nodes .*NonMaxSuppression 1',
                     exported.stdout)
    evaluated = run_tool('tools/deployment/test_onnx.py', SHAPES_CONFIG, model, '--threads', '1', *options).stdout
    tested = run_tool('tools/test.py', SHAPES_CONFIG, checkpoint, '--work-dir', tmp_path, *options).stdout
    onnx_numbers, torch_numbers = COCO_LINE.findall(evaluated)[:12], COCO_LINE.findall(evaluated)[12:]
    expected = COCO_LINE.findall(tested)
    assert len(onnx_numbers) == len(torch_numbers) == len(expected) == 12
    assert max(map(float, expected)) > 0  # the comparison is not between two empty results
    for got in (onnx_numbers, torch_numbers):
        assert all(abs(float(a) - float(b)) <= 0.005 for a, b in zip(got, expected)), (got, expected)
    rows = {name: numbers.split() for name, numbers in
            re.findall(r'^(model\.onnx|PyTorch) +(-?[\d.]+ +[\d.]+ +[\d.]+)$', evaluated, re.MULTILINE)}
    assert set(rows) == {'model.onnx', 'PyTorch'}  # bbox mAP, median and mean ms per image
    assert float(rows['model.onnx'][0]) == float(onnx_numbers[0])


def test_export_refuses_an_unsupported_model_in_one_sentence(trained_work_dir, tmp_path):
    result = run_tool('tools/deployment/export_onnx.py', SHAPES_CONFIG, latest_checkpoint(trained_work_dir),
                      '--out', tmp_path / 'model.onnx', '--cfg-options', 'model.test_cfg.nms.type=soft_nms',
                      check=False)
    assert result.returncode != 0 and 'Traceback' not in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("cannot export test_cfg.nms={'type': 'soft_nms'")
    assert not (tmp_path / 'model.onnx').exists()
