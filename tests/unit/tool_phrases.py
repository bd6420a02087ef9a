"""Phrasings for the tools' fast path, written for the tests, at a frozen clock.

The clock is Wednesday 2 December 2026, 10:00 in Europe/London. Each entry is (what the user
said, the tool expected or None, the arguments expected). For reminders "due" is the local
time the reminder must ring first ("YYYY-MM-DD HH:MM") and "repeat" its RRULE when it repeats;
an event likewise by its title, first start, length and repeat; a move by the new time
("YYYY-MM-DD HH:MM", or only the day when no time was said); a day or week by its first and
last day.
None means: no tool may run (chit-chat, negations, the past, questions for the model).
"""

from __future__ import annotations

from typing import Any

Phrase = tuple[str, str | None, dict[str, Any]]


def timer(seconds: float, name: str = "") -> dict[str, Any]:
    return {"seconds": seconds, "name": name}


def rule(freq: str, hour: int, minute: int = 0, day: str = "", monthday: int = 0) -> str:
    """The RRULE Hearth stores, as written by dateutil."""
    parts = [f"FREQ={freq}"]
    if day:
        parts.append(f"BYDAY={day}")
    if monthday:
        parts.append(f"BYMONTHDAY={monthday}")
    parts += [f"BYHOUR={hour}", f"BYMINUTE={minute}", "BYSECOND=0"]
    return ";".join(parts)


def remind(text: str, due: str, repeat: str | None = None) -> dict[str, Any]:
    return {"text": text, "due": due, "repeat": repeat}


TIMERS: list[Phrase] = [
    ("set a timer for ten minutes", "set_timer", timer(600)),
    ("set a timer for 10 minutes", "set_timer", timer(600)),
    ("Set a timer for twenty-five minutes.", "set_timer", timer(1500)),
    ("start a timer for two hours and fifteen minutes", "set_timer", timer(8100)),
    ("set a timer for an hour and a half", "set_timer", timer(5400)),
    ("set a timer for one hour and a half", "set_timer", timer(5400)),
    ("set a timer for half an hour", "set_timer", timer(1800)),
    ("set a timer for an hour", "set_timer", timer(3600)),
    ("set a timer for 90 seconds", "set_timer", timer(90)),
    ("set a timer for 5 mins", "set_timer", timer(300)),
    ("set timer for 3 minutes", "set_timer", timer(180)),
    ("timer for 4 minutes", "set_timer", timer(240)),
    ("10 minute timer", "set_timer", timer(600)),
    ("set a 10 minute timer", "set_timer", timer(600)),
    ("set a ten minute timer for the pasta", "set_timer", timer(600, "pasta")),
    ("start a pasta timer for 12 minutes", "set_timer", timer(720, "pasta")),
    ("set a timer for 8 minutes called eggs", "set_timer", timer(480, "eggs")),
    ("set a timer for half an hour called tea", "set_timer", timer(1800, "tea")),
    ("Hey Hearth, set a 10 minute timer for the pasta please", "set_timer", timer(600, "pasta")),
    ("please set a timer for 2 minutes", "set_timer", timer(120)),
    ("can you set a timer for fifteen minutes", "set_timer", timer(900)),
    ("could you please start a timer for 20 minutes", "set_timer", timer(1200)),
    ("set a timer for two and a half hours", "set_timer", timer(9000)),
    ("set a timer for 1 hour and 20 minutes", "set_timer", timer(4800)),
    ("set a timer for 45 seconds", "set_timer", timer(45)),
    ("set a timer for three minutes and thirty seconds", "set_timer", timer(210)),
    ("make a timer for seven minutes", "set_timer", timer(420)),
    ("set a timer for a minute", "set_timer", timer(60)),
    ("set me a timer for 6 minutes", "set_timer", timer(360)),
    ("set a timer for twenty minutes thanks", "set_timer", timer(1200)),
    ("set a timer for a quarter of an hour", "set_timer", timer(900)),
    ("set a timer for 2 hours", "set_timer", timer(7200)),
    ("start a 3 minute timer for the eggs", "set_timer", timer(180, "eggs")),
    ("set a timer for eleven minutes.", "set_timer", timer(660)),
    ("Set a timer for 30 minutes!", "set_timer", timer(1800)),
]

