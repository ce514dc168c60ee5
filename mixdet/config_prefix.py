"""``mixdet::`` config names in mmengine: ``_base_ = 'mixdet::ssdlite_mixnet/ssdlite_mixnet-s_8xb24-600e_coco.py'``.

mmengine 0.10.7 resolves ``PKG::PATH`` only for the names in its fixed table ``mmengine.config.utils.MODULE2PACKAGE``
(OpenMMLab's own projects: mmdet, mmyolo, mmpretrain, ... are entries there) and then reads
``<package folder>/.mim/configs/PATH``; any other name fails with "mmengine does not support to load ... config".
:func:`register` adds mixdet to that table, with the value ``mixdet.version``: a module, not a distribution, so
that mmengine finds the package folder with ``importlib.util.find_spec``, i.e. where Python imports mixdet from.
(With the value ``mixdet`` mmengine would take the distribution's location, which for an editable install is
site-packages, where there is no mixdet folder.) Built packages carry ``mixdet/.mim/``, and an editable install
links ``mixdet/.mim/`` to the checkout's configs, tools and model index (setup.py).

Who registers: ``import mixdet`` (so mixdet's tools, ``mim train mixdet`` and code that imports mixdet resolve the
prefix), and in installed packages ``mixdet-config-prefix.pth``, which calls :func:`install` when Python starts:
that registers the moment mmengine's config module is first imported, importing nothing before, so that mmdet's
own tools and ``Config.fromfile`` without ``import mixdet`` resolve ``mixdet::`` too.

This file imports nothing from mixdet: setup.py also installs it as the top-level module ``_mixdet_config_prefix``
for that .pth file (importing ``mixdet.config_prefix`` would import all of mixdet at every start of Python).
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys

SCOPE = 'mixdet'
LOCATOR = 'mixdet.version'  # a module of the package: mmengine locates the package folder through it
CONFIG_MODULE = 'mmengine.config.utils'  # holds MODULE2PACKAGE


def register(module2package: dict) -> None:
    """Add ``mixdet`` to mmengine's table of packages whose configs ``PKG::PATH`` names."""
    module2package.setdefault(SCOPE, LOCATOR)


def install() -> None:
    """Register as soon as mmengine's config module is imported (at once if it already is)."""
    if CONFIG_MODULE in sys.modules:
        register(sys.modules[CONFIG_MODULE].MODULE2PACKAGE)
    elif not any(isinstance(finder, _RegisterAfterImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _RegisterAfterImport())


class _RegisterAfterImport(importlib.abc.MetaPathFinder):
    """Finds mmengine's config module as the path finder does, with a loader that registers after executing it."""

    def find_spec(self, fullname, path, target=None):
        if fullname != CONFIG_MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and isinstance(spec.loader, importlib.abc.Loader):
            spec.loader = _RegisteringLoader(spec.loader)
        return spec


class _RegisteringLoader(importlib.abc.Loader):
    """A module's own loader, plus :func:`register` once the module has run."""

    def __init__(self, loader: importlib.abc.Loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        self.loader.exec_module(module)
        register(module.MODULE2PACKAGE)

    def __getattr__(self, name):  # get_source, get_filename, ... of the wrapped loader
        return getattr(self.loader, name)
