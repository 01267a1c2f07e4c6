"""The resource path and query option parsers, without a database."""

from __future__ import annotations

import pytest

from placehub.errors import BadRequest, NotFound, Unsupported
from placehub.sta.model import ENTITIES_BY_SET
from placehub.sta.options import parse_query_options
from placehub.sta.paths import parse_path


@pytest.mark.parametrize(("path", "kind", "target", "text"), [
    ("Things", "collection", "Thing", "Things"),
    ("Things(1)", "entity", "Thing", "Things(1)"),
    ("Things('7')", "entity", "Thing", "Things(7)"),
    ("Observations(1)/resultTime", "property", "Observation", "Observations(1)"),
    ("Observations(1)/resultTime/$value", "value", "Observation", "Observations(1)"),
    ("Datastreams(1)/Observations", "collection", "Observation", "Datastreams(1)/Observations"),
    ("Datastreams(1)/Observations/$ref", "ref", "Observation", "Datastreams(1)/Observations"),
    ("Datastreams(1)/Sensor", "entity", "Sensor", "Datastreams(1)/Sensor"),
    ("Datastreams(1)/Observations(2)/FeatureOfInterest", "entity", "FeatureOfInterest",
     "Datastreams(1)/Observations(2)/FeatureOfInterest"),
    ("Things(1)/properties/owner/name", "property", "Thing", "Things(1)"),
])
def test_valid_paths(path: str, kind: str, target: str, text: str) -> None:
    """Each URL pattern of 18-088 9.2 parses to its kind, target entity and canonical text."""
    parsed = parse_path(path)
    assert (parsed.kind, parsed.entity.name, parsed.text()) == (kind, target, text)


@pytest.mark.parametrize(("path", "message"), [
    ("Things/Datastreams", "is a collection"),
    ("Things(x)", "not valid"),
    ("Datastreams(1)/Thing(2)", "takes no id"),
    ("Things(1)/$ref/name", "last segment"),
    ("Things((1)", "not valid"),
])
def test_invalid_paths_name_the_problem(path: str, message: str) -> None:
    """A path that cannot be read is a BadRequest whose message says what is wrong."""
    with pytest.raises(BadRequest, match=message.replace("(", r"\(")):
        parse_path(path)


@pytest.mark.parametrize(("path", "message"), [
    ("Thngs", "unknown entity set 'Thngs'"),
    ("Foo", "unknown entity set 'Foo'"),
    ("MultiDatastreams", "not offered"),
    ("Things(1)/nosuch", "has no property or navigation 'nosuch'"),
    ("Things(1)/colour", "has no property or navigation"),
    ("Things(1)/name/first", "has no sub-properties"),
    ("Datastreams(1)/Observations(2)/Sensor", "has no property or navigation 'Sensor'"),
])
def test_names_the_model_lacks_address_nothing(path: str, message: str) -> None:
    """req/request-data/status-code (OData 404): a set, property or navigation the model does
    not have is NotFound, and the message lists what exists."""
    with pytest.raises(NotFound, match=message):
        parse_path(path)


def test_expand_items_merge_and_nest() -> None:
    """'$expand=Datastreams/Sensor,Datastreams($top=2;$expand=Observations($select=result))'
    gives one Datastreams item holding both Sensor and Observations."""
    options = parse_query_options(
        [("$expand", "Datastreams/Sensor,Datastreams($top=2;$expand=Observations("
                     "$select=result;$orderby=phenomenonTime desc,id))")],
        ENTITIES_BY_SET["Things"])
    datastreams = options.expand["Datastreams"]
    assert datastreams.options.top == 2
    assert set(datastreams.options.expand) == {"Sensor", "Observations"}
    observations = datastreams.options.expand["Observations"].options
    assert observations.select == ("result",)
    assert [key.text() for key in observations.orderby] == ["phenomenonTime desc", "id asc"]
    assert "$expand=Datastreams(" in options.query_string()


@pytest.mark.parametrize(("pairs", "error"), [
    ([("$top", "ten")], BadRequest),
    ([("$top", "1"), ("$top", "2")], BadRequest),
    ([("$count", "yes")], BadRequest),
    ([("$select", "name,colour")], BadRequest),
    ([("$orderby", "name upwards")], BadRequest),
    ([("$expand", "Datastreams($top=1")], BadRequest),
    ([("$expand", "Datastreams($bogus=1)")], BadRequest),
    ([("$nope", "1")], BadRequest),
    ([("$search", "bin")], Unsupported),
    ([("$expand", "Datastreams($levels=2)")], Unsupported),
])
def test_invalid_options(pairs: list[tuple[str, str]], error: type[Exception]) -> None:
    """Bad options are 400s naming the option; OData options not offered are 501s."""
    with pytest.raises(error):
        parse_query_options(pairs, ENTITIES_BY_SET["Things"])


def test_other_parameters_are_ignored() -> None:
    """Parameters without a $ (e.g. cache busters) do not disturb the options."""
    options = parse_query_options([("_", "123"), ("$top", "5")], ENTITIES_BY_SET["Things"])
    assert options.top == 5