REMINDERS: list[Phrase] = [
    (
        "remind me to call the dentist tomorrow at nine",
        "set_reminder",
        remind("call the dentist", "2026-12-03 09:00"),
    ),
    (
        "remind me to call the dentist tomorrow at 9",
        "set_reminder",
        remind("call the dentist", "2026-12-03 09:00"),
    ),
    (
        "remind me tomorrow at 9 to call the dentist",
        "set_reminder",
        remind("call the dentist", "2026-12-03 09:00"),
    ),
    (
        "remind me to take the bread out in twenty minutes",
        "set_reminder",
        remind("take the bread out", "2026-12-02 10:20"),
    ),
    (
        "remind me to take the bread out in 20 minutes",
        "set_reminder",
        remind("take the bread out", "2026-12-02 10:20"),
    ),
    (
        "could you remind me to check the oven in an hour and a half",
        "set_reminder",
        remind("check the oven", "2026-12-02 11:30"),
    ),
    (
        "remind me to water the plants tonight at 8",
        "set_reminder",
        remind("water the plants", "2026-12-02 20:00"),
    ),
    ("remind me to call mum at 5", "set_reminder", remind("call mum", "2026-12-02 17:00")),
    ("remind me to call mum at 5pm", "set_reminder", remind("call mum", "2026-12-02 17:00")),
    ("remind me at 5 to call mum", "set_reminder", remind("call mum", "2026-12-02 17:00")),
    (
        "remind me to meet Tom in the park at 5",
        "set_reminder",
        remind("meet Tom in the park", "2026-12-02 17:00"),
    ),
    (
        "remind me to pay the rent on Friday",
        "set_reminder",
        remind("pay the rent", "2026-12-04 09:00"),
    ),
    ("remind me about the bins on Friday", "set_reminder", remind("the bins", "2026-12-04 09:00")),
    (
        "remind me on Friday at 3pm to pick up the parcel",
        "set_reminder",
        remind("pick up the parcel", "2026-12-04 15:00"),
    ),
    (
        "remind me to pick up the parcel on Friday at 3pm",
        "set_reminder",
        remind("pick up the parcel", "2026-12-04 15:00"),
    ),
    (
        "remind me to renew my passport on the 19th of July",
        "set_reminder",
        remind("renew my passport", "2027-07-19 09:00"),
    ),
    (
        "remind me to book the flights next Tuesday",
        "set_reminder",
        remind("book the flights", "2026-12-08 09:00"),
    ),
    (
        "remind me to call Anna the day after tomorrow",
        "set_reminder",
        remind("call Anna", "2026-12-04 09:00"),
    ),
    ("remind me to stretch in 45 minutes", "set_reminder", remind("stretch", "2026-12-02 10:45")),
    ("remind me to leave at half past five", "set_reminder", remind("leave", "2026-12-02 17:30")),
    (
        "remind me to lock the door at 11:45 pm",
        "set_reminder",
        remind("lock the door", "2026-12-02 23:45"),
    ),
    (
        "remind me to ring the bank at 7:30 am",
        "set_reminder",
        remind("ring the bank", "2026-12-03 07:30"),
    ),
    (
        "remind me to send the invoice tomorrow",
        "set_reminder",
        remind("send the invoice", "2026-12-03 09:00"),
    ),
    (
        "remind me to buy flowers on March 3",
        "set_reminder",
        remind("buy flowers", "2027-03-03 09:00"),
    ),
    (
        "remind me in 10 minutes to turn off the oven",
        "set_reminder",
        remind("turn off the oven", "2026-12-02 10:10"),
    ),
    (
        "remind me in two hours to move the car",
        "set_reminder",
        remind("move the car", "2026-12-02 12:00"),
    ),
    (
        "hey hearth remind me to feed the cat at noon",
        "set_reminder",
        remind("feed the cat", "2026-12-02 12:00"),
    ),
    (
        "remind me to take my pills this evening",
        "set_reminder",
        remind("take my pills", "2026-12-02 18:00"),
    ),
    (
        "remind me to to call mum in 5 minutes",
        "set_reminder",
        remind("call mum", "2026-12-02 10:05"),
    ),
    (
        "remind me to call the plumber tomorrow at 3",
        "set_reminder",
        remind("call the plumber", "2026-12-03 15:00"),
    ),
    (
        "remind me to phone grandma on Sunday at 4pm",
        "set_reminder",
        remind("phone grandma", "2026-12-06 16:00"),
    ),
    (
        "please remind me to back up the laptop in a week",
        "set_reminder",
        remind("back up the laptop", "2026-12-09 09:00"),
    ),
    (
        "remind me to call the garage at quarter to six",
        "set_reminder",
        remind("call the garage", "2026-12-02 17:45"),
    ),
    (
        "remind me to check the post in three days",
        "set_reminder",
        remind("check the post", "2026-12-05 09:00"),
    ),
    (
        "remind me to charge my phone tonight at 10",
        "set_reminder",
        remind("charge my phone", "2026-12-02 22:00"),
    ),
]

