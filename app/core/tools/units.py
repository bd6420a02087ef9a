"""Unit conversion ("5 miles in km", "how many grams in a pound", "20 °C in Fahrenheit") and
the time elsewhere ("what time is it in Tokyo").

Conversions are pint's, over exact fractions, so "1 mile = 1.609344 km" is exact and a
recurring result says "about". The phrase is matched against Hearth's own list of unit words
(no pint needed to decide, so the fast path stays under a millisecond); pint is loaded on the
first conversion (about 0.4 s, or during warm-up). pint's cup, pint, quart, gallon and fluid
ounce are the US measures; a "metric cup" is 250 ml and "UK"/"imperial" pints and gallons are
the British ones, and the reply names which was used.

Places: the last part of every IANA zone name ("Tokyo", "New York", "Buenos Aires") and a
short table of countries and big cities that have no zone of their own name.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import datetime
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from app.core.tools.base import AsksNothing, Risk, ToolCall, ToolError, ToolResult, object_schema
from app.core.tools.clock import Clock
from app.core.tools.maths import show
from app.core.tools.when import words_to_digits

_UNITS: dict[str, tuple[str, ...]] = {
    # pint's expression: the words a user says for it
    "millimeter": ("mm", "millimetre", "millimetres", "millimeter", "millimeters"),
    "centimeter": ("cm", "centimetre", "centimetres", "centimeter", "centimeters"),
    "meter": ("m", "metre", "metres", "meter", "meters"),
    "kilometer": ("km", "kms", "kilometre", "kilometres", "kilometer", "kilometers"),
    "inch": ("inch", "inches"),
    "foot": ("ft", "foot", "feet"),
    "yard": ("yd", "yds", "yard", "yards"),
    "mile": ("mile", "miles", "mi"),
    "nautical_mile": ("nautical mile", "nautical miles"),
    "milligram": ("mg", "milligram", "milligrams"),
    "gram": ("g", "gram", "grams", "gramme", "grammes"),
    "kilogram": ("kg", "kgs", "kilo", "kilos", "kilogram", "kilograms"),
    "metric_ton": ("tonne", "tonnes", "metric ton", "metric tons"),
    "ounce": ("oz", "ounce", "ounces"),
    "pound": ("lb", "lbs", "pound", "pounds"),
    "stone": ("stone", "stones", "st"),
    "milliliter": ("ml", "millilitre", "millilitres", "milliliter", "milliliters"),
    "centiliter": ("cl", "centilitre", "centilitres", "centiliter", "centiliters"),
    "deciliter": ("dl", "decilitre", "decilitres", "deciliter", "deciliters"),
    "liter": ("l", "litre", "litres", "liter", "liters"),
    "teaspoon": ("tsp", "teaspoon", "teaspoons"),
    "tablespoon": ("tbsp", "tablespoon", "tablespoons"),
    "cup": ("cup", "cups", "us cup", "us cups"),
    "metric_cup": ("metric cup", "metric cups"),
    "fluid_ounce": ("fl oz", "fluid ounce", "fluid ounces"),
    "pint": ("pint", "pints", "us pint", "us pints"),
    "imperial_pint": ("uk pint", "uk pints", "imperial pint", "imperial pints"),
    "quart": ("quart", "quarts"),
    "gallon": ("gallon", "gallons", "us gallon", "us gallons"),
    "imperial_gallon": ("uk gallon", "uk gallons", "imperial gallon", "imperial gallons"),
    "degC": ("°c", "c", "celsius", "degrees celsius", "degree celsius", "centigrade"),
    "degF": ("°f", "f", "fahrenheit", "degrees fahrenheit", "degree fahrenheit"),
    "kelvin": ("kelvin", "kelvins"),
    "mile / hour": ("mph", "miles per hour", "miles an hour"),
    "kilometer / hour": ("kph", "km/h", "kmh", "kilometres per hour", "kilometers per hour"),
    "meter / second": ("m/s", "metres per second", "meters per second"),
    "knot": ("knot", "knots"),
    "meter ** 2": ("m2", "m²", "square metre", "square metres", "square meter", "square meters"),
    "foot ** 2": ("sq ft", "square foot", "square feet"),
    "kilometer ** 2": ("km2", "km²", "square kilometre", "square kilometres", "square km"),
    "mile ** 2": ("square mile", "square miles"),
    "acre": ("acre", "acres"),
    "hectare": ("ha", "hectare", "hectares"),
    "second": ("second", "seconds", "secs"),
    "minute": ("minute", "minutes", "mins"),
    "hour": ("hour", "hours", "hrs"),
    "day": ("day", "days"),
    "week": ("week", "weeks"),
    "byte": ("byte", "bytes"),
    "kilobyte": ("kb", "kilobyte", "kilobytes"),
    "megabyte": ("mb", "megabyte", "megabytes"),
    "gigabyte": ("gb", "gigabyte", "gigabytes"),
    "terabyte": ("tb", "terabyte", "terabytes"),
    "calorie": ("calorie", "calories", "cal"),
    "kilocalorie": ("kcal", "kilocalorie", "kilocalories"),
    "joule": ("j", "joule", "joules"),
    "kilojoule": ("kj", "kilojoule", "kilojoules"),
    "kilowatt_hour": ("kwh", "kilowatt hour", "kilowatt hours"),
}
WORDS: dict[str, str] = {w: unit for unit, said in _UNITS.items() for w in said}
_US = {"cup", "pint", "quart", "gallon", "fluid_ounce"}
_DEGREES = ("degrees", "degree", "°")
_NUMBER = r"(?P<n>-?\d+(?:[.,]\d+)?(?:\s*/\s*\d+)?|an?|one|half an?|half a)"
_UNIT = r"(?P<{}>[a-z°²/ ]+?)"
_CONVERT = re.compile(
    r"^(?:convert|change|turn|what(?:'s| is)|whats|how much is|how far is|how long is|"
    rf"how heavy is)?\s*{_NUMBER}\s*{_UNIT.format('src')}\s+(?:in|to|into|as)\s+"
    rf"(?:a |an )?{_UNIT.format('dst')}$"
)
_HOW_MANY = re.compile(
    rf"^how many {_UNIT.format('dst')} (?:are |is )?(?:there )?(?:in|to) (?:a |an |one )?"
    rf"(?:{_NUMBER}\s*)?{_UNIT.format('src')}$"
)


def unit_word(text: str, other: str = "") -> str | None:
    """pint's expression for what the user said ("km" -> "kilometer"); a bare "degrees" is
    Celsius or Fahrenheit, whichever ``other`` is not."""
    said = " ".join(text.lower().replace("°", "° ").split()).replace("° ", "°")
    said = re.sub(r"^(?:degrees|degree)\s+", "", said) if said not in WORDS else said
    if said in _DEGREES:
        return "degF" if WORDS.get(other) == "degC" else "degC"
    return WORDS.get(said)


def match_units(said: str) -> ToolCall | None:
    """ "5 miles in km" -> convert_units(quantity="5", unit="miles", to="km"), or None."""
    s = " ".join(said.lower().replace("\u2019", "'").split()).rstrip("?.! ")
    s = re.sub(r"(?<=\d)(?=[a-z°])", " ", s)  # "5km" -> "5 km"
    s = words_to_digits(s)
    found = _CONVERT.match(s) or _HOW_MANY.match(s)
    if found is None:
        return None
    src, dst = found["src"].strip(), found["dst"].strip()
    if unit_word(src, dst) is None or unit_word(dst, src) is None:
        return None
    number = (found["n"] or "1").strip()
    if number in ("a", "an", "one"):
        number = "1"
    elif number.startswith("half"):
        number = "1/2"
    return ToolCall("convert_units", {"quantity": number, "unit": src, "to": dst})


@functools.cache
def _registry() -> Any:
    import pint

    units: Any = pint.UnitRegistry(non_int_type=Fraction, cache_folder=None)
    units.define("metric_cup = 250 * milliliter")
    return units


def warm_up() -> None:
    """Load pint's unit definitions (about 0.4 s) before the first conversion."""
    _registry()


