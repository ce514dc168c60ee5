"""Mutation check: break the code in user-relevant ways, one at a time, and see whether the tests notice.

Copies the working tree (``git ls-files -co --exclude-standard`` plus the built ``mixdet/ops/_C*.so``) to a
temporary folder, runs the union of the selected tests there unmutated (they must pass), then for each
mutation of ``tools/dev/mutations.py``: applies its edits (an old text that is not found exactly once makes
the mutation STALE), rebuilds the extension when C++ changed, runs its tests (``PYTHONPATH`` and cwd = the
copy, with a timeout) and records CAUGHT (tests failed, or their process died of a signal) or MISSED (tests passed),
then restores the files.
Not part of ``make test``; docs/testing.md records the last result. Examples::

    python tools/dev/mutation_check.py --list
    python tools/dev/mutation_check.py --only split-remainder-last same-pad-side
    python tools/dev/mutation_check.py --write docs/testing.md      # the whole list, recorded in the docs
"""
from __future__ import annotations

import argparse
import datetime
import glob
import os
import platform
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mutations import MUTATIONS, Mutation  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
EXTENSION_GLOB = 'mixdet/ops/_C*.so'
BASELINE_TIMEOUTS = 4  # the unmutated run of all selections may take this many --timeout
BEGIN, END = '<!-- mutation-check:begin -->', '<!-- mutation-check:end -->'


@dataclass
class Result:
    mutation: Mutation
    status: str  # CAUGHT | MISSED | STALE | ERROR | TIMEOUT
    seconds: float
    detail: str = ''


def copy_tree(dst: Path) -> None:
    """The files git would commit (tracked and untracked-not-ignored) and the built extension, copied to ``dst``."""
    listed = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard', '-z'], cwd=REPO, check=True,
                            capture_output=True).stdout.decode().split('\0')
    built = [os.path.relpath(p, REPO) for p in glob.glob(str(REPO / EXTENSION_GLOB))]
    if not built:
        raise SystemExit(f'no {EXTENSION_GLOB} in {REPO}: build the extension first (pip install -e . or '
                         f'python setup.py build_ext --inplace)')
    for rel in [p for p in listed if p] + built:
        if os.path.isfile(REPO / rel):  # a tracked file deleted in the working tree is listed too
            os.makedirs(dst / os.path.dirname(rel), exist_ok=True)
            shutil.copy2(REPO / rel, dst / rel)


def test_env(copy: Path) -> dict:
    """The environment of every command run in ``copy``: its mixdet first, no stale bytecode, default impl."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(copy), os.environ.get('PYTHONPATH', '')]).rstrip(os.pathsep),
               PYTHONDONTWRITEBYTECODE='1')
    env.pop('MIXDET_MIXCONV_IMPL', None)
    return env


def run(command: list[str], copy: Path, timeout: float) -> tuple[int | None, str]:
    """(exit code or None on timeout, output tail) of ``command`` in ``copy``; on timeout its process group is
    killed (tests start tools as subprocesses)."""
    proc = subprocess.Popen(command, cwd=copy, env=test_env(copy), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output = proc.communicate(timeout=timeout)[0]
        return proc.returncode, output[-3000:]
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return None, proc.communicate()[0][-3000:]


def pytest_command(tests: tuple[str, ...], k: str | None) -> list[str]:
    return [sys.executable, '-m', 'pytest', '-x', '-q', '-p', 'no:cacheprovider', *tests, *(['-k', k] if k else [])]


def check_copy_imports_itself(copy: Path) -> None:
    code, output = run([sys.executable, '-c', 'import mixdet; print(mixdet.__file__)'], copy, 300)
    if code != 0 or not output.strip().startswith(str(copy)):
        raise SystemExit(f'the copy does not import its own mixdet (got {output.strip()!r}); is mixdet installed in '
                         f'a way that PYTHONPATH cannot override?')


def baseline(mutations: list[Mutation], copy: Path, timeout: float) -> None:
    """The union of the mutations' tests, unmutated (one run per distinct ``-k``): they must pass."""
    selections: dict[str | None, list[str]] = {}
    for mutation in mutations:
        tests = selections.setdefault(mutation.k, [])
        tests += [t for t in mutation.tests if t not in tests]
    for k, tests in selections.items():
        begin = time.time()
        code, output = run(pytest_command(tuple(tests), k), copy, timeout)
        print(f'baseline: {len(tests)} selections{f" -k {k!r}" if k else ""}, exit {code}, '
              f'{time.time() - begin:.0f} s', flush=True)
        if code is None:
            raise SystemExit(f'the unmutated tests did not finish within {timeout:.0f} s:\n{output}')
        if code != 0:
            raise SystemExit(f'the unmutated tests do not pass (exit {code}); fix them first:\n{output}')