REPEATING: list[Phrase] = [
    (
        "remind me every Monday at 8 to take the bins out",
        "set_reminder",
        remind("take the bins out", "2026-12-07 08:00", rule("WEEKLY", 8, day="MO")),
    ),
    (
        "remind me to take the bins out every Monday at 8",
        "set_reminder",
        remind("take the bins out", "2026-12-07 08:00", rule("WEEKLY", 8, day="MO")),
    ),
    (
        "remind me to take my pills every day at 7",
        "set_reminder",
        remind("take my pills", "2026-12-03 07:00", rule("DAILY", 7)),
    ),
    (
        "remind me every weekday at 9 to check the mail",
        "set_reminder",
        remind("check the mail", "2026-12-03 09:00", rule("WEEKLY", 9, day="MO,TU,WE,TH,FR")),
    ),
    (
        "remind me to pay the rent every month on the 1st",
        "set_reminder",
        remind("pay the rent", "2027-01-01 09:00", rule("MONTHLY", 9, monthday=1)),
    ),
    (
        "remind me to water the plants every evening at 7",
        "set_reminder",
        remind("water the plants", "2026-12-02 19:00", rule("DAILY", 19)),
    ),
    (
        "remind me every Friday at 5pm to write the report",
        "set_reminder",
        remind("write the report", "2026-12-04 17:00", rule("WEEKLY", 17, day="FR")),
    ),
    (
        "remind me to call dad every Sunday at 6pm",
        "set_reminder",
        remind("call dad", "2026-12-06 18:00", rule("WEEKLY", 18, day="SU")),
    ),
    (
        "remind me to stretch every morning",
        "set_reminder",
        remind("stretch", "2026-12-03 08:00", rule("DAILY", 8)),
    ),
    (
        "remind me every Monday and Thursday at 9:30 to go running",
        "set_reminder",
        remind("go running", "2026-12-03 09:30", rule("WEEKLY", 9, 30, day="MO,TH")),
    ),
]

QUERIES: list[Phrase] = [
    ("how long has left on the pasta timer", "time_left", {"name": "pasta"}),  # as STT wrote it
    ("what timers do I have", "list_alarms", {"kind": "timer"}),
    ("what timers do I have?", "list_alarms", {"kind": "timer"}),
    ("which reminders do I have", "list_alarms", {"kind": "reminder"}),
    ("what reminders have I got", "list_alarms", {"kind": "reminder"}),
    ("list my reminders", "list_alarms", {"kind": "reminder"}),
    ("show me my timers", "list_alarms", {"kind": "timer"}),
    ("do I have any timers", "list_alarms", {"kind": "timer"}),
    ("do I have any reminders set", "list_alarms", {"kind": "reminder"}),
    ("what alarms are set", "list_alarms", {"kind": "all"}),
    ("my reminders", "list_alarms", {"kind": "reminder"}),
    ("how long is left on the pasta timer", "time_left", {"name": "pasta"}),
    ("how long is left", "time_left", {"name": ""}),
    ("how much time is left", "time_left", {"name": ""}),
    ("how much time is left on my timer", "time_left", {"name": ""}),
    ("how long until the egg timer goes off", "time_left", {"name": "egg"}),
    ("how long left on the timer", "time_left", {"name": ""}),
]

