"""The shape of the project: no import cycles, layers, module sizes, docs and catalogues in step."""
