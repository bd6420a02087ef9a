"""Qt widgets. They render events and forward intents; they never call a model library."""
