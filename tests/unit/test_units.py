"""Units and the time elsewhere: exact conversions, temperatures, US and metric measures
named, refusals that say why, and time zones across DST and half-hour offsets."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from app.core.tools.base import ToolError
from app.core.tools.clock import ManualClock
from app.core.tools.units import ConvertUnits, TimeIn, approximately, zone_of

LONDON = ZoneInfo("Europe/London")


def convert(quantity: str, unit: str, to: str) -> str:
    return ConvertUnits().run({"quantity": quantity, "unit": unit, "to": to}).reply


def test_conversions_are_exact_where_the_definitions_are() -> None:
    assert convert("5", "miles", "km") == "5 miles = 8.04672 km."
    assert convert("1", "pound", "grams") == "1 pound = 453.59237 grams."
    assert convert("1", "day", "seconds") == "1 day = 86,400 seconds."
    assert convert("2", "uk pints", "litres") == "2 uk pints = 1.1365225 litres."
    assert convert("2,5", "kg", "g") == "2.5 kg = 2,500 g."  # a decimal comma
    assert convert("1/2", "cup", "ml").startswith("0.5 cup = 118.29411825 ml (US measures")


def test_temperatures_convert_with_their_offsets() -> None:
    assert convert("20", "degrees celsius", "fahrenheit") == "20 °C = 68 °F."
    assert convert("100", "f", "c") == "100 °F = about 37.7778 °C."
    assert convert("-40", "degrees", "fahrenheit") == "-40 °C = -40 °F."
    assert convert("0", "celsius", "kelvin") == "0 °C = 273.15 K."


def test_recurring_results_are_rounded_and_say_about() -> None:
    assert convert("10", "kilos", "pounds") == "10 kilos = about 22.0462 pounds."
    assert approximately(Fraction(1, 3)) == "about 0.333333"
    assert approximately(Fraction(5, 4)) == "1.25"


def test_mismatched_unknown_and_huge_are_refused_plainly() -> None:
    with pytest.raises(ToolError, match="measure different things"):
        convert("5", "km", "kg")
    with pytest.raises(ToolError, match="do not know the unit “furlongs per fortnight”"):
        convert("5", "furlongs per fortnight", "mph")
    with pytest.raises(ToolError, match="too large"):
        convert("9" * 30, "km", "miles")
    with pytest.raises(ToolError, match="not a number"):
        convert("lots", "km", "miles")


def time_in(place: str, now: datetime) -> str:
    return TimeIn(ManualClock(now)).run({"place": place}).reply


def test_time_elsewhere_follows_each_places_dst_and_odd_offsets() -> None:
    winter = datetime(2026, 12, 2, 10, 0, tzinfo=LONDON)
    summer = datetime(2027, 7, 1, 10, 0, tzinfo=LONDON)
    assert time_in("Tokyo", winter) == "It is 19:00 in Tokyo (9 hours ahead of you)."
    assert time_in("Tokyo", summer) == "It is 18:00 in Tokyo (8 hours ahead of you)."
    assert time_in("New York", summer) == "It is 05:00 in New York (5 hours behind you)."
    assert time_in("india", winter) == ("It is 15:30 in India (5 hours 30 minutes ahead of you).")
    late = datetime(2026, 12, 2, 22, 0, tzinfo=LONDON)
    assert time_in("Sydney", late) == "It is 09:00 on Thursday in Sydney (11 hours ahead of you)."
    assert time_in("London", winter) == "It is 10:00 in London (the same time as you)."


def test_places_are_cities_of_zone_names_or_known_countries_and_others_refused() -> None:
    assert zone_of("Buenos Aires") == "America/Argentina/Buenos_Aires"
    assert zone_of("the UK") == "Europe/London"
    assert zone_of("San Francisco") == "America/Los_Angeles"
    assert zone_of("the film") is None
    with pytest.raises(ToolError, match="time zone of “Atlantis”"):
        time_in("Atlantis", datetime(2026, 12, 2, 10, 0, tzinfo=LONDON))
