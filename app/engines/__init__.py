"""One adapter per library. Heavy imports happen inside ``load()``, never at module level."""