_SHOWN = {"degC": " °C", "degF": " °F", "kelvin": " K"}


def approximately(value: Fraction) -> str:
    """Exact when it is a short decimal ("8.04672"), else "about 4.22675" (6 significant
    figures): a conversion's ratio of large numbers helps nobody."""
    exact = show(value)
    if "/" not in exact:
        return exact
    from decimal import Decimal, localcontext

    with localcontext() as ctx:
        ctx.prec = 6
        rounded = Decimal(value.numerator) / Decimal(value.denominator)
    text = f"{rounded:,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"about {text}"


def _amount(text: str) -> Fraction:
    s = text.replace(" ", "")
    if re.fullmatch(r"-?\d+,\d{1,2}", s):  # "2,5" as many write a decimal comma
        s = s.replace(",", ".")
    s = s.replace(",", "")
    try:
        value = Fraction(s)
    except (ValueError, ZeroDivisionError) as exc:
        raise ToolError(f"“{text}” is not a number I can convert.") from exc
    if abs(value) > 10**15:
        raise ToolError("That number is too large to convert.")
    return value


class ConvertUnits(AsksNothing):
    name = "convert_units"
    description = (
        "Convert an amount between units of length, weight, volume, temperature, speed, area, "
        "time, data or energy ('5 miles' to 'km')."
    )
    schema = object_schema(
        {
            "quantity": {"type": "string", "minLength": 1, "maxLength": 30},
            "unit": {"type": "string", "minLength": 1, "maxLength": 30},
            "to": {"type": "string", "minLength": 1, "maxLength": 30},
        },
        ["quantity", "unit", "to"],
    )
    risk = Risk.READ

    def run(self, args: Mapping[str, Any]) -> ToolResult:
        said_from, said_to = str(args["unit"]).strip(), str(args["to"]).strip()
        src, dst = unit_word(said_from, said_to), unit_word(said_to, said_from)
        if src is None or dst is None:
            unknown = said_from if src is None else said_to
            raise ToolError(f"I do not know the unit “{unknown}”.")
        amount = _amount(str(args["quantity"]))
        import pint

        units: Any = _registry()
        try:
            result = units.Quantity(amount, src).to(dst).magnitude
        except pint.DimensionalityError as exc:
            raise ToolError(f"{said_from} and {said_to} measure different things.") from exc
        value = Fraction(result)
        note = ""
        if {src, dst} & _US:
            note = " (US measures; say “UK pint”, “imperial gallon” or “metric cup” for others)"
        before, after = _SHOWN.get(src, f" {said_from}"), _SHOWN.get(dst, f" {said_to}")
        reply = f"{show(amount)}{before} = {approximately(value)}{after}{note}."
        return ToolResult(reply, card={"value": str(value)})


