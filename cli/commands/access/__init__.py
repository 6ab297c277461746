"""Who may do what: API tokens and workspace accounts (``sunshine token``, ``sunshine accounts``)."""