def mutated_texts(mutation: Mutation, root: Path) -> dict[str, tuple[str, str]] | str:
    """(original, mutated) text of each file the mutation edits under ``root``, or why it is stale."""
    texts: dict[str, tuple[str, str]] = {}
    for edit in mutation.edits:
        if edit.path not in texts:
            if not (root / edit.path).is_file():
                return f'{edit.path} does not exist'
            original = (root / edit.path).read_text()
            texts[edit.path] = (original, original)
        original, text = texts[edit.path]
        count = text.count(edit.old)
        if count != 1:
            return f'{edit.path}: the old text occurs {count} times: {edit.old[:60]!r}'
        texts[edit.path] = (original, text.replace(edit.old, edit.new))
    return texts


def apply(mutation: Mutation, copy: Path) -> dict[str, str] | str:
    """Apply the edits in ``copy``; return the original texts by path, or why the mutation is stale."""
    texts = mutated_texts(mutation, copy)
    if isinstance(texts, str):
        return texts
    for path, (_, mutated) in texts.items():
        (copy / path).write_text(mutated)
    return {path: original for path, (original, _) in texts.items()}


def needs_rebuild(mutation: Mutation) -> bool:
    """C++ compiled into the extension changed: csrc/ outside cuda/, or cuda/ too where nvcc would build it."""
    return any(p.startswith('mixdet/ops/csrc/') and (not p.startswith('mixdet/ops/csrc/cuda/') or shutil.which('nvcc'))
               for p in mutation.files)


def rebuild(copy: Path, timeout: float) -> tuple[int | None, str]:
    return run([sys.executable, 'setup.py', 'build_ext', '--inplace'], copy, timeout)


def check_one(mutation: Mutation, copy: Path, timeout: float) -> Result:
    """Apply, (rebuild,) test and restore one mutation in ``copy``."""
    begin = time.time()
    originals = apply(mutation, copy)
    if isinstance(originals, str):
        return Result(mutation, 'STALE', 0.0, originals)
    extension = [Path(p) for p in glob.glob(str(copy / EXTENSION_GLOB))]
    saved = {p: p.read_bytes() for p in extension} if needs_rebuild(mutation) else {}
    try:
        if saved:
            code, output = rebuild(copy, timeout)
            if code != 0:
                return Result(mutation, 'ERROR', time.time() - begin, f'rebuild failed (exit {code}): {output}')
        code, output = run(pytest_command(mutation.tests, mutation.k), copy, mutation.timeout or timeout)
    finally:
        for path, text in originals.items():
            (copy / path).write_text(text)
        for path, data in saved.items():
            path.write_bytes(data)
    seconds = time.time() - begin
    if code is None:
        return Result(mutation, 'TIMEOUT', seconds, output)
    # A test process killed by a signal (the planner's SIGFPE, a segfault) is a failure a user sees too: caught.
    status = 'CAUGHT' if code == 1 or code < 0 else 'MISSED' if code == 0 else 'ERROR'
    return Result(mutation, status, seconds, '' if status == 'CAUGHT' else f'pytest exit {code}: {output}')


