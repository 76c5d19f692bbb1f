"""Admin for the stock outbox and webhook deliveries (imported by orders.admin)."""
