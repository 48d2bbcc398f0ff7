"""Fixtures that give each test a throw-away copy of the course."""
