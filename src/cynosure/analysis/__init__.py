"""Analyses: one module per question, each returning a typed Result."""
