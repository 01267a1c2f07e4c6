"""Definition files are strict: unknown keys and parameters are errors naming what is allowed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from placehub.insight.definition import (
    DefinitionError,
    load_definition,
    parse_definition,
    parse_definition_text,
)


def document(tmp_path: Path) -> dict[str, Any]:
    """A valid two-indicator definition under one component."""
    (tmp_path / "p.csv").write_text("code,a,b\nA,1,2\nB,3,1\nC,2,5\n")
    return {
        "index": {"id": "t"},
        "data": {"file": "p.csv", "place": "code"},
        "node": [{"id": "part", "weighting": "equal"}],
        "indicator": [{"id": "a", "column": "a", "parent": "part"},
                      {"id": "b", "column": "b", "parent": "part"}],
    }


def test_a_misspelt_weight_names_the_key_and_the_allowed_ones(tmp_path: Path) -> None:
    """`weigth = 0.5` on an indicator is refused, naming weigth and listing weight."""
    doc = document(tmp_path)
    doc["indicator"][0]["weigth"] = 0.5
    with pytest.raises(DefinitionError) as error:
        parse_definition(doc, tmp_path)
    message = str(error.value)
    assert "[[indicator]] a" in message and "unknown key 'weigth'" in message
    assert "allowed: id, column" in message and "weight" in message


@pytest.mark.parametrize(("table", "key"), [
    ("index", "rank1"), ("data", "plac_name"), ("population", "colunm"),
    ("compare", "rnak"), ("sensitivity", "run"),
])
def test_unknown_keys_in_every_table_are_errors(tmp_path: Path, table: str, key: str) -> None:
    """Each table refuses a key it does not know, saying which table."""
    doc = document(tmp_path)
    doc.setdefault(table, {})
    if table == "population":
        doc["population"]["column"] = "a"
    doc[table][key] = 1
    with pytest.raises(DefinitionError, match=f"unknown key '{key}'"):
        parse_definition(doc, tmp_path)


def test_an_unknown_top_level_table_is_an_error(tmp_path: Path) -> None:
    """A misspelt [[indicators]] table is not silently ignored."""
    doc = document(tmp_path)
    doc["indicators"] = doc["indicator"]
    with pytest.raises(DefinitionError, match="unknown key 'indicators'"):
        parse_definition(doc, tmp_path)


def test_a_node_normalisation_is_used_and_its_parameters_checked(tmp_path: Path) -> None:
    """A node may carry a normalisation; a parameter its method lacks is refused."""
    doc = document(tmp_path)
    doc["node"][0]["normalisation"] = {"method": "exponential"}
    definition = parse_definition(doc, tmp_path)
    assert definition.nodes[0].normalisation is not None
    assert definition.nodes[0].normalisation.method == "exponential"
    doc["node"][0]["normalisation"] = {"method": "min_max", "rnage": [0, 1]}
    with pytest.raises(DefinitionError, match="min_max has no parameter 'rnage'.*range"):
        parse_definition(doc, tmp_path)


def test_a_bad_choice_lists_the_choices(tmp_path: Path) -> None:
    """weighting = "pcaa" names the allowed weightings, factor among them."""
    doc = document(tmp_path)
    doc["node"][0]["weighting"] = "pcaa"
    with pytest.raises(DefinitionError, match="weighting = 'pcaa' not understood.*'factor'"):
        parse_definition(doc, tmp_path)


def test_goalposts_given_twice_are_refused(tmp_path: Path) -> None:
    """Goalposts in the normalisation and as indicator keys at once is ambiguous."""
    doc = document(tmp_path)
    doc["indicator"][0].update(normalisation={"method": "goalposts", "dystopia": 0,
                                              "utopia": 5}, dystopia=0, utopia=5)
    with pytest.raises(DefinitionError, match="goalposts given twice"):
        parse_definition(doc, tmp_path)


def test_uploaded_definitions_read_only_inside_the_data_folder(tmp_path: Path) -> None:
    """An uploaded definition may not name an absolute path or climb out of the data folder."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "p.csv").write_text("code,a\nA,1\n")
    text = '[index]\nid = "t"\n[data]\nfile = "{}"\nplace = "code"\n' \
           '[[indicator]]\nid = "a"\ncolumn = "a"\n'
    assert parse_definition_text(text.format("p.csv"), data, data_dir_only=True).data.file \
        == (data / "p.csv").resolve()
    for bad in ("/etc/passwd", "../p.csv"):
        with pytest.raises(DefinitionError, match="inside it"):
            parse_definition_text(text.format(bad), data, data_dir_only=True)


def test_the_shipped_definitions_are_strictly_valid(data_dir: Path) -> None:
    """iod2019 and spi_example load under the strict rules."""
    for name in ("iod2019", "spi_example"):
        assert load_definition(name, data_dir).indicators
