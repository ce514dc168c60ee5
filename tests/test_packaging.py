"""Built packages carry the configs, tools and model index under mixdet/.mim/, as mmdet's wheels do, and mmengine
resolves ``mixdet::`` config names from a wheel and from an editable install: in a user's own config in an empty
folder, through mmdet's own tools and ``mmengine.hub.get_config``, without ``import mixdet`` first, and builds
what such a config inherits (scope ``mixdet``)."""
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest
from mmengine.config import Config

from conftest import REPO

MMDET_PRINT_CONFIG = Path(__import__('mmdet').__file__).parent / '.mim/tools/misc/print_config.py'
USER_CONFIG = textwrap.dedent("""\
    _base_ = 'mixdet::shapes/ssdlite_mixnet-s_1xb8-1k_shapes.py'
    model = dict(backbone=dict(arch='m'), bbox_head=dict(num_classes=3))
    """)


def test_build_py_puts_configs_tools_and_model_index_into_the_package(tmp_path):
    subprocess.run([sys.executable, 'setup.py', '--quiet', 'build_py', '--build-lib', str(tmp_path)], cwd=REPO,
                   check=True, capture_output=True, timeout=300)
    mim = tmp_path / 'mixdet' / '.mim'
    shipped = {p.relative_to(REPO).as_posix() for p in (REPO / 'configs').rglob('*') if p.is_file()}
    assert shipped and shipped == {p.relative_to(mim).as_posix() for p in (mim / 'configs').rglob('*')
                                   if p.is_file()}
    assert (mim / 'tools' / 'train.py').read_bytes() == (REPO / 'tools' / 'train.py').read_bytes()
    assert (mim / 'model-index.yml').is_file() and not list(mim.rglob('__pycache__'))
    assert (tmp_path / '_mixdet_config_prefix.py').read_bytes() == (REPO / 'mixdet/config_prefix.py').read_bytes()
    assert (tmp_path / 'mixdet-config-prefix.pth').read_text() == \
        'import _mixdet_config_prefix; _mixdet_config_prefix.install()\n'
    config = Config.fromfile(mim / 'configs/ssdlite_mixnet/ssdlite_mixnet-m-scratch_8xb24-600e_coco.py')
    assert config.model.backbone.arch == 'm'  # the inheritance chain resolves inside the package


@pytest.fixture(scope='module')
def wheel_python(tmp_path_factory):
    """The interpreter of a new environment outside the repository where mixdet is installed from a wheel built
    here from a copy of the sources (``MIXDET_BUILD_OPS=0``: without compiling the MixConv extension, which this
    test does not need), and the rest of the stack is this environment's (its .pth files are not processed there,
    so this environment's editable mixdet is not visible)."""
    work = tmp_path_factory.mktemp('wheel')
    source = work / 'source'
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        '.git', '.venv', 'build', 'work_dirs', 'data', '.mim', '__pycache__', '*.so', '*.egg-info', '.pytest_cache'))
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--quiet', '--no-deps', '--no-build-isolation', '--wheel-dir',
                    str(work / 'dist'), str(source)], env=dict(os.environ, MIXDET_BUILD_OPS='0'), check=True,
                   capture_output=True, timeout=600)
    venv = work / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(venv)], check=True, timeout=120)
    site = Path(sysconfig.get_path('purelib', vars={'base': str(venv), 'platbase': str(venv)}))
    (site / 'zz-outer-environment.pth').write_text(sysconfig.get_path('purelib') + '\n')
    wheel, = (work / 'dist').glob('mixdet-*.whl')
    subprocess.run([sys.executable, '-m', 'pip', 'install', '--quiet', '--no-deps', '--no-index', '--target',
                    str(site), str(wheel)], check=True, capture_output=True, timeout=300)
    return venv / 'bin' / 'python'


