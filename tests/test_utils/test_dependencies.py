"""A missing or wrong dependency is one sentence saying what to install."""
import importlib.metadata
import importlib.util

import pytest

from mixdet.utils import dependencies
from mixdet.utils.dependencies import check_dependencies, dependency_problems


def fake_versions(monkeypatch, **versions):
    real = importlib.metadata.version

    def version(name):
        if name in versions:
            if versions[name] is None:
                raise importlib.metadata.PackageNotFoundError(name)
            return versions[name]
        return real(name)
    monkeypatch.setattr(dependencies.importlib.metadata, 'version', version)


def test_installed_stack_passes():
    assert dependency_problems() == []


def test_missing_package_names_the_install_command(monkeypatch):
    fake_versions(monkeypatch, mmdet=None)
    with pytest.raises(ImportError, match=r'needs mmdet>=3.3.0,<3.4, which is not installed.*'
                                          r'pip install "mmdet>=3.3.0,<3.4"'):
        check_dependencies()


def test_wrong_version_is_named(monkeypatch):
    fake_versions(monkeypatch, mmcv='2.2.0')
    assert dependency_problems() == [
        'mixdet needs mmcv>=2.1.0,<2.2.0 but mmcv 2.2.0 is installed: run `make install` '
        '(or `MMCV_WITH_OPS=1 pip install --no-build-isolation "mmcv>=2.1.0,<2.2.0"`).']


def test_mmcv_without_compiled_ops_is_refused(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(dependencies.importlib.util, 'find_spec', lambda name: None if name == 'mmcv._ext'
                        else real(name))
    with pytest.raises(ImportError, match=r'mmcv built with its compiled ops \(mmcv._ext is missing'):
        check_dependencies()
