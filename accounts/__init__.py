"""People and their credentials: passwords, roles, API tokens, web sessions."""
