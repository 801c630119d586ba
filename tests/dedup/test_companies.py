from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zentropy.dedup.companies import CompanyAliases, base_key, company_key, is_staffing_agency
from zentropy.hookspecs import hookimpl
from zentropy.plugins import Plugins
from zentropy.settings import Settings


@pytest.mark.parametrize(("name", "key"), [
    ("Acme Inc.", "acme"),
    ("ACME, INC", "acme"),
    ("Acme Corporation", "acme"),
    ("Acme LLC", "acme"),
    ("Acme Ltd", "acme"),
    ("Acme Limited", "acme"),
    ("Acme GmbH", "acme"),
    ("Acme GmbH & Co. KG", "acme"),
    ("Acme AG & Co. KG", "acme"),
    ("Acme S.A.", "acme"),
    ("Acme B.V.", "acme"),
    ("Acme Pty Ltd", "acme"),
    ("Acme Sp. z o.o.", "acme"),
    ("Acme Pvt. Ltd.", "acme"),
    ("The Acme Company", "acme"),
    ("Acme & Co.", "acme"),
    ("L'Oréal S.A.", "loreal"),
    ("Nestlé S.A.", "nestle"),
    ("Amazon.com, Inc.", "amazon"),
    ("Aperture Laboratories", "aperture labs"),
    ("Procter & Gamble", "p and g"),
    ("Company", "company"),  # a name that is only a legal form keeps it
    ("", ""),
    (None, ""),
])
def test_legal_forms_case_and_punctuation_are_dropped(name, key):
    assert company_key(name) == key


@pytest.mark.parametrize(("a", "b"), [
    ("Meta", "Facebook"), ("Meta Platforms, Inc.", "facebook"), ("Alphabet Inc.", "Google LLC"),
    ("Amazon Web Services (AWS)", "Amazon"), ("Twitter", "X Corp."), ("PricewaterhouseCoopers", "PwC"),
    ("Ernst & Young", "EY"), ("The Walt Disney Company", "Disney"),
])
def test_builtin_aliases_make_one_employer(a, b):
    assert company_key(a) == company_key(b)


def test_aliases_resolve_chains_and_stop_at_cycles():
    aliases = CompanyAliases([("a corp", "b corp"), ("b corp", "c corp"), ("x", "y"), ("y", "x")])
    assert aliases.key("A Corp Inc.") == "c"
    assert aliases.key("x") in {"x", "y"} and aliases.key("y") in {"x", "y"}  # terminates


def test_empty_alias_is_refused():
    with pytest.raises(ValueError, match="non-empty"):
        CompanyAliases().add("", "meta")


class AliasPlugin:
    @hookimpl
    def register_company_aliases(self, register):
        register("Instagram", "Meta Platforms, Inc.")
        register("Hooli XYZ", "Hooli")
        register("", "nothing")  # ignored with a warning, the rest still counts


def test_plugins_extend_the_alias_table_through_the_hook(caplog):
    plugins = Plugins(Settings())
    plugins.register(AliasPlugin(), name="aliases")
    with caplog.at_level(logging.WARNING, logger="zentropy.dedup.companies"):
        aliases = CompanyAliases.from_plugins(plugins)
    assert aliases.key("instagram") == aliases.key("Facebook") == "meta"
    assert aliases.key("Hooli XYZ Inc.") == "hooli"
    assert aliases.key("facebook") == "meta"  # the built-in table is still there
    assert any("company alias ignored" in r.message for r in caplog.records)
    assert "aliases" not in plugins.failed


@pytest.mark.parametrize(("key", "agency"), [
    ("robert half", True), ("randstad", True), ("brightpath staffing", True), ("summit recruitment", True),
    ("acme", False), ("stripe", False),
])
def test_staffing_agencies_are_recognized(key, agency):
    assert is_staffing_agency(key) is agency


NAMES = st.text(alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzäöüéç ABCXYZ.,&'-"), min_size=1, max_size=30)


@given(NAMES)
def test_company_key_is_idempotent(name):
    key = base_key(name)
    assert base_key(key) == key


@given(NAMES)
def test_company_key_ignores_case(name):
    assert base_key(name.upper()) == base_key(name.lower()) == base_key(name)


@given(NAMES, st.sampled_from(["Inc.", ", Inc", "LLC", "Ltd.", "GmbH", "S.A.", "Corp", "plc"]))
def test_company_key_ignores_a_legal_form(name, form):
    key = base_key(name)
    if key and key.split()[-1] not in {"and", "co", "s", "sp", "z", "de"}:  # a form could join the name's end
        assert base_key(f"{name} {form}") == key


@given(NAMES)
def test_company_key_ignores_punctuation_between_words(name):
    spaced = " ".join(name.split())
    assert base_key(spaced.replace(" ", ", ")) == base_key(spaced)
