"""Charts: rendering, labels, Chinese text, the CLI."""