_PLACES: dict[str, str] = {
    "japan": "Asia/Tokyo",
    "osaka": "Asia/Tokyo",
    "kyoto": "Asia/Tokyo",
    "china": "Asia/Shanghai",
    "beijing": "Asia/Shanghai",
    "india": "Asia/Kolkata",
    "delhi": "Asia/Kolkata",
    "new delhi": "Asia/Kolkata",
    "mumbai": "Asia/Kolkata",
    "bangalore": "Asia/Kolkata",
    "bengaluru": "Asia/Kolkata",
    "chennai": "Asia/Kolkata",
    "korea": "Asia/Seoul",
    "south korea": "Asia/Seoul",
    "vietnam": "Asia/Ho_Chi_Minh",
    "hanoi": "Asia/Bangkok",
    "thailand": "Asia/Bangkok",
    "uae": "Asia/Dubai",
    "abu dhabi": "Asia/Dubai",
    "israel": "Asia/Jerusalem",
    "tel aviv": "Asia/Jerusalem",
    "turkey": "Europe/Istanbul",
    "ankara": "Europe/Istanbul",
    "uk": "Europe/London",
    "england": "Europe/London",
    "britain": "Europe/London",
    "great britain": "Europe/London",
    "scotland": "Europe/London",
    "edinburgh": "Europe/London",
    "glasgow": "Europe/London",
    "manchester": "Europe/London",
    "wales": "Europe/London",
    "cardiff": "Europe/London",
    "ireland": "Europe/Dublin",
    "france": "Europe/Paris",
    "germany": "Europe/Berlin",
    "munich": "Europe/Berlin",
    "frankfurt": "Europe/Berlin",
    "hamburg": "Europe/Berlin",
    "spain": "Europe/Madrid",
    "barcelona": "Europe/Madrid",
    "italy": "Europe/Rome",
    "milan": "Europe/Rome",
    "netherlands": "Europe/Amsterdam",
    "holland": "Europe/Amsterdam",
    "switzerland": "Europe/Zurich",
    "geneva": "Europe/Zurich",
    "poland": "Europe/Warsaw",
    "russia": "Europe/Moscow",
    "greece": "Europe/Athens",
    "portugal": "Europe/Lisbon",
    "usa": "America/New_York",
    "us": "America/New_York",
    "washington": "America/New_York",
    "washington dc": "America/New_York",
    "boston": "America/New_York",
    "miami": "America/New_York",
    "atlanta": "America/New_York",
    "philadelphia": "America/New_York",
    "chicago": "America/Chicago",
    "dallas": "America/Chicago",
    "houston": "America/Chicago",
    "austin": "America/Chicago",
    "san francisco": "America/Los_Angeles",
    "seattle": "America/Los_Angeles",
    "california": "America/Los_Angeles",
    "las vegas": "America/Los_Angeles",
    "san diego": "America/Los_Angeles",
    "canada": "America/Toronto",
    "montreal": "America/Toronto",
    "ottawa": "America/Toronto",
    "brazil": "America/Sao_Paulo",
    "rio": "America/Sao_Paulo",
    "rio de janeiro": "America/Sao_Paulo",
    "argentina": "America/Argentina/Buenos_Aires",
    "mexico": "America/Mexico_City",
    "australia": "Australia/Sydney",
    "canberra": "Australia/Sydney",
    "new zealand": "Pacific/Auckland",
    "wellington": "Pacific/Auckland",
    "egypt": "Africa/Cairo",
    "kenya": "Africa/Nairobi",
    "nigeria": "Africa/Lagos",
    "south africa": "Africa/Johannesburg",
    "cape town": "Africa/Johannesburg",
}


