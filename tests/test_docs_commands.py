"""Every command written in the README and docs runs as written: the files it names exist, its options are the
tool's (each command line is parsed by the tool's own argument parser, without running it), and the cheap ones
run. Commands come from the Markdown's shell code blocks and from inline code that starts with ``python``."""
import argparse
import os
import re
import runpy
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

DOCS = [REPO / 'README.md', *sorted((REPO / 'docs').glob('*.md')), *sorted((REPO / 'configs').glob('*/README.md'))]
MMDET_TOOLS = Path(__import__('mmdet').__file__).parent / '.mim' / 'tools'
REPO_DIRS = ('configs', 'tools', 'docs', 'mixdet', 'tests', 'requirements')
# A path of the repository inside inline code or a command (placeholders and globs excluded).
REPO_PATH = re.compile(rf'^(?:{"|".join(REPO_DIRS)})/[\w./-]*$')
CODE_BLOCK = re.compile(r'^```(\w*)\n(.*?)^```$', re.S | re.M)  # every fenced block, in pairs
SHELL_LANGUAGES = ('', 'bash', 'sh', 'shell')
NUMBER_PLACEHOLDERS = {'N': '1', 'T': '1', 'H': '320', 'W': '320'}
# Commands cheap enough to run as written (seconds), from the repository root.
CHEAP_TOOLS = ('tools/analysis_tools/get_flops.py',)


def documented_commands() -> list[tuple[str, str]]:
    """``(where, command)`` of every documented command: ``python ...``, ``bash ...`` and ``make ...`` lines of
    shell code blocks (unlabelled or bash/sh/shell; continuations joined) and inline code spans that start with
    ``python``."""
    found = []
    for doc in DOCS:
        text = doc.read_text()
        for block in CODE_BLOCK.finditer(text):
            if block.group(1) not in SHELL_LANGUAGES:
                continue
            line_no = text[:block.start()].count('\n') + 2
            # continuations: a trailing backslash, or an indented line of optional arguments ('    [--opset N]')
            body = re.sub(r'\n[ \t]+(?=\[)', ' ', block.group(2).replace('\\\n', ' '))
            for offset, line in enumerate(body.splitlines()):
                words = line.split()
                while words and re.match(r'^[A-Z_]+=\S*$', words[0]):  # VAR=value prefixes
                    words.pop(0)
                if words and words[0] in ('python', 'bash', 'make'):
                    found.append((f'{doc.relative_to(REPO)}:{line_no + offset}', ' '.join(words)))
        for span in re.finditer(r'`(python [^`]+)`', text):
            found.append((f'{doc.relative_to(REPO)}:{text[:span.start()].count(chr(10)) + 1}', span.group(1)))
    return found


COMMANDS = documented_commands()


def words_of(command: str) -> list[str]:
    """The command's words, with the tool folders that docs/tools.md and docs/custom_dataset.md define; a command
    substitution (``$(cat work_dir/last_checkpoint)``) is one word, as the shell passes it."""
    command = re.sub(r'\$\([^)]*\)', 'SUBSTITUTED', command)
    return [w.replace('$MMDET_TOOLS', str(MMDET_TOOLS)).replace('$MIXDET_TOOLS', str(REPO / 'tools'))
            for w in shlex.split(command, comments=True)]


def script_of(command: str) -> Path | None:
    """The Python tool a ``python TOOL ...`` command runs (a repository tool or one of mmdet's), else None."""
    words = words_of(command)
    if words[0] != 'python' or len(words) < 2 or not words[1].endswith('.py'):
        return None
    return Path(words[1]) if Path(words[1]).is_absolute() else REPO / words[1]


def synopsis_arguments(words: list[str]) -> list[str]:
    """The arguments of a usage line as one concrete command: optional groups ``[...]`` included, the first of
    alternatives (``a|b``, ``[--x 1 | --y 2]``) taken, ``...`` repetitions dropped, number placeholders (N, T,
    H, W) given a value."""
    arguments, skipping = [], False
    for word in words:
        opens, closes = word.startswith('['), word.endswith(']')
        word = word.strip('[]')
        if word == '|':
            skipping = True
        elif word not in ('...', '') and not skipping:
            word = word.split('|')[0]
            arguments.append(NUMBER_PLACEHOLDERS.get(word, word))
        if closes and not opens or closes and word == '|':
            skipping = False
    return arguments


class Parsed(Exception):
    """Raised by the patched argparse once a tool's command line is parsed, so that the tool stops there."""


