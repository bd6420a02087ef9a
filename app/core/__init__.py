"""Pure-Python core: no Qt, no model libraries, no heavy imports at module level."""
