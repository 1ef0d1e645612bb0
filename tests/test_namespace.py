"""The generated closed namespace is up to date with the TBox and refuses misspelt terms."""

from __future__ import annotations

import pytest

from mesokg import _gen_namespace
from mesokg.namespace import MESOKG


def test_namespace_module_is_up_to_date():
    expected = _gen_namespace.render(_gen_namespace.declared_terms())
    assert _gen_namespace.TARGET.read_text(encoding="utf-8") == expected, "run: python -m mesokg._gen_namespace"


def test_namespace_is_closed():
    assert str(MESOKG.Treatment) == "https://w3id.org/mesokg/Treatment"
    assert str(MESOKG["frequency-common"]) == "https://w3id.org/mesokg/frequency-common"
    with pytest.raises(AttributeError):
        MESOKG.Treatmnt  # noqa: B018
