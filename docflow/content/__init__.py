"""What the supplier publishes: news, FAQ, the general contacts."""
