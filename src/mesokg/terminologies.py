"""Code systems whose hierarchy mesokg can walk: validity and ancestors of a code, from shipped code data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class CodeSystem:
    name: str
    is_valid: Callable[[str], bool]
    ancestors: Callable[[str], list[str]]  # nearest first


def _icd10cm() -> CodeSystem:
    import simple_icd_10_cm as cm

    return CodeSystem("ICD-10-CM", cm.is_valid_item, lambda code: list(cm.get_ancestors(code)))


CODE_SYSTEMS: dict[str, Callable[[], CodeSystem]] = {"ICD10CM": _icd10cm}


def code_system(prefix: str) -> CodeSystem | None:
    factory = CODE_SYSTEMS.get(prefix)
    return factory() if factory else None