def parse_only(monkeypatch) -> None:
    """Make every ArgumentParser stop the program with Parsed right after parsing all its arguments successfully."""
    parse_known_args = argparse.ArgumentParser.parse_known_args

    def parse_then_stop(self, args=None, namespace=None):
        _, unknown = parse_known_args(self, args, namespace)
        if unknown:  # what parse_args would refuse (it calls this method, then errors on the rest)
            self.error(f'unrecognized arguments: {" ".join(unknown)}')
        raise Parsed

    monkeypatch.setattr(argparse.ArgumentParser, 'parse_known_args', parse_then_stop)


def test_commands_were_found():
    assert len(COMMANDS) > 30
    assert any('get_flops.py' in c for _, c in COMMANDS) and any('$MMDET_TOOLS' in c for _, c in COMMANDS)


def test_every_repository_path_the_docs_name_exists():
    """Paths in commands and in inline code (``configs/...``, ``tools/...``, ...) name files or folders that exist."""
    missing = []
    for doc in DOCS:
        spans = [w for span in re.findall(r'`([^`\n]+)`', doc.read_text()) for w in span.split()]
        for word in spans + [w for where, c in COMMANDS if where.startswith(str(doc.relative_to(REPO)))
                             for w in words_of(c)]:
            word = word.strip('[](),;:"\'')
            if REPO_PATH.match(word) and not (REPO / word).exists():
                missing.append(f'{doc.relative_to(REPO)}: {word}')
    assert not missing, missing


def test_every_documented_tool_exists():
    missing = [f'{where}: {c}' for where, c in COMMANDS
               if (script_of(c) is not None and not script_of(c).is_file())
               or (words_of(c)[0] == 'bash' and not (REPO / words_of(c)[1]).is_file())]
    assert not missing, missing


@pytest.mark.parametrize('where, command', [(w, c) for w, c in COMMANDS if script_of(c) is not None],
                         ids=lambda value: value if ':' in value else None)
def test_documented_tool_options_are_the_tools_own(where, command, monkeypatch):
    """The command line, as a usage synopsis, is accepted by the tool's own argument parser: the tool runs as
    ``__main__`` and stops right after parsing (Parsed); an argparse error would exit with 2. Importing a tool must
    leave the environment alone (later tests start subprocesses with it)."""
    environment = dict(os.environ)
    script = script_of(command)
    monkeypatch.setattr(sys, 'argv', [str(script), *synopsis_arguments(words_of(command)[2:])])
    monkeypatch.syspath_prepend(str(script.parent))
    parse_only(monkeypatch)
    with pytest.raises(Parsed):
        try:
            runpy.run_path(str(script), run_name='__main__')
        except SystemExit as error:
            pytest.fail(f'{where}: `{command}` is refused by {script.name}: exit {error.code}')
    assert dict(os.environ) == environment, f'{script.name} changed the environment on import or while parsing'


def test_documented_make_targets_exist():
    targets = set(re.findall(r'^([\w-]+):', (REPO / 'Makefile').read_text(), re.M))
    unknown = [f'{where}: {c}' for where, c in COMMANDS if words_of(c)[0] == 'make'
               and words_of(c)[1] not in targets]
    assert not unknown, unknown


@pytest.mark.parametrize('where, command', [(w, c) for w, c in COMMANDS if script_of(c) is not None
                                            and any(script_of(c) == REPO / tool for tool in CHEAP_TOOLS)
                                            and not re.search(r'\b[A-Z]{3,}\b', c)],  # no placeholder (CONFIG)
                         ids=lambda value: value if ':' in value else None)
def test_cheap_documented_commands_run_as_written(where, command):
    result = subprocess.run([sys.executable, *words_of(command)[1:]], cwd=REPO, capture_output=True, text=True,
                            timeout=600, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert result.returncode == 0, f'{where}: `{command}` failed:\n{result.stderr[-2000:]}'


def test_readme_config_snippets_build(tmp_path):
    """The README's configs of one's own (``_base_ = 'mixdet::...'``) build their model (get_flops.py builds it)."""
    snippets = re.findall(r"^```python\n(_base_ = 'mixdet::.*?)^```", (REPO / 'README.md').read_text(), re.S | re.M)
    assert snippets
    for index, snippet in enumerate(snippets):
        config = tmp_path / f'snippet_{index}.py'
        config.write_text(snippet)
        result = subprocess.run([sys.executable, str(REPO / 'tools/analysis_tools/get_flops.py'), str(config)],
                                cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0 and 'params: ' in result.stdout, f'{snippet}\n{result.stderr[-2000:]}'
