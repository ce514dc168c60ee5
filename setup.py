"""Build script: metadata lives in setup.cfg; this builds the MixConv extension ``mixdet.ops._C`` and puts
the configs, tools and model index into the package as ``mixdet/.mim/`` (where OpenMMLab's ``mim`` and
mmengine's ``mixdet::`` config prefix look for them, as in mmdet's own wheels).

CPU kernels are always built. CUDA kernels are added when torch has CUDA and nvcc is found
(CUDA_HOME); ``MIXDET_WITH_CUDA=1`` forces them and fails when that is impossible,
``MIXDET_WITH_CUDA=0`` leaves them out. GPU architectures follow TORCH_CUDA_ARCH_LIST.
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
# Copied into the built package as mixdet/.mim/<name> (wheels, sdists' builds, non-editable installs).
MIM_FILES = ('configs', 'tools', 'model-index.yml')


class BuildPyWithMim(build_py):
    """build_py that also copies MIM_FILES into <build_lib>/mixdet/.mim/ (without caches)."""

    def run(self):
        super().run()
        mim = os.path.join(self.build_lib, 'mixdet', '.mim')
        for name in MIM_FILES:
            target = os.path.join(mim, name)
            if os.path.isdir(name):
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(name, target, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
            else:
                os.makedirs(mim, exist_ok=True)
                shutil.copy2(name, target)


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


setup(ext_modules=[extension()], cmdclass={'build_ext': BuildExtension, 'build_py': BuildPyWithMim})
