"""REST API for integrations (``/api/v1``): API keys, webhooks, OpenAPI."""
