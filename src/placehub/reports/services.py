"""The kinds of problem residents can report (Open311 "services"), and what each becomes: the
asset type a report is attached to, and whether a round's visit puts it right."""

from __future__ import annotations

from dataclasses import dataclass, field

from placehub.errors import BadRequest, NotFound


@dataclass(frozen=True)
class Attribute:
    """An extra question of a service (an Open311 service definition attribute)."""

    code: str
    description: str
    datatype: str = "singlevaluelist"
    required: bool = False
    values: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ServiceType:
    """One kind of report."""

    code: str
    name: str
    description: str
    group: str
    keywords: tuple[str, ...]
    # The asset type a report is attached to (None: reported where it is, no asset).
    asset_type: str | None = None
    # A visit on a round puts it right (emptying, watering): it can be a mandatory stop, and a
    # done stop closes it.
    fixed_by_round: bool = False
    attributes: tuple[Attribute, ...] = field(default_factory=tuple)


# Changes whenever SERVICES does (GeoReport v2 discovery's changeset: clients refresh caches).
SERVICES_CHANGESET = "2026-12-07T00:00:00Z"

SERVICES: tuple[ServiceType, ...] = (
    ServiceType("overflowing_bin", "Overflowing litter bin",
                "A litter bin that is full or has rubbish piled round it.", "Street cleaning",
                ("bin", "litter", "full", "overflowing"), "litter_bin", fixed_by_round=True),
    ServiceType("damaged_bin", "Damaged litter bin",
                "A litter bin that is broken, burnt, knocked over or missing its lid.",
                "Street cleaning", ("bin", "broken", "damaged"), "litter_bin"),
    ServiceType("flowerbed", "Flowerbed needs care",
                "A council flowerbed that is dry, wilting or damaged.", "Parks and planting",
                ("flowerbed", "plants", "dry", "watering"), "flowerbed", fixed_by_round=True),
    ServiceType("fly_tipping", "Fly-tipping",
                "Rubbish dumped on the street, a verge or open land.", "Street cleaning",
                ("fly-tipping", "dumping", "rubbish"), attributes=(
                    Attribute("waste_type", "What has been dumped?", required=True, values=(
                        ("household", "Household rubbish or bags"),
                        ("furniture", "Furniture or white goods"),
                        ("garden", "Garden waste"),
                        ("building", "Building rubble"),
                        ("other", "Something else"))),)),
)
BY_CODE = {service.code: service for service in SERVICES}


def service_type(code: str) -> ServiceType:
    """The service with ``code``; NotFound lists the codes there are."""
    try:
        return BY_CODE[code]
    except KeyError:
        raise NotFound(f"no service {code!r}: use one of {', '.join(BY_CODE)}") from None


def check_attributes(service: ServiceType, given: dict[str, str]) -> dict[str, str]:
    """The attribute answers, checked against the service's questions."""
    known = {a.code: a for a in service.attributes}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise BadRequest(f"service {service.code} has no attribute {', '.join(unknown)}"
                         + (f": it asks {', '.join(known)}" if known else ""))
    for attribute in service.attributes:
        value = given.get(attribute.code, "").strip()
        if not value:
            if attribute.required:
                raise BadRequest(f"attribute[{attribute.code}] is required for "
                                 f"{service.code}: {attribute.description}")
            continue
        allowed = [key for key, _ in attribute.values]
        if allowed and value not in allowed:
            raise BadRequest(f"attribute[{attribute.code}]={value!r}: use one of "
                             f"{', '.join(allowed)}")
    return {k: v.strip() for k, v in given.items() if v.strip()}
