"""Every ``qplane`` command and option has plain help text, and ``qplane --version`` works."""

import argparse
import subprocess
import sys

import qplane
from qplane.cli import build_parser

MARKUP = ("``", ":class:", ":mod:", ":func:", ":meth:", ":data:")


def _walk(parser, path=("qplane",)):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, path + (name,))


def _problems():
    problems = []
    for path, parser in _walk(build_parser()):
        command = " ".join(path)
        texts = [("description", parser.description)]
        subhelp = {}
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                subhelp = {a.dest: a.help for a in action._choices_actions}
                for name in action.choices:
                    if not subhelp.get(name):
                        problems.append(f"{command} {name}: no help")
                continue
            name = "/".join(action.option_strings) or action.dest
            if not action.help or action.help == argparse.SUPPRESS:
                problems.append(f"{command} {name}: no help")
            texts.append((name, action.help))
        texts += list(subhelp.items())
        for name, text in texts:
            if text and any(m in text for m in MARKUP):
                problems.append(f"{command} {name}: reST markup in help")
    return problems


def test_every_command_and_option_has_plain_help():
    assert _problems() == []


def test_help_output_carries_no_rest_markup():
    for path, parser in _walk(build_parser()):
        text = parser.format_help()
        assert not any(m in text for m in MARKUP), " ".join(path)


def test_version():
    out = subprocess.run([sys.executable, "-m", "qplane.cli", "--version"], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == f"qplane {qplane.__version__}"
