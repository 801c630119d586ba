"""Docs are part of the feature: every hook has its own heading in docs/plugins.md."""

from __future__ import annotations

import re

import pytest

from tests.plugin_packages import ROOT
from zentropy import hookspecs
from zentropy.plugins import Plugins

PLUGINS_DOC = (ROOT / "docs" / "plugins.md").read_text()
HEADINGS = set(re.findall(r"^### (\w+)$", PLUGINS_DOC, flags=re.M))
HOOKS = sorted(Plugins().pm.hook.__dict__.keys() & {n for n in dir(hookspecs) if n.startswith("register_")})


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented(hook):
    assert hook in HEADINGS, f"docs/plugins.md has no '### {hook}' heading"


def test_no_heading_documents_a_hook_that_does_not_exist():
    assert HEADINGS <= set(HOOKS)


def test_readme_names_every_hook_family_and_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    for hook in HOOKS:
        assert hook in readme
    assert "make run" in readme and "make test" in readme


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_readme_configuration_table_lists_every_core_setting():
    from zentropy.settings import Settings, env_names

    readme = (ROOT / "README.md").read_text()
    for var in env_names(Settings).values():
        assert f"`{var}`" in readme, f"README's configuration table lacks {var}"
