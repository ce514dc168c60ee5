"""Built packages carry the configs, tools and model index under mixdet/.mim/, as mmdet's wheels do, so that
``mim`` and mmengine's ``mixdet::`` config prefix find them once mixdet is installed from a wheel."""
import subprocess
import sys
from pathlib import Path

from mmengine.config import Config

REPO = Path(__file__).resolve().parents[1]


def test_build_py_puts_configs_tools_and_model_index_into_the_package(tmp_path):
    subprocess.run([sys.executable, 'setup.py', '--quiet', 'build_py', '--build-lib', str(tmp_path)], cwd=REPO,
                   check=True, capture_output=True, timeout=300)
    mim = tmp_path / 'mixdet' / '.mim'
    shipped = {p.relative_to(REPO).as_posix() for p in (REPO / 'configs').rglob('*') if p.is_file()}
    assert shipped and shipped == {p.relative_to(mim).as_posix() for p in (mim / 'configs').rglob('*')
                                   if p.is_file()}
    assert (mim / 'tools' / 'train.py').read_bytes() == (REPO / 'tools' / 'train.py').read_bytes()
    assert (mim / 'model-index.yml').is_file() and not list(mim.rglob('__pycache__'))
    config = Config.fromfile(mim / 'configs/ssdlite_mixnet/ssdlite_mixnet-m-scratch_8xb24-600e_coco.py')
    assert config.model.backbone.arch == 'm'  # the inheritance chain resolves inside the package


def test_model_index_names_every_coco_config():
    import yaml
    index = yaml.safe_load((REPO / 'model-index.yml').read_text())
    models = [m for path in index['Import'] for m in yaml.safe_load((REPO / path).read_text())['Models']]
    configs = {p.relative_to(REPO).as_posix() for p in (REPO / 'configs/ssdlite_mixnet').glob('*.py')}
    assert {m['Config'] for m in models} == configs
    assert all(m['Name'] == Path(m['Config']).stem for m in models)
