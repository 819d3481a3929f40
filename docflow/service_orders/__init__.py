"""Commercial services (коммерческие услуги): the supplier's catalogue, the
customer's orders, the offer and the invoice they produce in the document flow."""