CANCELS: list[Phrase] = [
    ("cancel the pasta timer", "cancel_alarms", {"kind": "timer", "name": "pasta", "all": False}),
    ("cancel the timer", "cancel_alarms", {"kind": "timer", "name": "", "all": False}),
    ("stop the timer", "cancel_alarms", {"kind": "timer", "name": "", "all": False}),
    ("delete my egg timer", "cancel_alarms", {"kind": "timer", "name": "egg", "all": False}),
    ("cancel all my reminders", "cancel_alarms", {"kind": "reminder", "name": "", "all": True}),
    ("cancel all timers", "cancel_alarms", {"kind": "timer", "name": "", "all": True}),
    ("delete all of my alarms", "cancel_alarms", {"kind": "all", "name": "", "all": True}),
    ("turn off the tea timer", "cancel_alarms", {"kind": "timer", "name": "tea", "all": False}),
    (
        "cancel the reminder to call mum",
        "cancel_alarms",
        {"kind": "reminder", "name": "call mum", "all": False},
    ),
    (
        "please remove the reminder about the bins",
        "cancel_alarms",
        {"kind": "reminder", "name": "the bins", "all": False},
    ),
]

EXACT: list[Phrase] = [
    ("what is 17% of 2,340?", "calculate", {"expression": "17% of 2,340"}),
    ("what's 12 times 7", "calculate", {"expression": "12 times 7"}),
    ("calculate 3/4 + 1/6", "calculate", {"expression": "3/4 + 1/6"}),
    ("what is 2^10", "calculate", {"expression": "2^10"}),
    ("how much is 250 divided by 8", "calculate", {"expression": "250 divided by 8"}),
    ("what is 0.1 + 0.2", "calculate", {"expression": "0.1 + 0.2"}),
    ("work out 15% of 80", "calculate", {"expression": "15% of 80"}),
    ("what is 1,250 minus 375", "calculate", {"expression": "1,250 minus 375"}),
    ("what's 9 squared", "calculate", {"expression": "9 squared"}),
    ("what is (3 + 4) * 5", "calculate", {"expression": "(3 + 4) * 5"}),
    (
        "how many days until the 19th of July?",
        "date_maths",
        {"question": "days_until", "date": "the 19th of July"},
    ),
    ("how many days till Christmas", "date_maths", {"question": "days_until", "date": "Christmas"}),
    (
        "how many days until March 3 2027",
        "date_maths",
        {"question": "days_until", "date": "March 3 2027"},
    ),
    (
        "what day of the week is 1 January 2030",
        "date_maths",
        {"question": "day_of_week", "date": "1 January 2030"},
    ),
    (
        "what day is the 25th of December",
        "date_maths",
        {"question": "day_of_week", "date": "the 25th of December"},
    ),
    ("what time is it", "date_maths", {"question": "now", "date": ""}),
    ("what's the time", "date_maths", {"question": "now", "date": ""}),
    ("what's the date today", "date_maths", {"question": "now", "date": ""}),
    ("what day is it", "date_maths", {"question": "now", "date": ""}),
]


def note(text: str, list_name: str = "") -> dict[str, Any]:
    return {"text": text, "list": list_name}