def run_python(python, *args, cwd):
    result = subprocess.run([str(python), '-W', 'ignore', *map(str, args)], cwd=cwd, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def resolve_in_empty_folder(python, folder):
    """What mmengine makes of ``mixdet::`` names with ``python``, run from ``folder`` (empty but for a user config):
    the user's config through mmdet's print_config.py, and a model-zoo config through mmengine.hub.get_config."""
    (folder / 'my_config.py').write_text(USER_CONFIG)
    printed = run_python(python, MMDET_PRINT_CONFIG, 'my_config.py', cwd=folder)
    script = ("import sys; from mmengine.hub import get_config; "
              "cfg = get_config('mixdet::ssdlite_mixnet/ssdlite_mixnet-s_8xb24-600e_coco.py'); "
              "print(cfg.model.backbone.type, cfg.model.backbone.arch, sys.modules['mixdet'].__file__)")
    return printed, run_python(python, '-c', script, cwd=folder).split()


def build_user_model(python, folder) -> list[str]:
    """The user's model and first custom hook built from the config, as the runner builds them: mmengine tags the
    entries that mixdet's configs write with the scope ``mixdet`` (the hook) and mmdet's with ``mmdet`` (the
    model, first written in mmdet's config)."""
    script = ("from mmengine.config import Config; from mmengine.registry import HOOKS, MODELS, init_default_scope; "
              "cfg = Config.fromfile('my_config.py'); init_default_scope(cfg.default_scope); "
              "model = MODELS.build(cfg.model); hook = HOOKS.build(cfg.custom_hooks[0]); "
              "print(cfg.custom_hooks[0]._scope_, type(hook).__name__, type(model).__name__, "
              "type(model.backbone).__name__, model.bbox_head.num_classes)")
    return run_python(python, '-c', script, cwd=folder).split()


def test_mixdet_configs_resolve_from_a_wheel(wheel_python, tmp_path):
    printed, (backbone, arch, mixdet_file) = resolve_in_empty_folder(wheel_python, tmp_path)
    assert "arch='m'" in printed and 'num_classes=3' in printed and "type='MixNet'" in printed
    assert (backbone, arch) == ('MixNet', 's')
    site = Path(mixdet_file).parents[1]
    assert site.is_relative_to(wheel_python.parents[1])  # the wheel's copy, in the new environment
    assert (site / 'mixdet/.mim/configs/shapes/ssdlite_mixnet-s_1xb8-1k_shapes.py').is_file()
    assert build_user_model(wheel_python, tmp_path) == ['mixdet', 'DataCheckHook', 'SSDLiteDetector', 'MixNet', '3']


def test_mixdet_configs_resolve_from_the_editable_install(tmp_path):
    printed, (backbone, arch, mixdet_file) = resolve_in_empty_folder(sys.executable, tmp_path)
    assert "arch='m'" in printed and 'num_classes=3' in printed
    assert (backbone, arch) == ('MixNet', 's')
    assert Path(mixdet_file) == REPO / 'mixdet/__init__.py'
    assert (REPO / 'mixdet/.mim/configs').resolve() == REPO / 'configs'
    assert build_user_model(sys.executable, tmp_path) == ['mixdet', 'DataCheckHook', 'SSDLiteDetector', 'MixNet', '3']


def test_model_index_names_every_coco_config():
    import yaml
    index = yaml.safe_load((REPO / 'model-index.yml').read_text())
    models = [m for path in index['Import'] for m in yaml.safe_load((REPO / path).read_text())['Models']]
    configs = {p.relative_to(REPO).as_posix() for p in (REPO / 'configs/ssdlite_mixnet').glob('*.py')}
    assert {m['Config'] for m in models} == configs
    assert all(m['Name'] == Path(m['Config']).stem for m in models)


def test_the_mobilenetv2_baseline_is_not_filed_as_a_mixnet_model():
    import yaml
    metafile = yaml.safe_load((REPO / 'configs/ssdlite_mixnet/metafile.yml').read_text())
    architecture = {c['Name']: set(c['Metadata']['Architecture']) for c in metafile['Collections']}
    for model in metafile['Models']:
        mixnet = 'mobilenetv2' not in model['Name']
        assert ({'MixNet', 'MixConv'} <= architecture[model['In Collection']]) == mixnet, model['Name']
