"""List loaders on the real 2021 SDN file and on small OFAC/UN XML documents; the versioned store."""

from __future__ import annotations

from pathlib import Path

import pytest

from yinqi.adapters.iso20022.safexml import XmlRejected
from yinqi.adapters.sanctions.files import read_list_file
from yinqi.adapters.sanctions.labelled import read_labelled
from yinqi.adapters.sanctions.store import FileListStore, InvalidListName
from yinqi.adapters.sanctions.xml_lists import UnknownListFormat, read_list_xml
from yinqi.application.screening import load_list


def test_the_real_2021_sdn_file_parses_with_its_aliases(testdata: Path) -> None:
    entities, problems, _ = read_list_file(testdata / "sanctions/ofac_sdn_2021-08-18.csv", list_name="ofac-sdn")
    assert len(entities) == 9083 and problems == []
    assert sum(len(e.all_names) - 1 for e in entities) == 2460  # remarks' a.k.a. names (duplicates folded)
    dumont = next(e for e in entities if e.entity_id == "7831")
    assert dumont.kind == "individual" and "1971-01-21" in dumont.birth_dates
    assert "ABU KHAMZA" in dumont.names and "BILAL" in dumont.weak_aliases
    assert next(e for e in entities if e.entity_id == "306").weak_aliases == ("BNC",)


def test_the_synthetic_list_merges_its_alt_file(testdata: Path) -> None:
    entities, _, _ = read_list_file(testdata / "sanctions/ssb_synthetic_list.csv", list_name="ssb",
                                    alt_path=testdata / "sanctions/ssb_synthetic_list_alt.csv")
    karimov = next(e for e in entities if e.entity_id == "9001")
    assert karimov.names == ("KARIMOV, Muhammad Yusuf", "KARIMOV, Mohammed Yousef")


OFAC_XML = b"""<?xml version="1.0"?>
<sdnList xmlns="https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/XML">
 <sdnEntry><uid>36</uid><lastName>AEROCARIBBEAN AIRLINES</lastName><sdnType>Entity</sdnType>
  <programList><program>CUBA</program></programList>
  <akaList><aka><uid>12</uid><type>a.k.a.</type><category>strong</category><lastName>AERO-CARIBBEAN</lastName></aka>
  <aka><uid>13</uid><type>a.k.a.</type><category>weak</category><lastName>AEROC</lastName></aka></akaList>
 </sdnEntry>
 <sdnEntry><uid>7831</uid><firstName>Lionel</firstName><lastName>DUMONT</lastName><sdnType>Individual</sdnType>
  <idList><id><idType>Passport</idType><idNumber>X123</idNumber></id></idList>
  <dateOfBirthList><dateOfBirthItem><dateOfBirth>21 Jan 1971</dateOfBirth></dateOfBirthItem></dateOfBirthList>
  <nationalityList><nationality><country>France</country></nationality></nationalityList>
 </sdnEntry>
</sdnList>"""

UN_XML = """<?xml version="1.0" encoding="UTF-8"?>
<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><DATAID>6908555</DATAID><FIRST_NAME>RI</FIRST_NAME>
 <SECOND_NAME>WON HO</SECOND_NAME><UN_LIST_TYPE>DPRK</UN_LIST_TYPE><REFERENCE_NUMBER>KPi.033</REFERENCE_NUMBER>
 <NAME_ORIGINAL_SCRIPT>리원호</NAME_ORIGINAL_SCRIPT><NATIONALITY><VALUE>Democratic People's Republic of Korea</VALUE>
 </NATIONALITY><INDIVIDUAL_ALIAS><QUALITY>Low</QUALITY><ALIAS_NAME>Ri</ALIAS_NAME></INDIVIDUAL_ALIAS>
 <INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE>EXACT</TYPE_OF_DATE><DATE>1964-07-17</DATE></INDIVIDUAL_DATE_OF_BIRTH>
 <INDIVIDUAL_DOCUMENT><TYPE_OF_DOCUMENT>Passport</TYPE_OF_DOCUMENT><NUMBER>381310014</NUMBER></INDIVIDUAL_DOCUMENT>
</INDIVIDUAL></INDIVIDUALS><ENTITIES><ENTITY><DATAID>110</DATAID><FIRST_NAME>KOREA MINING DEVELOPMENT CORP</FIRST_NAME>
 <REFERENCE_NUMBER>KPe.001</REFERENCE_NUMBER><ENTITY_ALIAS><QUALITY>Good</QUALITY><ALIAS_NAME>KOMID</ALIAS_NAME>
 </ENTITY_ALIAS></ENTITY></ENTITIES></CONSOLIDATED_LIST>""".encode()


def test_ofac_sdnlist_xml_reads_aliases_by_category_and_supporting_fields() -> None:
    entities, problems = read_list_xml(OFAC_XML, list_name="ofac-xml")
    assert problems == [] and [e.entity_id for e in entities] == ["36", "7831"]
    assert entities[0].names == ("AEROCARIBBEAN AIRLINES", "AERO-CARIBBEAN") and entities[0].weak_aliases == ("AEROC",)
    dumont = entities[1]
    assert (dumont.names[0], dumont.birth_dates, dumont.countries, dumont.identifiers) == (
        "DUMONT, Lionel", ("1971-01-21",), ("FR",), ("X123",))


def test_un_consolidated_xml_reads_individuals_and_entities() -> None:
    entities, _ = read_list_xml(UN_XML, list_name="un")
    ri, komid = entities
    assert ri.entity_id == "KPi.033" and ri.names == ("RI WON HO", "리원호") and ri.weak_aliases == ("Ri",)
    assert ri.birth_dates == ("1964-07-17",) and ri.countries == ("KP",) and ri.identifiers == ("381310014",)
    assert komid.kind == "organisation" and komid.names == ("KOREA MINING DEVELOPMENT CORP", "KOMID")


def test_xml_with_a_doctype_or_another_root_is_refused() -> None:
    with pytest.raises(XmlRejected):
        read_list_xml(b'<!DOCTYPE d [<!ENTITY x "y">]><sdnList>&x;</sdnList>', list_name="x")
    with pytest.raises(UnknownListFormat):
        read_list_xml(b"<Document/>", list_name="x")


def test_the_store_versions_lists_and_load_reports_the_diff(tmp_path: Path) -> None:
    store = FileListStore(tmp_path / "sanctions")
    first, _ = read_list_xml(OFAC_XML, list_name="ofac")
    r1 = load_list(store=store, list_name="ofac", entities=first, source="a", loaded_at_utc="t1", sha256="h1")
    r2 = load_list(store=store, list_name="ofac", entities=first[1:], source="b", loaded_at_utc="t2", sha256="h2")
    assert (r1.version.version, r1.previous, r1.diff.added) == (1, None, ("36", "7831"))
    assert (r2.version.version, r2.previous, r2.diff.removed) == (2, 1, ("36",))
    assert store.versions("ofac") == [1, 2] and store.latest("ofac") == r2.version
    with pytest.raises(InvalidListName):
        store.latest("../etc")


def test_labelled_files_of_both_shapes_are_read(testdata: Path) -> None:
    ssb = read_labelled((testdata / "name-matching/ssb_benchmark_sdn2021_seed11.json").read_bytes())
    yente = read_labelled((testdata / "name-matching/yente_negatives_us_1000.csv").read_bytes())
    assert len(ssb) == 5258 and sum(c.expected_entity_id is None for c in ssb) == 1495
    assert len(yente) == 1000 and {c.group for c in yente} == {"true_negative"}
    assert yente[0].query.birth_date == "1972-11-21"
