"""docs/custom_dataset.md, followed step by step in an empty project folder outside the repository: its config
block is written to the file its first line names, and its shell blocks run in order with bash. The only changes:
a smaller stand-in dataset, and two training iterations instead of 1000 (appended --cfg-options)."""
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO

DOC = REPO / 'docs/custom_dataset.md'
SMALLER = {'--num-train 500 --num-val 50': '--num-train 12 --num-val 8 --image-size 128'}
SHORT_TRAINING = (' --cfg-options train_cfg.max_iters=2 train_cfg.val_interval=2 train_dataloader.batch_size=2 '
                  'default_hooks.checkpoint.interval=2 default_hooks.logger.interval=1')


def doc_blocks(language: str) -> list[str]:
    return re.findall(rf'^```{language}\n(.*?)^```', DOC.read_text(), re.S | re.M)


def test_the_custom_dataset_guide_runs_as_written(tmp_path):
    project = tmp_path / 'my_project'
    project.mkdir()
    config, = doc_blocks('python')
    (project / config.splitlines()[0].removeprefix('# ').strip()).write_text(config)
    script = '\n'.join(doc_blocks('bash'))
    for written, smaller in SMALLER.items():
        assert written in script
        script = script.replace(written, smaller)
    script, trainings = re.subn(r'^(python \$MIXDET_TOOLS/train\.py .*)$', r'\1' + SHORT_TRAINING, script,
                                flags=re.M)
    assert trainings == 1
    env = dict(os.environ, PATH=f'{Path(sys.executable).parent}{os.pathsep}{os.environ["PATH"]}')
    result = subprocess.run(['bash', '-euo', 'pipefail', '-c', script], cwd=project, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-4000:]
    # the summary line of step 3 (two of the six classes: the others are counted as ignored)
    assert re.search(r'data/annotations/instances_train.json: \d+ images, \d+ boxes of 2 classes used; \d+ '
                     r'annotations of categories not in metainfo classes ignored', result.stdout)
    assert 'Epoch' not in result.stdout and re.search(r'Iter\(train\) \[2/2\]', result.stdout)
    # step 4: the test tool's COCO numbers for the trained checkpoint
    assert result.stdout.count('Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all') == 2  # validation, test
    assert (project / 'work_dirs/circles-stars/test').is_dir()
