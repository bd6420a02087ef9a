"""A realistic personal memory for benchmarks: hundreds of distinct notes, as a user keeps.

Every note is different (people, places, dates, numbers, chores), so recall's de-duplication
does not shrink the store to a few texts, and a question about one thing finds a few related
notes among many unrelated ones, as it would in a real memory. Seeded: the same run builds the
same notes.
"""

from __future__ import annotations

import itertools
import random

PEOPLE = (
    "my sister Anna",
    "my brother Tom",
    "my friend Priya",
    "my neighbour Mr Costa",
    "my colleague Jun",
    "my aunt Maria",
    "my dentist Dr Okafor",
    "my landlord Pierre",
    "my cousin Lea",
    "my manager Sofia",
    "my plumber Ivan",
    "my friend Malik",
)
CITIES = (
    "Lyon",
    "Porto",
    "Leeds",
    "Gdansk",
    "Bologna",
    "Ghent",
    "Utrecht",
    "Bilbao",
    "Aarhus",
    "Graz",
    "Cork",
    "Tartu",
)
THINGS = (
    "spare house key",
    "passport",
    "bike lock key",
    "warranty of the fridge",
    "car log book",
    "winter tyres",
    "camping stove",
    "sewing kit",
    "first aid box",
    "tax letters",
    "old laptop",
    "wedding album",
)
PLACES = (
    "blue box in the attic",
    "drawer under the printer",
    "shed behind the lawnmower",
    "top shelf of the wardrobe",
    "kitchen cupboard by the window",
    "cellar next to the wine",
    "glovebox of the car",
    "desk in the study",
)
TASKS = (
    "renew the home insurance",
    "book the boiler service",
    "pay the water bill",
    "return the library books",
    "take the dog to the vet",
    "change the smoke alarm battery",
    "send the rent receipt",
    "order new contact lenses",
    "clean the gutters",
    "call the bank about the card",
    "water the tomatoes",
    "file the expense report",
)
FOODS = (
    "mushroom risotto",
    "lentil soup",
    "pad thai",
    "grilled sardines",
    "spinach pie",
    "chickpea curry",
    "ramen",
    "goulash",
)
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def personal_notes(count: int = 450, seed: int = 7) -> list[str]:
    """``count`` distinct notes (ValueError if the templates cannot make that many)."""
    rng = random.Random(seed)

    def pick(options: tuple[str, ...]) -> str:
        return rng.choice(options)

    # Each maker returns (what the note is about, the note): one note per subject, so the
    # memory never holds two different codes for the same garage.
    makers = [
        lambda p=pick: (
            (who := p(PEOPLE)) + " address",
            f"{_cap(who)} lives in {p(CITIES)} on "
            f"{p(('Rose', 'Mill', 'Station', 'Church', 'Park'))} Street, "
            f"number {rng.randint(2, 180)}.",
        ),
        lambda p=pick: (
            (who := p(PEOPLE)) + " birthday",
            f"The birthday of {who} is on {rng.randint(1, 28)} {p(MONTHS)}; "
            f"{p(('a book', 'flowers', 'tea', 'a scarf'))} would make a good present.",
        ),
        lambda p=pick: (
            (thing := p(THINGS)),
            f"The {thing} is kept in the {p(PLACES)}.",
        ),
        lambda p=pick: (
            (task := p(TASKS)) + f" {rng.randint(1, 3)}",
            f"Remember to {task} before {rng.randint(1, 28)} {p(MONTHS)}.",
        ),
        lambda p=pick: (
            (when := f"{p(DAYS)} {rng.randint(8, 19)}:{p(('00', '15', '30', '45'))}"),
            f"Meeting {p(PEOPLE)} on {when.replace(' ', ' at ')} about the "
            f"{p(('budget', 'move', 'garden', 'trip', 'kitchen', 'contract'))}.",
        ),
        lambda p=pick: (
            (who := p(PEOPLE)) + " food",
            f"{_cap(who)} does not eat {p(('nuts', 'pork', 'dairy', 'gluten', 'shellfish'))} "
            f"but loves {p(FOODS)}.",
        ),
        lambda p=pick: (
            (what := p(("boiler", "washing machine", "car", "bike", "roof")))
            + f" {(year := rng.randint(2016, 2026))}",
            f"The {what} was serviced in {p(MONTHS)} {year} for {rng.randint(40, 400)} euros.",
        ),
        lambda p=pick: (
            (door := p(("garage", "bike shed", "office door", "gate", "cellar", "safe"))),
            f"The code for the {door} is {rng.randint(1000, 9999)}.",
        ),
        lambda p=pick: (
            (who := p(PEOPLE)) + " phone",
            f"The phone number of {who} is 0{rng.randint(600, 799)} {rng.randint(100, 999)} "
            f"{rng.randint(1000, 9999)}.",
        ),
        lambda p=pick: (
            (who := p(PEOPLE)) + f" book {rng.randint(1, 4)}",
            f"{_cap(who)} lent me the book "
            f"{p(('Middlemarch', 'Dune', 'The Hobbit', 'Beloved', 'Solaris', 'Emma'))}.",
        ),
    ]
    notes: dict[str, str] = {}
    for _ in itertools.repeat(None, count * 200):
        key, note = rng.choice(makers)()
        if note not in notes.values():
            notes.setdefault(key, note)
        if len(notes) == count:
            return list(notes.values())
    raise ValueError(f"only {len(notes)} distinct notes could be made")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]
