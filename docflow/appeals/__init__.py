"""Appeals (обращения): topics, the customer's wizard, the clerk's queue."""
