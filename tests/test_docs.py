"""The README is a contract: every command, setting and catalogue column it must mention, it does."""

import re
from pathlib import Path

import click
from click.testing import CliRunner

from xid_app.cli import main
from xid_app.config import Settings
from xid_app.export import CLASSIFICATION_COLUMNS, COLUMNS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _commands(group, prefix=()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name)


def test_every_command_is_documented_and_has_help():
    for words in _commands(main):
        assert f"`xid {' '.join(words)}" in README, f"xid {' '.join(words)} is not in the README"
        result = CliRunner().invoke(main, [*words, "--help"])
        assert result.exit_code == 0
        assert "--db" in result.output, f"xid {' '.join(words)} lacks --db"


def test_every_setting_is_documented():
    for name, field in Settings.model_fields.items():
        assert f"`XID_{name.upper()}`" in README, f"XID_{name.upper()} is not in the README"
        assert field.description


def _documented(section: str) -> dict:
    text = README.split(section)[1].split("\n### ")[0]
    rows = re.findall(r"^\| `(\w+)` \| (\w*) \| (.+) \|$", text, flags=re.M)
    return {name: (unit, meaning) for name, unit, meaning in rows}


def test_catalogue_columns_in_readme_match_the_code():
    documented = _documented("### Host-ID catalogue")
    assert list(documented) == [spec.name for spec in COLUMNS]
    for spec in COLUMNS:
        assert documented[spec.name] == (spec.unit or "", spec.description), spec.name


def test_classification_columns_in_readme_match_the_code():
    documented = _documented("### Raw classifications")
    assert list(documented) == [spec.name for spec in CLASSIFICATION_COLUMNS]
    for spec in CLASSIFICATION_COLUMNS:
        assert documented[spec.name] == (spec.unit or "", spec.description), spec.name


def test_source_catalogue_columns_in_readme_match_the_code():
    from xid_app.source_catalogue import SOURCE_COLUMNS

    documented = _documented("### Source catalogue")
    assert list(documented) == [spec.name for spec in SOURCE_COLUMNS]
    for spec in SOURCE_COLUMNS:
        assert documented[spec.name] == (spec.unit or "", spec.description), spec.name


def test_quick_start_is_two_commands():
    blocks = re.findall(r"```bash\n(.*?)```", README.split("## Quick start")[1].split("\n## ")[0], flags=re.S)
    assert [b.strip() for b in blocks] == ["pip install . && xid serve --demo",
                                           "pip install '.[test]' && python -m pytest"]
    assert "pip install '.[test]' && python -m pytest" in (Path(__file__).parent.parent / ".ci/run").read_text()
