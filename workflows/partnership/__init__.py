"""Partnerships: the inventory the City inherited, and proposals to revive or open one."""
