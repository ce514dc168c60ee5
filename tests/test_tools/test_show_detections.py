"""tools/analysis_tools/show_detections.py tiles images of different sizes (COCO's are) and counts what it draws."""
import json
import shutil

import cv2
import numpy as np

from conftest import SHAPES_CONFIG, latest_checkpoint, run_tool


def test_images_of_different_sizes_are_tiled_and_drawn_predictions_counted(tmp_path, shapes_root, trained_work_dir):
    root = tmp_path / 'shapes'
    shutil.copytree(shapes_root, root)
    cv2.imwrite(str(root / 'val/000002.jpg'), np.full((240, 200, 3), 90, np.uint8))  # 192x192 -> 240 high, 200 wide
    annotations = json.loads((root / 'annotations/instances_val.json').read_text())
    annotations['images'][1].update(height=240, width=200)
    (root / 'annotations/instances_val.json').write_text(json.dumps(annotations))
    out = tmp_path / 'detections.png'
    checkpoint = latest_checkpoint(trained_work_dir)

    def show(score_thr):
        result = run_tool('tools/analysis_tools/show_detections.py', SHAPES_CONFIG, checkpoint, '--out', out,
                          '--num', '6', '--score-thr', score_thr, '--cfg-options', f'data_root={root}/')
        return result.stdout.strip().splitlines()[-1]

    assert show('1.0') == f'6 images, 0 predictions with score > 1.0 on 0 of them -> {out}'
    assert cv2.imread(str(out)).shape == (2 * 240, 4 * 200, 3)  # two rows of four cells of the largest image
    line = show('0.0')  # the untrained model's boxes all clear 0
    assert line.startswith('6 images, ') and line.endswith(f' predictions with score > 0.0 on 6 of them -> {out}')
    assert int(line.split()[2]) >= 6
