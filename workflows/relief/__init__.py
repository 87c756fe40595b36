"""The disaster-relief workflow: definition, forms, pages, API and demo data."""
