"""tools/misc/gpu_check.py in its CPU dry run (small shapes), so that the GPU acceptance run cannot rot."""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_gpu_check_dry_run_writes_the_report(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / 'tools/misc/gpu_check.py'), '--device', 'cpu',
                             '--out', str(tmp_path)], cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    report = (tmp_path / 'report.md').read_text()
    for heading in ('## CUDA op tests', '## MixNet-S depthwise layers', '## MixNet-S training step', '## Targets'):
        assert heading in report
    assert report.count('| PASS |') + report.count('| FAIL |') == 7  # every target is checked
    assert 'relative error' in report and 'Tests passed' in report
