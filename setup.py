"""Build script: metadata lives in setup.cfg; this builds the MixConv extension ``mixdet.ops._C`` and puts
the configs, tools and model index into the package as ``mixdet/.mim/`` (where OpenMMLab's ``mim`` and
mmengine's ``mixdet::`` config prefix look for them, as in mmdet's own wheels): copies in built packages,
links to the checkout in an editable install. Built packages also carry ``mixdet-config-prefix.pth`` and its
module ``_mixdet_config_prefix`` (mixdet/config_prefix.py), which make ``mixdet::`` known to mmengine without
``import mixdet`` (see that file).

CPU kernels are always built. CUDA kernels are added when torch has CUDA and nvcc is found
(CUDA_HOME); ``MIXDET_WITH_CUDA=1`` forces them and fails when that is impossible,
``MIXDET_WITH_CUDA=0`` leaves them out. GPU architectures follow TORCH_CUDA_ARCH_LIST.
``MIXDET_BUILD_OPS=0`` builds no extension at all (a pure-Python package whose ``mixdet.ops`` runs the reference
implementation; the C++ sources are not packaged, so ``MIXDET_JIT_BUILD=1`` compiles them only in a checkout).
"""
import glob
import os
import shutil
import sys

import torch
from setuptools import setup
from setuptools.command.build_py import build_py
from torch.utils.cpp_extension import CUDA_HOME, BuildExtension, CppExtension, CUDAExtension

CSRC = os.path.join('mixdet', 'ops', 'csrc')
# Copied into the built package as mixdet/.mim/<name> (wheels, non-editable installs); linked as
# mixdet/.mim/<name> -> ../../<name> in the checkout by an editable install.
MIM_FILES = ('configs', 'tools', 'model-index.yml')
# Top-level files of built packages: the startup hook that registers the `mixdet::` config prefix.
PREFIX_MODULE = '_mixdet_config_prefix'
PREFIX_PTH = ('mixdet-config-prefix.pth', f'import {PREFIX_MODULE}; {PREFIX_MODULE}.install()\n')


class BuildPyWithMim(build_py):
    """build_py that also puts MIM_FILES into mixdet/.mim/ (copies without caches, or links when editable) and,
    for built packages, the config-prefix startup hook beside the package."""

    def run(self):
        super().run()
        if self.editable_mode:
            link_mim_files(os.path.join('mixdet', '.mim'))
            # setuptools builds an editable wheel from the files it installs into install_lib (the .pth that maps
            # the package to the checkout); the startup hook goes beside it.
            write_prefix_hook(self.get_finalized_command('install').install_lib)
            return
        mim = os.path.join(self.build_lib, 'mixdet', '.mim')
        for name in MIM_FILES:
            target = os.path.join(mim, name)
            if os.path.isdir(name):
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(name, target, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
            else:
                os.makedirs(mim, exist_ok=True)
                shutil.copy2(name, target)
        write_prefix_hook(self.build_lib)


def write_prefix_hook(site_dir: str) -> None:
    """The `mixdet::` startup hook (mixdet/config_prefix.py) as a top-level module and .pth file in ``site_dir``."""
    os.makedirs(site_dir, exist_ok=True)
    shutil.copyfile(os.path.join('mixdet', 'config_prefix.py'), os.path.join(site_dir, f'{PREFIX_MODULE}.py'))
    with open(os.path.join(site_dir, PREFIX_PTH[0]), 'w') as pth:
        pth.write(PREFIX_PTH[1])


def link_mim_files(mim: str) -> None:
    """mixdet/.mim/<name> -> ../../<name> for each of MIM_FILES (what mmdet's setup.py does for `develop`)."""
    os.makedirs(mim, exist_ok=True)
    for name in MIM_FILES:
        link = os.path.join(mim, name)
        if os.path.islink(link):
            os.remove(link)
        elif os.path.exists(link):
            sys.exit(f'mixdet: {link} exists and is not a link; remove it and install again')
        os.symlink(os.path.join('..', '..', name), link)


def cuda_wanted() -> bool:
    flag = os.environ.get('MIXDET_WITH_CUDA', '')
    if flag not in ('', '0', '1'):
        sys.exit(f'mixdet: MIXDET_WITH_CUDA must be 0 or 1, got {flag!r}')
    available = torch.version.cuda is not None and CUDA_HOME is not None \
        and os.path.exists(os.path.join(CUDA_HOME, 'bin', 'nvcc'))
    if flag == '1' and not available:
        sys.exit(f'mixdet: MIXDET_WITH_CUDA=1 but the CUDA kernels cannot be built: torch {torch.__version__} '
                 f'(CUDA {torch.version.cuda}), CUDA_HOME={CUDA_HOME} (needs bin/nvcc)')
    return available if flag == '' else flag == '1'


def extension():
    with_cuda = cuda_wanted()
    sources = [os.path.join(CSRC, 'mixconv.cpp')] + sorted(glob.glob(os.path.join(CSRC, 'cpu', '*.cpp')))
    args = {'cxx': ['-O3', '-fopenmp', '-Wno-psabi']}
    # Headers of pip-installed CUDA wheels (cuBLAS, cuDNN, ...) that a bare toolkit may lack.
    site = os.path.dirname(os.path.dirname(torch.__file__))
    include_dirs = sorted(glob.glob(os.path.join(site, 'nvidia', 'cu[0-9]*', 'include'))
                          + glob.glob(os.path.join(site, 'nvidia', 'cudnn', 'include'))) if with_cuda else []
    arch_list = os.environ.get('TORCH_CUDA_ARCH_LIST', '<visible GPUs>')
    cuda_line = f'yes (CUDA_HOME={CUDA_HOME}, TORCH_CUDA_ARCH_LIST={arch_list})' if with_cuda else \
        f'no (torch CUDA {torch.version.cuda}, CUDA_HOME={CUDA_HOME}, ' \
        f'MIXDET_WITH_CUDA={os.environ.get("MIXDET_WITH_CUDA", "<unset>")})'
    print(f'mixdet: building mixdet.ops._C with torch {torch.__version__}: CPU kernels yes, CUDA kernels {cuda_line}',
          flush=True)
    if not with_cuda:
        return CppExtension('mixdet.ops._C', sources, extra_compile_args=args, extra_link_args=['-fopenmp'])
    sources += sorted(glob.glob(os.path.join(CSRC, 'cuda', '*.cu')))
    args['nvcc'] = ['-O3', '-lineinfo']
    return CUDAExtension('mixdet.ops._C', sources, include_dirs=include_dirs, extra_compile_args=args,
                         extra_link_args=['-fopenmp'])


def build_ops() -> bool:
    flag = os.environ.get('MIXDET_BUILD_OPS', '1')
    if flag not in ('0', '1'):
        sys.exit(f'mixdet: MIXDET_BUILD_OPS must be 0 or 1, got {flag!r}')
    return flag == '1'


setup(ext_modules=[extension()] if build_ops() else [],
      cmdclass={'build_ext': BuildExtension, 'build_py': BuildPyWithMim})
