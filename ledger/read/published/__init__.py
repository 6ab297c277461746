"""What the public reports and pages show: the 三公/四费 reports and their text, the portal's
page figures, and search. Built on the rest of ``ledger.read``; must not import ``ledger.rules``' writers.
"""
