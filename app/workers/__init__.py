"""The only bridge between Qt and the core: model work runs here, off the GUI thread."""