NOTES: list[Phrase] = [
    (
        "note that the boiler was serviced on Monday",
        "add_note",
        note("the boiler was serviced on Monday"),
    ),
    (
        "make a note that the spare key is under the mat",
        "add_note",
        note("the spare key is under the mat"),
    ),
    (
        "take a note of the wifi password being on the router",
        "add_note",
        note("the wifi password being on the router"),
    ),
    ("jot down that Anna likes tulips", "add_note", note("Anna likes tulips")),
    (
        "write down call the council about the bins",
        "add_note",
        note("call the council about the bins"),
    ),
    ("add milk to my shopping list", "add_note", note("milk", "shopping")),
    ("add eggs and bread to the shopping list", "add_note", note("eggs and bread", "shopping")),
    ("put butter on my shopping list", "add_note", note("butter", "shopping")),
    ("add bin bags to my grocery list", "add_note", note("bin bags", "shopping")),
    ("add fix the gate to my to do list", "add_note", note("fix the gate", "to do")),
    ("add sun cream to the packing list", "add_note", note("sun cream", "packing")),
    ("add a torch to my camping list", "add_note", note("a torch", "camping")),
    ("please add coffee to my shopping list", "add_note", note("coffee", "shopping")),
    ("what's on my shopping list?", "read_notes", {"list": "shopping"}),
    ("what is on the shopping list", "read_notes", {"list": "shopping"}),
    ("read me my to do list", "read_notes", {"list": "to do"}),
    ("show my camping list", "read_notes", {"list": "camping"}),
    ("read my notes about the boiler", "read_notes", {"list": "", "about": "the boiler"}),
    ("show me my notes", "read_notes", {"list": "", "about": ""}),
    ("what are my notes about Anna", "read_notes", {"list": "", "about": "Anna"}),
    ("what notes do I have on the car", "read_notes", {"list": "", "about": "the car"}),
    ("remove milk from my shopping list", "remove_note", note("milk", "shopping")),
    ("take butter off the shopping list", "remove_note", note("butter", "shopping")),
    ("cross fix the gate off my to do list", "remove_note", note("fix the gate", "to do")),
]


def event(title: str, start: str, minutes: int = 60, repeat: str | None = None) -> dict[str, Any]:
    """``start`` "YYYY-MM-DD HH:MM", or "YYYY-MM-DD" for an all-day event."""
    return {"title": title, "start": start, "minutes": minutes, "repeat": repeat}


def days(first: str, last: str = "") -> dict[str, Any]:
    return {"first": first, "last": last or first}


def move(title: str, to: str, on: str = "") -> dict[str, Any]:
    return {"title": title, "to": to, "on": on}


def cancel(title: str, on: str = "") -> dict[str, Any]:
    return {"title": title, "on": on}


WEEKLY_MO_9 = "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0;BYSECOND=0"
WEEKDAYS_9 = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9;BYMINUTE=0;BYSECOND=0"

