"""Excel add-in for the WIP costing engine (xlwings): worksheet functions and the close-month button.

``excel_addin.functions`` holds the ``WIP_*`` worksheet functions; each is a thin adapter over the
public ``costing`` API.  See README.md ("Excel functions") for the list and an example per function.
"""
