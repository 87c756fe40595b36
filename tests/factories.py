"""Shared test data helpers."""
TEST_PASSWORD = "correct horse battery staple"
