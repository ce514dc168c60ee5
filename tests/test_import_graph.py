"""mixdet's import graph, drawn from its source: no circle, and no import that runs back up its floors.

A unit is a subpackage (``mixdet.ops``) or a top-level module (``mixdet.registry``). Each unit lives on a floor;
a module may import modules of its own unit and of units on lower floors, never sideways (another unit of its
floor) or up. The two lowest floors import no OpenMMLab package, so the op, the arch tables and the checkpoint
reader work where only torch is installed (the GPU machine). docs/architecture.md explains the floors.
"""
import ast
from collections import defaultdict

import pytest

from conftest import REPO

PACKAGE = REPO / 'mixdet'
FLOORS = [
    ('mixdet.version', 'mixdet.config_prefix', 'mixdet.utils', 'mixdet.archs'),  # plain Python
    ('mixdet.checkpoint', 'mixdet.ops'),  # torch, no OpenMMLab
    ('mixdet.layers', ),  # MixNet's modules (mmcv's norm layers)
    ('mixdet.registry', ),  # mmdet's registries
    ('mixdet.models', 'mixdet.datasets'),  # what configs build
    ('mixdet.engine', 'mixdet.deploy'),  # training and test runs; ONNX export
    ('mixdet.modules', ),  # the registry import point: imports every registering unit
    ('mixdet.apis', 'mixdet.testing'),  # what tools, user code and tests call
    ('mixdet', ),  # the package itself (light: version and config prefix)
]
FLOOR = {unit: floor for floor, units in enumerate(FLOORS) for unit in units}
OPENMMLAB = ('mmdet', 'mmcv', 'mmengine')
OPENMMLAB_FREE_FLOORS = 2  # floors 0 and 1


def module_names() -> dict[str, bool]:
    """{module name: is a package} of every .py file of mixdet and of its compiled extension (mixdet.ops._C)."""
    names = {}
    for path in PACKAGE.rglob('*.py'):
        parts = path.relative_to(REPO).with_suffix('').parts
        package = parts[-1] == '__init__'
        names['.'.join(parts[:-1] if package else parts)] = package
    for path in PACKAGE.rglob('*.so'):
        names['.'.join(path.relative_to(REPO).parts[:-1] + (path.name.split('.')[0], ))] = False
    return names


def imports(modules: dict[str, bool]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """({module: mixdet modules it imports}, {module: third-party top-level packages it imports}), imports inside
    functions included. ``from P import x`` counts as an import of P.x where x is a module, else of P."""
    graph, external = defaultdict(set), defaultdict(set)
    for name, package in modules.items():
        path = PACKAGE.parent / (name.replace('.', '/') + ('/__init__.py' if package else '.py'))
        if not path.is_file():  # a compiled extension
            continue
        here = name if package else name.rpartition('.')[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [(alias.name, None) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ''
                if node.level:
                    anchor = here.split('.')[:len(here.split('.')) - node.level + 1]
                    base = '.'.join(anchor + ([node.module] if node.module else []))
                targets = [(base, alias.name) for alias in node.names]
            else:
                continue
            for base, member in targets:
                if base.split('.')[0] != 'mixdet':
                    external[name].add(base.split('.')[0])
                elif member is not None and f'{base}.{member}' in modules:
                    graph[name].add(f'{base}.{member}')
                elif base in modules:
                    graph[name].add(base)
    return graph, external


def unit_of(module: str) -> str:
    return module if module == 'mixdet' else '.'.join(module.split('.')[:2])


MODULES = module_names()
GRAPH, EXTERNAL = imports(MODULES)


def test_every_unit_has_a_floor():
    assert {unit_of(m) for m in MODULES} == set(FLOOR), 'a new package or top-level module needs a floor here'


def test_no_import_runs_up_or_sideways():
    wrong = [f'{source} -> {target}' for source, targets in GRAPH.items() for target in targets
             if unit_of(source) != unit_of(target) and FLOOR[unit_of(target)] >= FLOOR[unit_of(source)]]
    assert not wrong, wrong


def test_no_circle():
    """No module reaches itself through its imports (a package's submodules may import each other freely
    only as long as no path leads back)."""
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(module):  # Tarjan's strongly connected components
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in GRAPH.get(module, ()):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1 or module in GRAPH.get(module, ()):
                circles.append(sorted(component))

    for module in sorted(MODULES):
        if module not in index:
            visit(module)
    assert not circles, circles


@pytest.mark.parametrize('floor', range(OPENMMLAB_FREE_FLOORS))
def test_the_lowest_floors_import_no_openmmlab(floor):
    found = {m: sorted(EXTERNAL[m] & set(OPENMMLAB)) for m in MODULES if FLOOR[unit_of(m)] == floor}
    assert not {m: names for m, names in found.items() if names}