@functools.cache
def _zones_by_city() -> dict[str, str]:
    found: dict[str, str] = {}
    for name in sorted(available_timezones()):
        if not name.startswith(
            (
                "Africa/",
                "America/",
                "Asia/",
                "Atlantic/",
                "Australia/",
                "Europe/",
                "Indian/",
                "Pacific/",
            )
        ):
            continue
        city = name.rsplit("/", 1)[-1].replace("_", " ").lower()
        found.setdefault(city, name)
    return found


def zone_of(place: str) -> str | None:
    """The IANA zone of a city or country ("Tokyo", "new york", "Japan"), or None."""
    said = " ".join(re.sub(r"[^\w\s]", " ", place.lower()).split())
    said = re.sub(r"^(?:the|in)\s+", "", said)
    return _PLACES.get(said) or _zones_by_city().get(said)


def offset_words(there: datetime, here: datetime) -> str:
    """ "9 hours ahead of you", "5 hours 30 minutes behind you", "the same time as you"."""
    there_offset, here_offset = there.utcoffset(), here.utcoffset()
    assert there_offset is not None and here_offset is not None
    minutes = round((there_offset - here_offset).total_seconds() / 60)
    if minutes == 0:
        return "the same time as you"
    hours, rest = divmod(abs(minutes), 60)
    parts = [f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []
    if rest:
        parts.append(f"{rest} minutes")
    return " ".join(parts) + (" ahead of you" if minutes > 0 else " behind you")


class TimeIn(AsksNothing):
    name = "time_in"
    description = "Say the time and day now in another city or country ('Tokyo', 'New York')."
    schema = object_schema(
        {"place": {"type": "string", "minLength": 1, "maxLength": 60}}, ["place"]
    )
    risk = Risk.READ

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def run(self, args: Mapping[str, Any]) -> ToolResult:
        place = str(args["place"]).strip().rstrip("?.!")
        name = zone_of(place)
        if name is None:
            raise ToolError(f"I do not know the time zone of “{place}”.")
        here = self.clock.now()
        there = here.astimezone(ZoneInfo(name))
        day = "" if there.date() == here.date() else f" on {there:%A}"
        shown = place if place[:1].isupper() else place.title()
        return ToolResult(
            f"It is {there:%H:%M}{day} in {shown} ({offset_words(there, here)}).",
            card={"zone": name, "time": there.isoformat(timespec="minutes")},
        )


def zone_tools(clock: Clock) -> list[Any]:
    return [ConvertUnits(), TimeIn(clock)]
