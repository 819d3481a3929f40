"""Surveys (анкетирование): the supplier asks, customers answer once per organisation."""
