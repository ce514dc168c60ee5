"""Every third-party module that mixdet imports is declared: setup.cfg's install_requires (requirements/runtime.txt)
for the package, or the ``deploy`` extra (requirements/deploy.txt) for mixdet.deploy; the installed metadata comes
from those files, and ``import mixdet`` works without the extra."""
import ast
import importlib.metadata
import subprocess
import sys
import sysconfig
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mixdet.ops import _loader
from mixdet.utils import dependencies

from conftest import REPO

EXTRA_FOR = {'mixdet/deploy': 'deploy'}  # package folder -> the extra that declares what it imports


def requirement_lines(name: str) -> list[str]:
    lines = (REPO / 'requirements' / f'{name}.txt').read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith('#')]


def declared(name: str) -> set[str]:
    return {canonicalize_name(Requirement(line).name) for line in requirement_lines(name)}


def imported_modules(path: Path) -> set[str]:
    """Top-level names of the absolute imports in a file (those inside functions too), stdlib and mixdet aside."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split('.')[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split('.')[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != 'mixdet'}


def test_every_module_mixdet_imports_is_declared():
    distributions_of = importlib.metadata.packages_distributions()
    runtime = declared('runtime')
    undeclared = []
    for path in sorted((REPO / 'mixdet').rglob('*.py')):
        where = path.relative_to(REPO).as_posix()
        extra = next((e for folder, e in EXTRA_FOR.items() if where.startswith(folder + '/')), None)
        allowed = runtime | (declared(extra) if extra else set())
        for module in imported_modules(path):
            distributions = {canonicalize_name(d) for d in distributions_of.get(module, [module])}
            if not distributions & allowed:
                undeclared.append(f'{where}: {module} ({", ".join(sorted(distributions))})')
    assert not undeclared, undeclared


def test_installed_metadata_lists_the_requirement_files():
    """setup.cfg reads install_requires and the extras from requirements/ (no second list to keep in step); the
    installed distribution is read from site-packages (a stale mixdet.egg-info of a build in the checkout, which
    the current folder puts first on the path, would not tell)."""
    installed, = [d for d in importlib.metadata.distributions(path=[sysconfig.get_path('purelib')])
                  if d.metadata['Name'] == 'mixdet']
    metadata = {str(Requirement(r)) for r in installed.requires}
    expected = {str(Requirement(line)) for line in requirement_lines('runtime')}
    for extra in ('deploy', 'tools'):
        expected |= {str(Requirement(f'{line}; extra == "{extra}"')) for line in requirement_lines(extra)}
    assert metadata == expected


def test_the_import_time_checks_read_the_ranges_of_runtime_txt(monkeypatch):
    """The check and mixdet.ops's torch minimum take every >=,< range of runtime.txt (the one place of the ranges),
    from the file in a checkout and from the installed metadata elsewhere."""
    ranges = {r.name: r.specifier for r in map(Requirement, requirement_lines('runtime'))
              if {s.operator for s in r.specifier} == {'>=', '<'}}
    assert set(ranges) == {'torch', 'mmengine', 'mmcv', 'mmdet'}
    read = {name: Requirement(f'{name}>={low},<{high}').specifier for name, (low, high) in
            dependencies.declared_ranges().items()}
    assert read == ranges
    monkeypatch.setattr(dependencies, 'RUNTIME_FILE', REPO / 'no-such-file.txt')
    dependencies.declared_ranges.cache_clear()
    try:
        from_metadata = {name: Requirement(f'{name}>={low},<{high}').specifier for name, (low, high) in
                         dependencies.declared_ranges().items()}
    finally:
        monkeypatch.undo()
        dependencies.declared_ranges.cache_clear()
    assert from_metadata == ranges
    assert _loader.MIN_TORCH == str(next(s.version for s in ranges['torch'] if s.operator == '>='))


def test_import_mixdet_needs_no_extra():
    script = 'import sys, mixdet; print(sorted(m for m in ("onnx", "onnxruntime") if m in sys.modules))'
    result = subprocess.run([sys.executable, '-W', 'ignore', '-c', script], capture_output=True, text=True,
                            check=True, timeout=300)
    assert result.stdout.strip() == '[]'