CALENDAR: list[Phrase] = [
    (
        "add a dentist appointment on Friday at 3",
        "add_event",
        event("Dentist appointment", "2026-12-04 15:00"),
    ),
    (
        "Add a dentist appointment on Friday at 3pm.",
        "add_event",
        event("Dentist appointment", "2026-12-04 15:00"),
    ),
    (
        "schedule a meeting with Sam tomorrow at 10 for an hour",
        "add_event",
        event("Meeting with Sam", "2026-12-03 10:00"),
    ),
    (
        "schedule a meeting with Sam tomorrow at ten for two hours",
        "add_event",
        event("Meeting with Sam", "2026-12-03 10:00", 120),
    ),
    (
        "put lunch with Anna in my calendar on Thursday at 1",
        "add_event",
        event("Lunch with Anna", "2026-12-03 13:00"),
    ),
    (
        "add lunch with Anna to my calendar on Thursday at 1pm for 90 minutes",
        "add_event",
        event("Lunch with Anna", "2026-12-03 13:00", 90),
    ),
    (
        "book a table at Luigi's on Saturday at 8",
        "add_event",
        event("Table at Luigi's", "2026-12-05 08:00"),
    ),
    (
        "book a table at Luigi's on Saturday at 8pm",
        "add_event",
        event("Table at Luigi's", "2026-12-05 20:00"),
    ),
    (
        "add a standup every Monday at 9 for 15 minutes",
        "add_event",
        event("Standup", "2026-12-07 09:00", 15, WEEKLY_MO_9),
    ),
    (
        "add a standup every weekday at 9 for 15 minutes",
        "add_event",
        event("Standup", "2026-12-03 09:00", 15, WEEKDAYS_9),
    ),
    (
        "plan a call with the bank next Tuesday at 11",
        "add_event",
        event("Call with the bank", "2026-12-08 11:00"),
    ),
    (
        "add an event called Christmas party on the 18th of December at 7pm",
        "add_event",
        event("Christmas party", "2026-12-18 19:00"),
    ),
    (
        "put the school concert in my diary on Thursday",
        "add_event",
        event("School concert", "2026-12-03", 24 * 60),
    ),
    (
        "could you schedule a job interview on Monday at 2:30 please",
        "add_event",
        event("Job interview", "2026-12-07 14:30"),
    ),
    (
        "add a piano lesson tomorrow at 4 for half an hour",
        "add_event",
        event("Piano lesson", "2026-12-03 16:00", 30),
    ),
    (
        "schedule coffee with Ben in two days at 11",
        "add_event",
        event("Coffee with Ben", "2026-12-04 11:00"),
    ),
    ("what's on tomorrow?", "list_events", days("2026-12-03")),
    ("what's on my calendar for Thursday", "list_events", days("2026-12-03")),
    ("what is on my calendar today", "list_events", days("2026-12-02")),
    ("what's on this week", "list_events", days("2026-12-02", "2026-12-06")),
    ("what's on next week", "list_events", days("2026-12-07", "2026-12-13")),
    ("what do I have on Friday", "list_events", days("2026-12-04")),
    ("am I free on Saturday", "list_events", days("2026-12-05")),
    ("show me my calendar", "list_events", days("2026-12-02", "2026-12-08")),
    ("what meetings do I have tomorrow", "list_events", days("2026-12-03")),
    ("do I have anything on the weekend", "list_events", days("2026-12-05", "2026-12-06")),
    ("what appointments do I have next week", "list_events", days("2026-12-07", "2026-12-13")),
    ("whats on my schedule for friday", "list_events", days("2026-12-04")),
    (
        "move my dentist appointment to Friday",
        "move_event",
        move("Dentist appointment", "2026-12-04"),
    ),
    (
        "reschedule the meeting with Sam to Monday at 2",
        "move_event",
        move("Meeting with Sam", "2026-12-07 14:00"),
    ),
    (
        "move Thursday's lunch to Friday at 12",
        "move_event",
        move("Lunch", "2026-12-04 12:00", "2026-12-03"),
    ),
    (
        "move the piano lesson from Thursday to Friday at 5",
        "move_event",
        move("Piano lesson", "2026-12-04 17:00"),
    ),
    (
        "push my call with the bank to tomorrow at 3",
        "move_event",
        move("Call with the bank", "2026-12-03 15:00"),
    ),
    ("cancel my dentist appointment", "cancel_event", cancel("Dentist appointment")),
    (
        "cancel the meeting with Sam on Thursday",
        "cancel_event",
        cancel("Meeting with Sam", "2026-12-03"),
    ),
    ("delete lunch with Anna from my calendar", "cancel_event", cancel("Lunch with Anna")),
    ("cancel Friday's piano lesson", "cancel_event", cancel("Piano lesson", "2026-12-04")),
    ("please call off the team meeting", "cancel_event", cancel("Team meeting")),
    (
        "remove the standup on Monday from my calendar",
        "cancel_event",
        cancel("Standup", "2026-12-07"),
    ),
]

CALENDAR_NOTHING: list[Phrase] = [
    ("I moved my dentist appointment to Friday", None, {}),
    ("don't cancel my dentist appointment", None, {}),
    ("what's on", None, {}),
    ("my meeting with Sam went well yesterday", None, {}),
    ("should I cancel the meeting with Sam", None, {}),
    ("the dentist moved my appointment", None, {}),
    ("what was on TV last night", None, {}),
    ("I have a calendar on the wall", None, {}),
    ("add dentist on Friday", None, {}),
    ("move on", None, {}),
]


