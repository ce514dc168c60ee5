"""tools/analysis_tools/get_flops.py against the timm numbers in docs/mixnet-architecture.md (section 4)."""
import re
import subprocess
import sys

from conftest import REPO


def run_get_flops(*args, printed=None):
    """(params, MACs) that get_flops.py prints for ``args``; its whole output is appended to ``printed``."""
    result = subprocess.run([sys.executable, str(REPO / 'tools/analysis_tools/get_flops.py'), *args],
                            capture_output=True, text=True, check=True, cwd=REPO, timeout=300)
    if printed is not None:
        printed.append(result.stdout)
    params = int(re.search(r'params: ([\d,]+)', result.stdout).group(1).replace(',', ''))
    macs = int(re.search(r'multiply-adds: ([\d,]+)', result.stdout).group(1).replace(',', ''))
    return params, macs


def test_mixnet_s_trunk_at_320_matches_timm_features_only():
    # timm mixnet_s features_only at 320x320: 2,287,334 params, 453.5M MACs (SE included, no head).
    params, macs = run_get_flops('configs/_base_/models/mixnet-s.py', '--shape', '320',
                                 '--cfg-options', 'model.out_indices=(5,)')
    assert params == 2_287_334
    assert abs(macs - 453.5e6) < 0.1e6


def test_mixnet_s_with_head_at_224_matches_timm_minus_classifier():
    # timm mixnet_s at 224: 239.17M MACs including SE and the 1.536M-MAC classifier.
    params, macs = run_get_flops('configs/_base_/models/mixnet-s.py', '--shape', '224')
    assert params == 4_134_606 - 1_537_000
    assert abs(macs - (239.17e6 - 1.536e6)) < 0.01e6


def test_input_size_comes_from_the_config_unless_shape_is_given():
    config = 'configs/shapes/ssdlite_mixnet-s_1xb8-1k_shapes.py'  # test pipeline: Resize to 192x192
    printed = []
    assert run_get_flops(config, printed=printed) == run_get_flops(config, '--shape', '192')
    assert "input 3x192x192 (the config's test pipeline)" in printed[0]


def test_a_config_without_a_fixed_input_size_asks_for_shape():
    result = subprocess.run([sys.executable, str(REPO / 'tools/analysis_tools/get_flops.py'),
                             'configs/_base_/models/mixnet-s.py'], capture_output=True, text=True, cwd=REPO,
                            timeout=300)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == ('configs/_base_/models/mixnet-s.py has no fixed input size (no '
                                                      'Resize with keep_ratio=False in its test pipeline): give one '
                                                      'with --shape H [W]')
