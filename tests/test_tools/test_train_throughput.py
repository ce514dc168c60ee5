"""tools/analysis_tools/train_throughput.py times every config (and MixConv implementation) interleaved."""
import re
import subprocess
import sys

from conftest import REPO

CONFIGS = ['configs/shapes/ssdlite_mobilenetv2_1xb8-1k_shapes.py',
           'configs/shapes/ssdlite_mobilenetv2-mixconv357_1xb8-1k_shapes.py']


def test_prints_images_per_second_of_each_config_and_implementation():
    result = subprocess.run([sys.executable, 'tools/analysis_tools/train_throughput.py', *CONFIGS, '--size', '64',
                             '--batch', '2', '--steps', '1', '--rounds', '2', '--threads', '1',
                             '--impls', 'fused', 'reference'],
                            capture_output=True, text=True, check=True, cwd=REPO, timeout=600)
    assert 'input 64x64, batch 2, 1 threads, 2 rounds x 1 steps, interleaved' in result.stdout
    for config in CONFIGS:
        for impl in ('fused', 'reference'):
            assert re.search(rf'^{re.escape(config)} \[{impl}\]: \d+\.\d\d img/s \(median step', result.stdout,
                             re.MULTILINE)