def convert(quantity: str, unit: str, to: str) -> dict[str, Any]:
    return {"quantity": quantity, "unit": unit, "to": to}


UNITS: list[Phrase] = [
    ("convert 5 miles to km", "convert_units", convert("5", "miles", "km")),
    ("what is 5 miles in km", "convert_units", convert("5", "miles", "km")),
    ("5km in miles", "convert_units", convert("5", "km", "miles")),
    ("how many grams in a pound", "convert_units", convert("1", "pound", "grams")),
    ("how many grams are in 3 pounds", "convert_units", convert("3", "pounds", "grams")),
    (
        "what's 20 degrees celsius in fahrenheit",
        "convert_units",
        convert("20", "degrees celsius", "fahrenheit"),
    ),
    ("20°C in F", "convert_units", convert("20", "°c", "f")),
    ("convert 100 fahrenheit to celsius", "convert_units", convert("100", "fahrenheit", "celsius")),
    ("how many cups in a litre", "convert_units", convert("1", "litre", "cups")),
    ("how many ml in a metric cup", "convert_units", convert("1", "metric cup", "ml")),
    ("2 uk pints in litres", "convert_units", convert("2", "uk pints", "litres")),
    ("5 feet in cm", "convert_units", convert("5", "feet", "cm")),
    ("what is 60 mph in km/h", "convert_units", convert("60", "mph", "km/h")),
    ("how many seconds in a day", "convert_units", convert("1", "day", "seconds")),
    ("convert ten kilos to pounds", "convert_units", convert("10", "kilos", "pounds")),
    ("half a cup in ml", "convert_units", convert("1/2", "cup", "ml")),
    ("1.5 litres to ml please", "convert_units", convert("1.5", "litres", "ml")),
    ("how many feet in a mile?", "convert_units", convert("1", "mile", "feet")),
    ("what time is it in Tokyo", "time_in", {"place": "Tokyo"}),
    ("what's the time in New York", "time_in", {"place": "New York"}),
    ("time in Buenos Aires", "time_in", {"place": "Buenos Aires"}),
    ("what time is it in Japan right now", "time_in", {"place": "Japan"}),
    ("what is the time in India", "time_in", {"place": "India"}),
    ("Hey Hearth, what's the local time in Sydney?", "time_in", {"place": "Sydney"}),
]

UNITS_NOTHING: list[Phrase] = [
    ("I walked 5 miles in the park", None, {}),
    ("what time is it in the film", None, {}),
    ("what time was it in Tokyo when I called", None, {}),
    ("I lost 5 pounds in a week", None, {}),
]


NOTHING: list[Phrase] = [
    ("I set a timer yesterday and it annoyed me", None, {}),
    ("don't set a timer", None, {}),
    ("do not remind me to call mum", None, {}),
    ("what is the capital of France", None, {}),
    ("what is a timer", None, {}),
    ("tell me a joke", None, {}),
    ("timers are useful in the kitchen", None, {}),
    ("my mum reminded me to call her yesterday", None, {}),
    ("can you explain how reminders work", None, {}),
    ("who invented the egg timer", None, {}),
    ("remind me what we talked about", None, {}),
    ("what is love", None, {}),
    ("what is 17th century art", None, {}),
    ("how long is the river Thames", None, {}),
    ("what did I say about the dentist", None, {}),
    ("the timer went off twice last night", None, {}),
    ("I hate setting reminders", None, {}),
    ("what's on your mind", None, {}),
    ("cancel my subscription to the magazine", None, {}),
    ("stop talking", None, {}),
    ("how many legs has a spider", None, {}),
    ("remind me to call mum", None, {}),
    ("set a timer", None, {}),
    ("what time did I set the alarm for yesterday", None, {}),
    ("what was the time when we started", None, {}),
    ("should I set a timer for the pasta", None, {}),
    ("why do timers beep", None, {}),
    ("remember that my timer is broken", None, {}),
    ("delete the photo I sent", None, {}),
    ("what is the meaning of life", None, {}),
    ("add salt to the soup", None, {}),
    ("should I add milk to the tea", None, {}),
    ("I wrote a note to my teacher", None, {}),
    ("what's on TV tonight", None, {}),
    ("put the kettle on", None, {}),
    ("my shopping list is too long", None, {}),
    ("notes from the meeting were lost", None, {}),
]