def check_all(mutations: list[Mutation], copies: list[Path], timeout: float) -> list[Result]:
    """Run the mutations over the copies (one worker per copy); results in list order."""
    free: queue.Queue = queue.Queue()
    for copy in copies:
        free.put(copy)
    results: dict[int, Result] = {}
    lock = threading.Lock()

    def work(index: int, mutation: Mutation) -> None:
        copy = free.get()
        try:
            result = check_one(mutation, copy, timeout)
        finally:
            free.put(copy)
        with lock:
            results[index] = result
            print(f'{result.status:8} {mutation.name} ({result.seconds:.0f} s)'
                  + (f'\n{result.detail}' if result.status != 'CAUGHT' else ''), flush=True)

    threads = [threading.Thread(target=work, args=item) for item in enumerate(mutations)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [results[i] for i in range(len(mutations))]


def table(results: list[Result]) -> str:
    lines = ['| mutation | breakage | file | tests | result | time |', '|---|---|---|---|---|---|']
    for r in results:
        m = r.mutation
        tests = '<br>'.join(f'`{t}`' for t in m.tests) + (f' `-k {m.k}`' if m.k else '')
        lines.append(f'| `{m.name}` | {m.description} | `{"`, `".join(m.files)}` | {tests} | {r.status} | '
                     f'{r.seconds:.0f} s |')
    return '\n'.join(lines)


def totals(results: list[Result], seconds: float) -> str:
    counts = {s: sum(r.status == s for r in results) for s in ('CAUGHT', 'MISSED', 'STALE', 'ERROR', 'TIMEOUT')}
    return (f'**{counts["CAUGHT"]} of {len(results)} caught**, '
            + ', '.join(f'{n} {s.lower()}' for s, n in counts.items() if s != 'CAUGHT')
            + f'; {seconds / 60:.1f} min in all (copy, baseline, mutations)')


def machine() -> str:
    load = ', '.join(f'{v:.1f}' for v in os.getloadavg())
    return f'{platform.machine()} {platform.processor() or platform.system()}, {os.cpu_count()} cores, ' \
           f'Python {platform.python_version()}, load average at the end {load}'


def write_record(path: Path, command: str, results: list[Result], seconds: float) -> None:
    """Replace the part of ``path`` between the mutation-check markers with this run's record."""
    text = path.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f'{path} has no {BEGIN} ... {END} section to replace')
    record = (f'{BEGIN}\nLast run: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {machine()}.\n'
              f'Command: `{command}`.\n\n{table(results)}\n\n{totals(results, seconds)}\n{END}')
    head, rest = text.split(BEGIN, 1)
    path.write_text(head + record + rest.split(END, 1)[1])
    print(f'recorded in {path}')


def select(names: list[str] | None) -> list[Mutation]:
    known = {m.name: m for m in MUTATIONS}
    unknown = [n for n in names or [] if n not in known]
    if unknown:
        raise SystemExit(f'unknown mutation(s) {unknown}; --list shows them')
    return [known[n] for n in names] if names else list(MUTATIONS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--only', nargs='+', metavar='NAME', help='run these mutations only')
    parser.add_argument('--list', action='store_true', help='list the mutations and their tests, then exit')
    parser.add_argument('--jobs', type=int, default=1, help='mutations checked at once, each in its own copy')
    parser.add_argument('--timeout', type=float, default=900,
                        help='seconds per test run or rebuild (default 900; the unmutated run of all tests: 4x)')
    parser.add_argument('--write', type=Path, metavar='MD', help='record the result in this file (docs/testing.md)')
    parser.add_argument('--keep', action='store_true', help='keep the temporary copies')
    args = parser.parse_args()
    mutations = select(args.only)
    if args.list:
        for m in mutations:
            stale = mutated_texts(m, REPO)
            print(f'{m.name}: {m.description}\n    {", ".join(m.files)} -> {" ".join(m.tests)}'
                  + (f' -k {m.k!r}' if m.k else '') + (f'\n    STALE: {stale}' if isinstance(stale, str) else ''))
        return
    begin = time.time()
    root = Path(tempfile.mkdtemp(prefix='mixdet-mutation-'))
    copies = [root / f'copy{i}' for i in range(max(1, args.jobs))]
    try:
        for copy in copies:
            copy_tree(copy)
        print(f'{len(mutations)} mutations, {len(copies)} copies under {root}', flush=True)
        check_copy_imports_itself(copies[0])
        baseline(mutations, copies[0], BASELINE_TIMEOUTS * args.timeout)
        results = check_all(mutations, copies, args.timeout)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    seconds = time.time() - begin
    print(f'\n{table(results)}\n\n{totals(results, seconds)}')
    if args.write:
        command = 'python tools/dev/mutation_check.py' + (f' --only {" ".join(args.only)}' if args.only else '') \
            + (f' --jobs {args.jobs}' if args.jobs != 1 else '')
        write_record(args.write, command, results, seconds)
    sys.exit(0 if all(r.status == 'CAUGHT' for r in results) else 1)


if __name__ == '__main__':
    main()
