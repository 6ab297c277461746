"""The ``sunshine`` command line: the outermost layer, mounting commands over every other package."""