ALL: list[Phrase] = (
    TIMERS
    + REMINDERS
    + REPEATING
    + QUERIES
    + CANCELS
    + EXACT
    + NOTES
    + CALENDAR
    + NOTHING
    + CALENDAR_NOTHING
    + UNITS
    + UNITS_NOTHING
)

FALLBACK: list[tuple[str, str | None]] = [
    # Phrasings the templates leave to the model: (what was said, the tool it should choose).
    ("how long has left on the pasta timer", "time_left"),
    ("how much time is remaining on my tea timer", "time_left"),
    ("nudge me to stretch in twenty minutes", "set_reminder"),
    ("can you wake me up at 7 tomorrow", "set_reminder"),
    ("don't let me forget to call the bank on Friday, remind me at 10", "set_reminder"),
    ("put a 20 minute countdown on", "set_timer"),
    ("count down five minutes for the tea", "set_timer"),
    ("jot this down: the wifi password is on the router", "add_note"),
    ("write that down, Sam's flat is number 12", "add_note"),
    ("I need eggs on the shopping list", "add_note"),
    ("what have I got on the shopping list", "read_notes"),
    ("get rid of the rice timer", "cancel_alarms"),
    ("scrap all my reminders", "cancel_alarms"),
    ("anything in the diary for Friday?", "list_events"),
    ("I'd like lunch with Priya in my agenda on Thursday at noon", "add_event"),
    ("postpone the dentist appointment until next Monday", "move_event"),
    ("what's fifteen percent of 80", "calculate"),
    ("is it morning in Sydney right now, what time is it there", "time_in"),
    ("how many days until Christmas", "date_maths"),
    ("please convert 30 degrees to fahrenheit for me", "convert_units"),
    # Nothing to do: the words name a tool's subject but ask for no action.
    ("my alarm didn't go off this morning", None),
    ("what's a good note-taking app", None),
    ("the meeting was cancelled yesterday", None),
    ("don't remind me about that again", None),
    ("tell me about the history of calendars", None),
    ("my shopping list has gotten so long", None),
    ("who invented the kitchen timer", None),
    ("is it rude to cancel a meeting by email", None),
    ("what time do shops close on Sunday", None),
    ("I wrote some notes in class today", None),
]

FALLBACK_HELD_OUT: list[tuple[str, str | None]] = [
    # Written before the fallback's word checks were tried on them: a second, unseen set.
    ("how much longer does the bread timer have", "time_left"),
    ("alert me at 6pm to feed the cat", "set_reminder"),
    ("give me a three minute timer", "set_timer"),
    ("please write down that the gate code is 1234", "add_note"),
    ("stick bananas on the grocery list", "add_note"),
    ("delete every timer", "cancel_alarms"),
    ("kill the egg timer", "cancel_alarms"),
    ("is there anything on my calendar next Tuesday", "list_events"),
    ("book me in for a haircut at 2 on Saturday", "add_event"),
    ("how many days till my birthday on 3 March", "date_maths"),
    ("my daughter set a timer on the oven", None),
    ("why do reminders on my phone not work", None),
    ("who keeps a calendar these days", None),
    ("the notes app crashed", None),
    ("what did the dentist say at my appointment", None),
    ("did I cancel the meeting", None),
    ("I hate my alarm clock", None),
    ("should I book a holiday", None),
    ("when was the calendar invented", None),
    ("what time did the train leave", None),
]
