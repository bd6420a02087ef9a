"""Agent tools: timers and reminders, notes, the calendar, exact maths and dates.

Each tool is described once (name, description, a JSON schema of its arguments, a risk
level), in the shape MCP gives tools; :mod:`app.core.tools.base` holds that interface and
the registry. The user's common phrasings reach a tool through templates without the model
(:mod:`app.core.tools.intents`); :class:`app.core.tools.handler.ToolHandler` runs the call
as a direct handler of the turn, so only the user's own words of the current turn can start
one. Every number, date and time in a tool's reply is computed here, never by the model.
"""
